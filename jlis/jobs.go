package jlis

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/mynaplat/mynaplat/internal/trace"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/store"
)

//go:embed migrations
var migrations embed.FS

// Errors of print jobs.
var (
	ErrInvalid = errors.New("jlis: invalid request")
	// ErrJobGone means the job is no longer in the state the step needs:
	// it was cancelled (by its deadline or by the person), or printed.
	ErrJobGone = errors.New("jlis: the job was cancelled or already finished")
	// ErrNotYours means the job belongs to another kiosk or card holder.
	ErrNotYours = errors.New("jlis: the job belongs to another kiosk or person")
)

// The states of a print job.
const (
	Requested = "requested"
	Rendered  = "rendered"
	Printed   = "printed"
	Cancelled = "cancelled"
)

// JobTTL is how long a job may take from request to print.
const JobTTL = 2 * time.Minute

// Service keeps the print jobs and usage registrations.
type Service struct {
	db       *store.DB
	now      func() time.Time
	logger   *slog.Logger
	verifier *jpki.SigningVerifier
	koseki   KosekiMatch
}

// Config holds what the service needs.
type Config struct {
	DB     *store.DB
	Now    func() time.Time
	Logger *slog.Logger
	// Verifier checks the signing certificates of registrations, and Koseki
	// asks a 本籍地 to compare the holder with its 戸籍.
	Verifier *jpki.SigningVerifier
	Koseki   KosekiMatch
}

// Open migrates the kiosk tables.
func Open(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	mfs, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	// The migration namespace stays "kiosk" (its version table goose_kiosk),
	// as do the table names, from before the relay left package kiosk: an
	// existing data directory or database keeps its jobs, kiosks and
	// registrations and is not migrated a second time.
	if err := cfg.DB.Migrate(ctx, "kiosk", mfs); err != nil {
		return nil, err
	}
	return &Service{db: cfg.DB, now: cfg.Now, logger: cfg.Logger, verifier: cfg.Verifier, koseki: cfg.Koseki}, nil
}

func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Options are the holder's choices for a certificate.
type Options struct {
	// Household: 世帯全員 rather than 個人 (住民票).
	Household bool `json:"household,omitempty"`
	// Honseki, Relation, MyNumber: print 本籍・筆頭者, 世帯主・続柄, 個人番号
	// (住民票; all off by default).
	Honseki  bool `json:"honseki,omitempty"`
	Relation bool `json:"relation,omitempty"`
	MyNumber bool `json:"my_number,omitempty"`
	// Year is the tax year of a 所得・課税証明書.
	Year int `json:"year,omitempty"`
}

// Job is a print job.
type Job struct {
	ID           string    `json:"job_id"`
	Kiosk        string    `json:"kiosk"`
	PlatformID   string    `json:"-"`
	Municipality string    `json:"municipality"`
	CertType     string    `json:"cert_type"`
	Options      Options   `json:"options"`
	State        string    `json:"state"`
	CreatedAt    time.Time `json:"created_at"`
	Deadline     time.Time `json:"deadline"`
	CertNumber   string    `json:"cert_number,omitempty"`
	Fee          int       `json:"fee,omitempty"`
	PDFSHA256    string    `json:"pdf_sha256,omitempty"`
	Reason       string    `json:"reason,omitempty"`
	// PDF is the document, present only when Print hands it out.
	PDF []byte `json:"-"`
	// Replayed is set when Request or Print had been done before under the
	// same key: nothing new happened.
	Replayed bool `json:"replayed,omitempty"`
}

