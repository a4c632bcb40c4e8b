package corpreg

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/store"
)

//go:embed migrations
var migrations embed.FS

// Errors of this package. The HTTP edge (http.go) maps them to answers, and
// Client maps the answers back.
var (
	// ErrInvalid is a request this package cannot carry out as given.
	ErrInvalid = errors.New("corpreg: invalid request")
	// ErrDuplicate is a 法人番号 already registered.
	ErrDuplicate = errors.New("corpreg: corporation already registered")
	// ErrUnknownCorporation is a 法人番号 the registry does not hold.
	ErrUnknownCorporation = errors.New("corpreg: no such corporation")
	// ErrClosed is a corporation closed (閉鎖) at the time asked about.
	ErrClosed = errors.New("corpreg: the corporation is closed")
	// ErrNotRepresentative is a certificate that was not the corporation's
	// representative's at the time asked about.
	ErrNotRepresentative = errors.New("corpreg: not the corporation's representative")
)

// Errors of the HTTP API only.
var (
	// errBadNumber is a number that cannot be any corporation's.
	errBadNumber   = fmt.Errorf("%w: %w", ErrUnknownCorporation, ErrInvalidNumber)
	errCheckBody   = fmt.Errorf("%w: malformed representative check", ErrInvalid)
	errCertBase64  = fmt.Errorf("%w: certificate is not base64 DER", ErrInvalid)
	errCertParse   = fmt.Errorf("%w: certificate does not parse", ErrInvalid)
	errCheckNoTime = fmt.Errorf("%w: no time to check at", ErrInvalid)
	// errText is a name or address checkText refuses.
	errText = fmt.Errorf("%w: a name or address must be 1–200 characters without control characters or surrounding spaces", ErrInvalid)
)

// The registry API's problem codes.
const (
	CodeInvalidNumber      httpapi.Code = "invalid_number"
	CodeUnknownCorporation httpapi.Code = "unknown_corporation"
	CodeBadRequest         httpapi.Code = "bad_request"
	CodeBadCertificate     httpapi.Code = "bad_certificate"
	CodeClosed             httpapi.Code = "corporation_closed"
	CodeSameName           httpapi.Code = "same_name"
)

// Rules answers the registry's errors on its API, and maps the answers
// back to the sentinels in Client.
var Rules = httpapi.Rules{
	{Err: errBadNumber, Status: http.StatusBadRequest, Code: CodeInvalidNumber,
		JA: "法人番号は13桁の数字で、先頭の検査用数字が正しいものを指定してください。",
		EN: "A corporate number is 13 digits whose first digit is a valid check digit."},
	{Err: ErrUnknownCorporation, Status: http.StatusNotFound, Code: CodeUnknownCorporation,
		JA: "この法人番号の法人は登記されていません。", EN: "No corporation with this corporate number is registered."},
	{Err: errCheckBody, Status: http.StatusBadRequest, Code: CodeBadRequest,
		JA: `本文は {"number": "…", "certificate": "（DERのbase64）", "at": "RFC 3339の時刻"} のJSONにしてください。`,
		EN: `The body must be JSON {"number": "…", "certificate": "(DER in base64)", "at": "RFC 3339 time"}.`},
	{Err: errCertBase64, Status: http.StatusBadRequest, Code: CodeBadCertificate,
		JA: "certificate は証明書（DER）を標準のbase64で表したものにしてください。", EN: "certificate must be the certificate (DER) in standard base64."},
	{Err: errCertParse, Status: http.StatusBadRequest, Code: CodeBadCertificate,
		JA: "certificate を証明書として読み取れません。", EN: "certificate cannot be parsed as an X.509 certificate."},
	{Err: ErrClosed, Status: http.StatusConflict, Code: CodeClosed,
		JA: "この法人は閉鎖されています。", EN: "The corporation has been closed."},
	{Err: ErrSameName, Status: http.StatusConflict, Code: CodeSameName,
		JA: "変更後の商号が現在の商号と同じです。", EN: "The new name is the corporation's current name."},
	{Err: errText, Status: http.StatusBadRequest, Code: CodeBadRequest, Detail: true,
		JA: "名称・氏名・所在地は、1〜200文字で、制御文字や前後の空白を含まないものにしてください。",
		EN: "A name or address is 1–200 characters, without control characters or surrounding spaces."},
	{Err: errRenameAt, Status: http.StatusBadRequest, Code: CodeBadRequest,
		JA: "商号変更の日時は、現在の商号になった日時より後で、現在より前にしてください。",
		EN: "A change of name takes effect after the current name did, and not later than now."},
	{Err: errCheckNoTime, Status: http.StatusBadRequest, Code: CodeBadRequest,
		JA: "at（確認する時刻）を指定してください。", EN: "at (the time to check at) is required."},
}

