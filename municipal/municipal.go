package municipal

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/mynaplat/mynaplat/internal/trace"

	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/wareki"
)

//go:embed migrations
var migrations embed.FS

// Errors of the registers and the service. The refusals of the issuance
// server are in refusal.go.
var (
	ErrInvalid      = errors.New("municipal: invalid request")
	ErrNotFound     = errors.New("municipal: not found")
	ErrAmbiguous    = errors.New("municipal: more than one person matches")
	ErrUnauthorized = errors.New("municipal: unknown or wrong key")
	// ErrNoCardLogin is a resident's request without a valid platform
	// assertion of their card login.
	ErrNoCardLogin = errors.New("municipal: no valid card login")
)

// Status is a person's state in the 住民基本台帳.
type Status string

// The statuses of a person.
const (
	Resident Status = "resident"  // 住民
	MovedOut Status = "moved-out" // 転出届出済
	Deceased Status = "deceased"  // 死亡
)

// Valid reports whether s is one of the statuses.
func (s Status) Valid() bool { return s == Resident || s == MovedOut || s == Deceased }

// Person is one entry of a municipality's 住民基本台帳.
type Person struct {
	// ID is the register's stable ID of the person; it is never the My
	// Number.
	ID           string `json:"id"`
	Municipality string `json:"municipality"`
	// HouseholdID is the 世帯; empty when adding means a new household with
	// this person as 世帯主.
	HouseholdID string    `json:"household_id"`
	Relation    string    `json:"relation"` // 続柄 to the 世帯主: 世帯主, 妻, 子 …
	Name        string    `json:"name"`
	Kana        string    `json:"kana"`
	BirthDate   time.Time `json:"birth_date"`
	Sex         jpki.Sex  `json:"sex"`
	Address     string    `json:"address"`
	// MyNumber is printed on a 住民票 only on request; never a key, never
	// logged, never sent as JSON.
	MyNumber     string    `json:"-"`
	Honseki      string    `json:"honseki"` // 本籍 (address text)
	Hitto        string    `json:"hitto"`   // 筆頭者
	MovedIn      time.Time `json:"moved_in"`
	Status       Status    `json:"status"`
	Support      bool      `json:"support"`       // 支援措置 (DV, stalking …)
	GaijiPending bool      `json:"gaiji_pending"` // a 外字 of the name is being registered
}

// Service keeps the municipalities' registers and issues their
// certificates.
type Service struct {
	db     *store.DB
	now    func() time.Time
	logger *slog.Logger
	render *Renderer
}

// Config holds what the service needs.
type Config struct {
	DB     *store.DB
	Now    func() time.Time
	Logger *slog.Logger
	// FontDir, when set, is the directory above bizud-mincho/ and
	// bizud-gothic/ (as Debian's fonts-morisawa-bizud-* packages install
	// them in /usr/share/fonts/truetype), for the whole fonts; empty means
	// the embedded subsets (fonts.go).
	FontDir string
}

// Open migrates the service's tables and loads the fonts.
func Open(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.DB == nil {
		return nil, fmt.Errorf("%w: no database", ErrInvalid)
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
	if err := cfg.DB.Migrate(ctx, "municipal", mfs); err != nil {
		return nil, err
	}
	r, err := NewRenderer(cfg.FontDir)
	if err != nil {
		return nil, err
	}
	return &Service{db: cfg.DB, now: cfg.Now, logger: cfg.Logger, render: r}, nil
}

// Renderer returns the service's certificate renderer (for a caller that
// renders again with decorations).
func (s *Service) Renderer() *Renderer { return s.render }

func newID(prefix string) string {
	b := make([]byte, 12)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func hashKey(k string) string {
	h := sha256.Sum256([]byte(k))
	return hex.EncodeToString(h[:])
}

const dateFormat = time.DateOnly

func civil(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(wareki.JST()).Format(dateFormat)
}

func parseCivil(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.ParseInLocation(dateFormat, s, wareki.JST())
}

// Municipality is one municipality with an issuance server here.
type Municipality struct {
	Code       string `json:"code"`
	Prefecture string `json:"prefecture"`
	Name       string `json:"name"`
}

// FullName is 山形県酒田市.
func (m Municipality) FullName() string { return m.Prefecture + m.Name }

// AddMunicipality sets up a municipality (known to jpki.LookupMunicipality)
// with an empty register and catalogue; adding one that exists does
// nothing.
func (s *Service) AddMunicipality(ctx context.Context, code string) (Municipality, error) {
	jm, err := jpki.LookupMunicipality(code)
	if err != nil {
		return Municipality{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	m := Municipality{Code: jm.Code, Prefecture: jm.Prefecture, Name: jm.Name}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, qInsertMunicipality, m.Code, m.Prefecture, m.Name, s.now().Unix()); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, qInsertCounter, m.Code)
		return err
	})
	if err != nil {
		return Municipality{}, fmt.Errorf("municipal: add municipality %s: %w", code, err)
	}
	return m, nil
}

