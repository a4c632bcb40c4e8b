package procure

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/mynaplat/mynaplat/corpreg"
	"github.com/mynaplat/mynaplat/delegation"
	"github.com/mynaplat/mynaplat/store"
)

//go:embed migrations
var migrations embed.FS

// Errors of this package. The HTTP edge (http.go) maps them to answers,
// and Client maps the answers back.
var (
	// ErrRefused is a refusal with its Reason (a *Refusal).
	ErrRefused = errors.New("procure: refused")
	// ErrNotFound is an application or qualification the register does not
	// hold.
	ErrNotFound = errors.New("procure: not found")
	// ErrInvalid is a request this package cannot carry out as given (a
	// programming or configuration error, not a person's mistake).
	ErrInvalid = errors.New("procure: invalid request")
)

// Corporations is the corporate registry as the register reads it: the
// in-process corpreg.Registry or its HTTP corpreg.Client.
type Corporations interface {
	Corporation(ctx context.Context, number string) (*corpreg.Corporation, error)
	// RepresentativeAt answers requests for notices (notices.go).
	RepresentativeAt(ctx context.Context, number string, cert *x509.Certificate, at time.Time) error
}

// Powers is the register of powers of attorney as the register reads it:
// the in-process delegation.Service or its HTTP delegation.Client.
type Powers interface {
	Get(ctx context.Context, id string) (*delegation.Record, error)
	Check(ctx context.Context, q delegation.Query) (delegation.Result, error)
	// AgentPowers lists the powers in effect naming an agent (over HTTP,
	// under the register's caller key delegation/procure).
	AgentPowers(ctx context.Context, platformID string) ([]delegation.Record, error)
}

// Config is what the register needs.
type Config struct {
	DB           *store.DB
	Corporations Corporations
	Powers       Powers
	// Verify checks a signed application's CMS and returns its content,
	// signer and time-stamped signing time (delegation.VerifyCMS with the
	// TSA's roots).
	Verify delegation.SignatureVerifier
	// Now is the clock (time.Now when nil).
	Now    func() time.Time
	Logger *slog.Logger
}

// Service is the register.
type Service struct {
	db     *store.DB
	corps  Corporations
	powers Powers
	verify delegation.SignatureVerifier
	now    func() time.Time
	logger *slog.Logger
}

// New migrates the register's tables.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.DB == nil || cfg.Corporations == nil || cfg.Powers == nil || cfg.Verify == nil {
		return nil, fmt.Errorf("%w: New needs a database, the corporate registry, the powers and a verifier", ErrInvalid)
	}
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
	if err := cfg.DB.Migrate(ctx, "procure", mfs); err != nil {
		return nil, err
	}
	return &Service{db: cfg.DB, corps: cfg.Corporations, powers: cfg.Powers, verify: cfg.Verify, now: cfg.Now, logger: cfg.Logger}, nil
}

// clock is the register's time in whole seconds, the precision of the
// time-stamps it compares with.
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Second) }

func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// audit writes one audit row, inside tx when given.
func (s *Service) audit(ctx context.Context, tx *sql.Tx, actor, action, corp, app, outcome, detail string) error {
	args := []any{ms(s.now()), actor, action, corp, app, outcome, detail}
	if tx != nil {
		_, err := s.db.TxExec(ctx, tx, qInsertAudit, args...)
		return err
	}
	_, err := s.db.Write(ctx, qInsertAudit, args...)
	return err
}

// refused writes the audit row of a refusal and returns err. A refusal
// writes nothing else (docs/procurement.md §9).
func (s *Service) refused(ctx context.Context, actor, action, corp, app string, err error) error {
	if r, ok := errors.AsType[*Refusal](err); ok {
		if aerr := s.audit(ctx, nil, actor, action, corp, app, "refused", string(r.Reason)+": "+r.Detail); aerr != nil {
			return errors.Join(err, aerr)
		}
	}
	return err
}

// AuditEntry is one audit row.
type AuditEntry struct {
	At          time.Time
	Actor       string
	Action      string
	Corporation string
	Application string
	Outcome     string
	Detail      string
}

// Audit is the audit trail of an application, oldest first.
func (s *Service) Audit(ctx context.Context, applicationID string) ([]AuditEntry, error) {
	rows, err := s.db.QueryContext(ctx, qAudit, applicationID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at int64
		if err := rows.Scan(&at, &e.Actor, &e.Action, &e.Corporation, &e.Application, &e.Outcome, &e.Detail); err != nil {
			return nil, err
		}
		e.At = fromMS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}