// Queries, in the PostgreSQL dialect that both engines accept (store doc).
const (
	qInsertCorporation = `INSERT INTO corpreg_corporations (number, name, address, registered_at) VALUES ($1, $2, $3, $4)`
	qCorporation       = `SELECT name, address, registered_at, closed_at FROM corpreg_corporations WHERE number = $1`
	qClosedAt          = `SELECT closed_at FROM corpreg_corporations WHERE number = $1`
	qCloseCorporation  = `UPDATE corpreg_corporations SET closed_at = $1 WHERE number = $2 AND closed_at IS NULL`
	qCurrent           = `SELECT name, serial, from_at FROM corpreg_representatives WHERE number = $1 AND until_at IS NULL`
	qEndTerm           = `UPDATE corpreg_representatives SET until_at = $1 WHERE number = $2 AND until_at IS NULL`
	qInsertRep         = `INSERT INTO corpreg_representatives (number, name, serial, certificate, from_at) VALUES ($1, $2, $3, $4, $5)`
	qRepresentatives   = `SELECT name, serial, certificate, from_at, until_at FROM corpreg_representatives
  WHERE number = $1 ORDER BY from_at, id`
	qRepBySerial = `SELECT certificate, from_at, until_at FROM corpreg_representatives WHERE number = $1 AND serial = $2`
	qInsertEvent = `INSERT INTO corpreg_events (at, number, kind, detail) VALUES ($1, $2, $3, $4)`
	qEvents      = `SELECT at, kind, detail FROM corpreg_events WHERE number = $1 ORDER BY id`
)

// Status is a corporation's state in the register.
type Status string

// The states of a corporation.
const (
	Active Status = "active"
	Closed Status = "closed" // 閉鎖: dissolved and wound up, or merged away
)

// Corporation is a corporation's public record.
type Corporation struct {
	Number string `json:"number"`
	// Name is the current name (商号); NameSince when it took effect (the
	// registration, or the latest change of name).
	Name      string    `json:"name"`
	NameSince time.Time `json:"name_since"`
	// FormerNames are the names it bore before, oldest first (rename.go).
	FormerNames []FormerName `json:"former_names"`
	Address     string       `json:"address"`
	Status      Status       `json:"status"`
	// RegisteredAt is when the registry took the corporation in.
	RegisteredAt time.Time `json:"registered_at"`
	// ClosedAt is when it was closed; zero while it is active.
	ClosedAt time.Time `json:"closed_at,omitzero"`
	// Representatives is the history of representatives, oldest first.
	Representatives []Representative `json:"representatives"`
}

// Current returns the representative in office, or nil.
func (c *Corporation) Current() *Representative {
	for i := range c.Representatives {
		if c.Representatives[i].Until.IsZero() {
			return &c.Representatives[i]
		}
	}
	return nil
}

// Representative is one representative's term.
type Representative struct {
	Name string `json:"name"`
	// Serial is the representative certificate's serial number in
	// upper-case hex.
	Serial string `json:"serial"`
	// Certificate is the representative certificate, DER.
	Certificate []byte `json:"certificate"`
	// From is the start of the term (inclusive); Until its end (exclusive),
	// zero for the representative in office.
	From  time.Time `json:"from"`
	Until time.Time `json:"until,omitzero"`
}