// Municipality returns a municipality set up here.
func (s *Service) Municipality(ctx context.Context, code string) (Municipality, error) {
	m := Municipality{Code: code}
	err := s.db.QueryRowContext(ctx, qMunicipality, code).Scan(&m.Prefecture, &m.Name)
	if errors.Is(err, sql.ErrNoRows) {
		return Municipality{}, fmt.Errorf("%w: municipality %s", ErrNotFound, code)
	}
	if err != nil {
		return Municipality{}, fmt.Errorf("municipal: municipality: %w", err)
	}
	return m, nil
}

// Municipalities lists the municipalities set up here, by code.
func (s *Service) Municipalities(ctx context.Context) ([]Municipality, error) {
	rows, err := s.db.QueryContext(ctx, qMunicipalities)
	if err != nil {
		return nil, fmt.Errorf("municipal: municipalities: %w", err)
	}
	defer rows.Close()
	var out []Municipality
	for rows.Next() {
		var m Municipality
		if err := rows.Scan(&m.Code, &m.Prefecture, &m.Name); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// Kinds of key a municipality issues: only the relay's now (its staff
// sign in with their cards, package staff).
const keyRelay = "relay"

func (s *Service) issueKey(ctx context.Context, code, kind, label string) (string, error) {
	if _, err := s.Municipality(ctx, code); err != nil {
		return "", err
	}
	b := make([]byte, 24)
	rand.Read(b)
	key := "muni_" + kind + "_" + code + "_" + base64.RawURLEncoding.EncodeToString(b)
	if _, err := s.db.Write(ctx, qInsertKey, hashKey(key), code, kind, label, s.now().Unix()); err != nil {
		return "", fmt.Errorf("municipal: issue %s key: %w", kind, err)
	}
	return key, nil
}

// IssueRelayKey issues the key with which the J-LIS relay calls the
// municipality's issuance server (shown once; only its hash is kept).
func (s *Service) IssueRelayKey(ctx context.Context, code, label string) (string, error) {
	return s.issueKey(ctx, code, keyRelay, label)
}

// checkKey returns the key's label when key is a key of kind for code.
func (s *Service) checkKey(ctx context.Context, code, kind, key string) (string, error) {
	if key == "" {
		return "", ErrUnauthorized
	}
	var gotCode, gotKind, label string
	err := s.db.QueryRowContext(ctx, qKey, hashKey(key)).Scan(&gotCode, &gotKind, &label)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrUnauthorized
	}
	if err != nil {
		return "", fmt.Errorf("municipal: check key: %w", err)
	}
	if gotCode != code || gotKind != kind {
		return "", ErrUnauthorized
	}
	return label, nil
}

// execer is a *sql.DB or *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Actor is who acts on the registers, as the audit names them.
type Actor struct {
	// Name is the full text: a clerk's staff.Session.Actor (platform ID,
	// name, office, role, staff number), or the relay's key label.
	Name string
	// Office and StaffNumber are a clerk's office ID in the staff
	// directory and staff number, kept apart so that the resident's
	// history shows them without parsing Name; empty for a machine.
	Office, StaffNumber string
}

// The audit's actions on a person's record (the registration queue's are
// in registrations.go).
const (
	AuditView  = "view"  // a clerk opened the record
	AuditEdit  = "edit"  // a clerk changed it; the detail names the fields
	AuditIssue = "issue" // a certificate was issued; the detail is its type and number
	// AuditOwnHistory is the person reading their own history (the
	// actor is "resident:" and their platform ID).
	AuditOwnHistory = "own-history"
)

// dbWriter is the database as an execer for one audit row outside a
// transaction: its write goes through store.DB.Write like any other.
type dbWriter struct{ db *store.DB }

func (w dbWriter) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return w.db.Write(ctx, q, args...)
}

// audit records who did what to which person ID. detail must never hold a
// name, an address or a My Number.
func (s *Service) audit(ctx context.Context, ex execer, code string, by Actor, action, personID, detail string) error {
	if _, err := ex.ExecContext(ctx, qInsertAudit, code, s.now().UnixMilli(), by.Name, by.Office, by.StaffNumber, action, personID, detail,
		trace.ID(ctx)); err != nil {
		return fmt.Errorf("municipal: audit: %w", err)
	}
	return nil
}

// AuditEntry is one row of muni_audit.
type AuditEntry struct {
	At          time.Time `json:"at"`
	Actor       string    `json:"actor"`
	Office      string    `json:"office"`
	StaffNumber string    `json:"staff_number"`
	Action      string    `json:"action"`
	PersonID    string    `json:"person_id"`
	Detail      string    `json:"detail"`
}

// Audit returns a municipality's newest audit rows, newest first.
func (s *Service) Audit(ctx context.Context, code string, limit int) ([]AuditEntry, error) {
	return s.auditRows(ctx, qAudit, code, limit)
}

func (s *Service) auditRows(ctx context.Context, q string, args ...any) ([]AuditEntry, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("municipal: audit: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var ms int64
		if err := rows.Scan(&ms, &e.Actor, &e.Office, &e.StaffNumber, &e.Action, &e.PersonID, &e.Detail); err != nil {
			return nil, err
		}
		e.At = time.UnixMilli(ms)
		out = append(out, e)
	}
	return out, rows.Err()
}