// Request records a kiosk's request for a card holder. requestKey is the
// kiosk's ID of the request: sending it again returns the same job.
func (s *Service) Request(ctx context.Context, kiosk, requestKey, platformID, municipality, certType string, o Options) (*Job, error) {
	if kiosk == "" || requestKey == "" || platformID == "" || municipality == "" || certType == "" {
		return nil, fmt.Errorf("%w: kiosk, request key, platform ID, municipality and type are required", ErrInvalid)
	}
	opts, _ := json.Marshal(o)
	now := s.now()
	j := &Job{ID: newID(), Kiosk: kiosk, PlatformID: platformID, Municipality: municipality, CertType: certType, Options: o,
		State: Requested, CreatedAt: now.UTC(), Deadline: now.Add(JobTTL).UTC()}
	res, err := s.db.WriteCommitted(ctx, qInsertJob, j.ID, kiosk, requestKey, platformID, municipality, certType, string(opts), Requested,
		now.UnixMilli(), j.Deadline.UnixMilli(), trace.ID(ctx))
	if err != nil {
		return nil, fmt.Errorf("jlis: record job: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		prev, err := s.JobByKey(ctx, kiosk, requestKey)
		if err != nil {
			return nil, err
		}
		if prev.PlatformID != platformID {
			return nil, fmt.Errorf("%w: request key reused for another person", ErrInvalid)
		}
		prev.Replayed = true
		return prev, nil
	}
	return j, nil
}

// Rendered stores the municipality's PDF for a requested job. A job
// cancelled meanwhile (its deadline passed) refuses it: the PDF is dropped.
func (s *Service) Rendered(ctx context.Context, jobID, certNumber string, fee int, pdf []byte) error {
	sum := sha256.Sum256(pdf)
	now := s.now().UnixMilli()
	res, err := s.db.WriteCommitted(ctx, qRender, Rendered, certNumber, fee, pdf, hex.EncodeToString(sum[:]), now, jobID, Requested)
	if err != nil {
		return fmt.Errorf("jlis: store rendered job: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrJobGone
	}
	return nil
}

// Print hands out the PDF of a rendered job to the kiosk and card holder it
// belongs to, once: the job becomes printed and its PDF is removed from the
// database. A retried print of a printed job answers Replayed without the
// PDF (nothing is printed or charged twice); a cancelled job is refused.
func (s *Service) Print(ctx context.Context, kiosk, platformID, jobID string) (*Job, error) {
	now := s.now().UnixMilli()
	var pdf []byte
	// READ COMMITTED suffices: the conditional UPDATE locks the row and
	// PostgreSQL re-checks its WHERE clause on it.
	err := s.db.TxLevel(ctx, sql.LevelReadCommitted, func(tx *sql.Tx) error {
		pdf = nil
		res, err := tx.ExecContext(ctx, qPrint, Printed, now, jobID, kiosk, platformID, Rendered)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrJobGone
		}
		if err := tx.QueryRowContext(ctx, qTakePDF, jobID).Scan(&pdf); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, qDropPDF, jobID)
		return err
	})
	if err != nil && !errors.Is(err, ErrJobGone) {
		return nil, fmt.Errorf("jlis: print: %w", err)
	}
	j, jerr := s.Job(ctx, jobID)
	if jerr != nil {
		return nil, jerr
	}
	if j.Kiosk != kiosk || j.PlatformID != platformID {
		return nil, ErrNotYours
	}
	if errors.Is(err, ErrJobGone) {
		if j.State == Printed {
			j.Replayed = true
			return j, nil
		}
		return nil, ErrJobGone
	}
	j.PDF = pdf
	return j, nil
}

// Cancel cancels a job that has not been printed (the person walked away,
// or the render failed); reason says why.
func (s *Service) Cancel(ctx context.Context, jobID, reason string) error {
	res, err := s.db.WriteCommitted(ctx, qCancel, Cancelled, reason, s.now().UnixMilli(), jobID)
	if err != nil {
		return fmt.Errorf("jlis: cancel: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrJobGone
	}
	return nil
}

// Expire cancels every job past its deadline, whole: its PDF is removed and
// it can never print. It reports how many it cancelled.
func (s *Service) Expire(ctx context.Context) (int64, error) {
	now := s.now().UnixMilli()
	res, err := s.db.WriteCommitted(ctx, qExpire, Cancelled, "timeout", now)
	if err != nil {
		return 0, fmt.Errorf("jlis: expire jobs: %w", err)
	}
	return res.RowsAffected()
}

// Job reads a job (without its PDF).
func (s *Service) Job(ctx context.Context, id string) (*Job, error) {
	return scanJob(s.db.QueryRowContext(ctx, qJob, id))
}

// JobByKey is the job kiosk asked for under its request key.
func (s *Service) JobByKey(ctx context.Context, kiosk, key string) (*Job, error) {
	return scanJob(s.db.QueryRowContext(ctx, qJobByKey, kiosk, key))
}

func scanJob(row *sql.Row) (*Job, error) {
	var j Job
	var opts string
	var created, deadline int64
	var number, digest, reason sql.NullString
	var fee sql.NullInt64
	err := row.Scan(&j.ID, &j.Kiosk, &j.PlatformID, &j.Municipality, &j.CertType, &opts, &j.State, &created, &deadline,
		&number, &fee, &digest, &reason)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrJobGone
	}
	if err != nil {
		return nil, fmt.Errorf("jlis: read job: %w", err)
	}
	json.Unmarshal([]byte(opts), &j.Options)
	j.CreatedAt, j.Deadline = time.UnixMilli(created).UTC(), time.UnixMilli(deadline).UTC()
	j.CertNumber, j.Fee, j.PDFSHA256, j.Reason = number.String, int(fee.Int64), digest.String, reason.String
	return &j, nil
}