// Event is one entry of the registry's event log.
type Event struct {
	At     time.Time
	Number string
	// Kind is "registered", "renamed", "appointed", "term_ended" or
	// "closed". A rename's At is the instant the new name took effect.
	Kind string
	// Detail names the corporation or the representative and certificate.
	Detail string
}

// Config is what the Registry needs.
type Config struct {
	DB        *store.DB
	Authority *Authority
	// Now is the clock (time.Now when nil).
	Now    func() time.Time
	Logger *slog.Logger
}

// Registry is the corporate register.
type Registry struct {
	db     *store.DB
	ca     *Authority
	now    func() time.Time
	logger *slog.Logger
}

// New migrates the registry's tables.
func New(ctx context.Context, cfg Config) (*Registry, error) {
	if cfg.DB == nil || cfg.Authority == nil {
		return nil, errors.New("corpreg: New needs a database and the registry CA")
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
	if err := cfg.DB.Migrate(ctx, "corpreg", mfs); err != nil {
		return nil, err
	}
	return &Registry{db: cfg.DB, ca: cfg.Authority, now: cfg.Now, logger: cfg.Logger}, nil
}

// clock is the registry's time in whole seconds: the precision of the
// time-stamps (RFC 3161 genTime), certificates and revocation times that
// terms are compared with. A representative appointed at 10:00:00.513
// signs at a time-stamped 10:00:00 and must be in office then.
func (r *Registry) clock() time.Time { return r.now().Truncate(time.Second) }

// CA is the certificate of the CA that issues representative certificates.
func (r *Registry) CA() *x509.Certificate { return r.ca.Root() }

// checkText accepts a name or address: 1–200 characters of UTF-8 without
// control characters, and no surrounding spaces.
func checkText(what, s string) error {
	if s == "" || utf8.RuneCountInString(s) > 200 || !utf8.ValidString(s) || strings.TrimSpace(s) != s ||
		strings.ContainsFunc(s, unicode.IsControl) {
		return fmt.Errorf("%w (%s)", errText, what)
	}
	return nil
}

// RegisterCorporation takes a corporation into the register (設立の登記).
// A 法人番号 already there is ErrDuplicate.
func (r *Registry) RegisterCorporation(ctx context.Context, number, name, address string) error {
	if err := ValidNumber(number); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if err := errors.Join(checkText("the name", name), checkText("the address", address)); err != nil {
		return err
	}
	now := r.clock()
	err := r.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, qInsertCorporation, number, name, address, now.UnixMilli()); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, qInsertEvent, now.UnixMilli(), number, "registered", name+" / "+address)
		return err
	})
	if store.IsUniqueViolation(err) {
		return fmt.Errorf("%w: %s", ErrDuplicate, number)
	}
	if err != nil {
		return fmt.Errorf("corpreg: register %s: %w", number, err)
	}
	r.logger.InfoContext(ctx, "corporation registered", "number", number)
	return nil
}

// AppointRepresentative makes name the corporation's representative from now
// on, ending the previous representative's term, and certifies pub, the
// public key the representative holds, with a representative certificate
// (see the package doc for its profile). The registry never sees the
// private key.
func (r *Registry) AppointRepresentative(ctx context.Context, number, name string, pub crypto.PublicKey) (*x509.Certificate, error) {
	if err := checkText("the representative's name", name); err != nil {
		return nil, err
	}
	c, err := r.Corporation(ctx, number)
	if err != nil {
		return nil, err
	}
	now := r.clock()
	if c.Status == Closed {
		return nil, fmt.Errorf("%w: %s was closed on %s", ErrClosed, number, c.ClosedAt.Format(time.DateOnly))
	}
	// Certify before the transaction: Tx may run its function again, and a
	// retried run must not issue a second certificate.
	cert, err := r.ca.issue(name, c.Name, number, pub, now)
	if err != nil {
		return nil, fmt.Errorf("corpreg: certify the representative of %s: %w", number, err)
	}
	serial := serialHex(cert)
	err = r.db.Tx(ctx, func(tx *sql.Tx) error {
		var closed sql.NullInt64
		if err := tx.QueryRowContext(ctx, qClosedAt, number).Scan(&closed); err != nil {
			return err
		}
		if closed.Valid {
			return fmt.Errorf("%w: %s", ErrClosed, number)
		}
		if err := endTerm(ctx, tx, number, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, qInsertRep, number, name, serial, cert.Raw, now.UnixMilli()); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, qInsertEvent, now.UnixMilli(), number, "appointed", name+" (certificate "+serial+")")
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("corpreg: appoint the representative of %s: %w", number, err)
	}
	r.logger.InfoContext(ctx, "representative appointed", "number", number, "serial", serial)
	return cert, nil
}

// endTerm ends the current representative's term, if any, at now.
func endTerm(ctx context.Context, tx *sql.Tx, number string, now time.Time) error {
	var name, serial string
	var from int64
	err := tx.QueryRowContext(ctx, qCurrent, number).Scan(&name, &serial, &from)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	if now.UnixMilli() < from {
		return fmt.Errorf("%w: the clock is before the current term's start", ErrInvalid)
	}
	if _, err := tx.ExecContext(ctx, qEndTerm, now.UnixMilli(), number); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, qInsertEvent, now.UnixMilli(), number, "term_ended", name+" (certificate "+serial+")")
	return err
}

// Close records the corporation's closure (閉鎖) now, ending the current
// representative's term. Closing a closed corporation is ErrClosed.
func (r *Registry) Close(ctx context.Context, number string) error {
	if err := ValidNumber(number); err != nil {
		return fmt.Errorf("%w: %w", ErrUnknownCorporation, err)
	}
	now := r.clock()
	err := r.db.Tx(ctx, func(tx *sql.Tx) error {
		var closed sql.NullInt64
		err := tx.QueryRowContext(ctx, qClosedAt, number).Scan(&closed)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("%w: %s", ErrUnknownCorporation, number)
		case err != nil:
			return err
		case closed.Valid:
			return fmt.Errorf("%w: %s", ErrClosed, number)
		}
		if err := endTerm(ctx, tx, number, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, qCloseCorporation, now.UnixMilli(), number); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, qInsertEvent, now.UnixMilli(), number, "closed", "")
		return err
	})
	if err != nil {
		return fmt.Errorf("corpreg: close %s: %w", number, err)
	}
	r.logger.InfoContext(ctx, "corporation closed", "number", number)
	return nil
}

// Corporation returns a corporation's public record, or an error wrapping
// ErrUnknownCorporation (and ErrInvalidNumber for a malformed number).
func (r *Registry) Corporation(ctx context.Context, number string) (*Corporation, error) {
	if err := ValidNumber(number); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnknownCorporation, err)
	}
	c := &Corporation{Number: number, Status: Active, Representatives: []Representative{}}
	var registered int64
	var closed sql.NullInt64
	err := r.db.QueryRowContext(ctx, qCorporation, number).Scan(&c.Name, &c.Address, &registered, &closed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s", ErrUnknownCorporation, number)
	}
	if err != nil {
		return nil, fmt.Errorf("corpreg: read %s: %w", number, err)
	}
	c.RegisteredAt = time.UnixMilli(registered).UTC()
	if closed.Valid {
		c.Status, c.ClosedAt = Closed, time.UnixMilli(closed.Int64).UTC()
	}
	if c.FormerNames, c.NameSince, err = r.formerNames(ctx, number, c.RegisteredAt); err != nil {
		return nil, fmt.Errorf("corpreg: read the former names of %s: %w", number, err)
	}
	rows, err := r.db.QueryContext(ctx, qRepresentatives, number)
	if err != nil {
		return nil, fmt.Errorf("corpreg: read representatives of %s: %w", number, err)
	}
	defer rows.Close()
	for rows.Next() {
		var rep Representative
		var from int64
		var until sql.NullInt64
		if err := rows.Scan(&rep.Name, &rep.Serial, &rep.Certificate, &from, &until); err != nil {
			return nil, fmt.Errorf("corpreg: read representatives of %s: %w", number, err)
		}
		rep.From = time.UnixMilli(from).UTC()
		if until.Valid {
			rep.Until = time.UnixMilli(until.Int64).UTC()
		}
		c.Representatives = append(c.Representatives, rep)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("corpreg: read representatives of %s: %w", number, err)
	}
	return c, nil
}

// RepresentativeAt reports whether cert was the representative certificate
// of the corporation's representative in office at the instant at: nil, or
// an error wrapping ErrUnknownCorporation, ErrClosed (closed at or before
// at) or ErrNotRepresentative (a certificate the registry did not issue to
// this corporation, a term not covering at, or a certificate not valid at
// at). Only the registry's own record counts: the certificate must be the
// very one issued, byte for byte.
func (r *Registry) RepresentativeAt(ctx context.Context, number string, cert *x509.Certificate, at time.Time) error {
	if err := ValidNumber(number); err != nil {
		return fmt.Errorf("%w: %w", ErrUnknownCorporation, err)
	}
	var closed sql.NullInt64
	err := r.db.QueryRowContext(ctx, qClosedAt, number).Scan(&closed)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: %s", ErrUnknownCorporation, number)
	}
	if err != nil {
		return fmt.Errorf("corpreg: read %s: %w", number, err)
	}
	atMS := at.UnixMilli()
	if closed.Valid && atMS >= closed.Int64 {
		return fmt.Errorf("%w: %s was closed on %s", ErrClosed, number, time.UnixMilli(closed.Int64).UTC().Format(time.DateOnly))
	}
	if cert == nil || cert.SerialNumber == nil {
		return fmt.Errorf("%w: no certificate", ErrNotRepresentative)
	}
	var der []byte
	var from int64
	var until sql.NullInt64
	err = r.db.QueryRowContext(ctx, qRepBySerial, number, serialHex(cert)).Scan(&der, &from, &until)
	if errors.Is(err, sql.ErrNoRows) || err == nil && !bytes.Equal(der, cert.Raw) {
		return fmt.Errorf("%w: the certificate was not issued by this registry to a representative of %s", ErrNotRepresentative, number)
	}
	if err != nil {
		return fmt.Errorf("corpreg: read the representatives of %s: %w", number, err)
	}
	if atMS < from || until.Valid && atMS >= until.Int64 {
		return fmt.Errorf("%w: the certificate's holder was not in office at %s", ErrNotRepresentative, at.UTC().Format(time.RFC3339))
	}
	if at.Before(cert.NotBefore) || at.After(cert.NotAfter) {
		return fmt.Errorf("%w: the certificate is not valid at %s", ErrNotRepresentative, at.UTC().Format(time.RFC3339))
	}
	return nil
}

// Events returns the event log of one corporation, oldest first.
func (r *Registry) Events(ctx context.Context, number string) ([]Event, error) {
	rows, err := r.db.QueryContext(ctx, qEvents, number)
	if err != nil {
		return nil, fmt.Errorf("corpreg: read events of %s: %w", number, err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		e := Event{Number: number}
		var at int64
		if err := rows.Scan(&at, &e.Kind, &e.Detail); err != nil {
			return nil, fmt.Errorf("corpreg: read events of %s: %w", number, err)
		}
		e.At = time.UnixMilli(at).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// serialHex is a certificate's serial number in upper-case hex.
func serialHex(cert *x509.Certificate) string { return strings.ToUpper(cert.SerialNumber.Text(16)) }
