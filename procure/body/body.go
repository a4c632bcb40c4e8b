package body

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/mynaplat/mynaplat/cms"
	"github.com/mynaplat/mynaplat/internal/keydir"
	"github.com/mynaplat/mynaplat/procure"
	"github.com/mynaplat/mynaplat/store"
)

//go:embed migrations
var migrations embed.FS

// Errors of this package; the HTTP edge (http.go) maps them to answers
// and Client maps the answers back.
var (
	// ErrRefused is a refusal with its Reason (a *Refusal).
	ErrRefused = errors.New("body: refused")
	// ErrNoBody is a body this deployment does not host.
	ErrNoBody = errors.New("body: no such procuring body")
	// ErrNotFound is a tender or bid the body does not hold.
	ErrNotFound = errors.New("body: not found")
	// ErrInvalid is a request this package cannot carry out as given.
	ErrInvalid = errors.New("body: invalid request")
)

// Level is whether a body is national or local: both honour the one
// qualification.
type Level string

// The levels.
const (
	National Level = "national"
	Local    Level = "local"
)

// Body is one procuring body as the deployment configures it.
type Body struct {
	// ID is its path segment (/bodies/{ID}/) and the key of its rows:
	// lower-case letters, digits and hyphens.
	ID     string
	NameJA string
	NameEN string
	Level  Level
}

func (b Body) valid() bool {
	if b.ID == "" || len(b.ID) > 40 || b.NameJA == "" || b.NameEN == "" || (b.Level != National && b.Level != Local) {
		return false
	}
	for _, c := range b.ID {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// Qualifications is the register as a body reads it: procure.Client.
type Qualifications interface {
	Qualification(ctx context.Context, number string) (*procure.Qualification, error)
	// QualificationAt is the qualification valid at a time (the bid's
	// signing time, at the opening), procure.ErrNotFound when none was.
	QualificationAt(ctx context.Context, number string, at time.Time) (*procure.Qualification, error)
}

// Config is what the bodies need.
type Config struct {
	DB     *store.DB
	Bodies []Body
	// KeyDir holds one directory per body (KeyDir/{ID}): its CA (ca.key,
	// ca.crt) and its receipt key (receipt.key, receipt.crt).
	KeyDir string
	// Register is the qualification register's client.
	Register Qualifications
	// Stamper time-stamps the receipts (the TSA's client).
	Stamper cms.Stamper
	// Now is the body's clock, which decides the deadline (time.Now when
	// nil).
	Now    func() time.Time
	Logger *slog.Logger
	// Opening is what the opening needs (opening.go); without it the
	// bodies take bids but do not open them.
	Opening *OpeningConfig
	// Contracts is what the contracts need (contract.go); without it the
	// bodies prepare no contract.
	Contracts *ContractConfig
}

// hosted is a body with its keys.
type hosted struct {
	Body
	ca          *x509.Certificate
	receipt     crypto.Signer
	receiptCert *x509.Certificate
}

// Service hosts the bodies.
type Service struct {
	db       *store.DB
	bodies   map[string]*hosted
	order    []string
	register Qualifications
	stamper  cms.Stamper
	now      func() time.Time
	logger   *slog.Logger
	opening  *OpeningConfig
	contract *ContractConfig
	// mu guards waiting: the shares presented for an opening, in memory
	// only (opening.go).
	mu      sync.Mutex
	waiting map[string]*waiting
}

// New migrates the bodies' tables and loads (or makes) each body's keys.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.DB == nil || len(cfg.Bodies) == 0 || cfg.KeyDir == "" || cfg.Register == nil || cfg.Stamper == nil {
		return nil, fmt.Errorf("%w: New needs a database, bodies, a key directory, the register and a stamper", ErrInvalid)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{db: cfg.DB, bodies: map[string]*hosted{}, register: cfg.Register, stamper: cfg.Stamper, now: cfg.Now, logger: cfg.Logger,
		waiting: map[string]*waiting{}}
	if o := cfg.Opening; o != nil {
		if o.Verify == nil || o.Powers == nil || o.Corporations == nil || o.Status == nil {
			return nil, fmt.Errorf("%w: the opening needs a verifier, the powers, the registry and the certificates' status", ErrInvalid)
		}
		oc := *o
		if oc.Wait <= 0 {
			oc.Wait = DefaultOpeningWait
		}
		if oc.Workers <= 0 {
			oc.Workers = 8
		}
		s.opening = &oc
	}
	if c := cfg.Contracts; c != nil {
		if c.Renderer == nil || c.Policy == nil || c.Stamper == nil || c.SignerPerson == nil || s.opening == nil {
			return nil, fmt.Errorf("%w: the contracts need a renderer, a policy, a stamper, the signers' persons and the opening's powers", ErrInvalid)
		}
		s.contract = c
	}
	for _, b := range cfg.Bodies {
		if !b.valid() || s.bodies[b.ID] != nil {
			return nil, fmt.Errorf("%w: body %q (ID of a-z, 0-9 and -, names, level national or local, once each)", ErrInvalid, b.ID)
		}
		h, err := loadKeys(b, filepath.Join(cfg.KeyDir, b.ID), cfg.Now())
		if err != nil {
			return nil, err
		}
		s.bodies[b.ID] = h
		s.order = append(s.order, b.ID)
	}
	mfs, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	if err := cfg.DB.Migrate(ctx, "procure_body", mfs); err != nil {
		return nil, err
	}
	return s, nil
}

// receiptRenewBefore: a receipt certificate this close to its end is
// issued again for the same key.
const receiptRenewBefore = 30 * 24 * time.Hour

// loadKeys reads a body's CA and receipt key from dir, making them on
// first use (keydir's root and leaf, as the TSA's).
func loadKeys(b Body, dir string, now time.Time) (*hosted, error) {
	h := &hosted{Body: b}
	err := keydir.Lock(dir, func() error {
		caKey, ca, err := keydir.Root(filepath.Join(dir, "ca.key"), filepath.Join(dir, "ca.crt"), keydir.ECDSA,
			func(crypto.PublicKey) *x509.Certificate {
				return keydir.RootTemplate(b.NameEN+" receipt CA (test)", now)
			})
		if err != nil {
			return err
		}
		key, cert, err := keydir.Leaf(filepath.Join(dir, "receipt.key"), filepath.Join(dir, "receipt.crt"), keydir.ECDSA,
			func(c *x509.Certificate) bool { return keydir.Current(c, ca, now, receiptRenewBefore) },
			func(key crypto.Signer) (*x509.Certificate, error) {
				return keydir.Issue(&x509.Certificate{
					Subject: pkix.Name{Country: []string{"JP"}, Organization: []string{"MYNAPLAT-TEST"},
						CommonName: b.NameEN + " bid receipts (test)"},
					NotBefore:             now.Add(-time.Hour),
					NotAfter:              now.AddDate(5, 0, 0),
					KeyUsage:              x509.KeyUsageDigitalSignature,
					BasicConstraintsValid: true,
				}, ca, key.Public(), caKey)
			})
		if err != nil {
			return err
		}
		h.ca, h.receipt, h.receiptCert = ca, key, cert
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("body %s: keys in %s: %w", b.ID, dir, err)
	}
	return h, nil
}

// Bodies are the hosted bodies, in the configured order.
func (s *Service) Bodies() []Body {
	out := make([]Body, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, s.bodies[id].Body)
	}
	return out
}

func (s *Service) body(id string) (*hosted, error) {
	h := s.bodies[id]
	if h == nil {
		return nil, fmt.Errorf("%w: %q", ErrNoBody, id)
	}
	return h, nil
}

// Body is the hosted body with that ID.
func (s *Service) Body(id string) (Body, error) {
	h, err := s.body(id)
	if err != nil {
		return Body{}, err
	}
	return h.Body, nil
}

// CA is the body's receipt CA certificate, which a bidder trusts to check
// a receipt.
func (s *Service) CA(id string) (*x509.Certificate, error) {
	h, err := s.body(id)
	if err != nil {
		return nil, err
	}
	return h.ca, nil
}

// clock is the body's time to the millisecond, the precision it stores.
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

func newID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// audit writes one audit row, inside tx when given.
func (s *Service) audit(ctx context.Context, tx *sql.Tx, body, actor, action, tender, outcome, detail string) error {
	args := []any{body, ms(s.now()), actor, action, tender, outcome, detail}
	if tx != nil {
		_, err := s.db.TxExec(ctx, tx, qInsertAudit, args...)
		return err
	}
	_, err := s.db.Write(ctx, qInsertAudit, args...)
	return err
}

// refused writes the audit row of a refusal and returns err: a refusal
// writes nothing else (docs/procurement.md §9).
func (s *Service) refused(ctx context.Context, body, actor, action, tender string, err error) error {
	if r, ok := errors.AsType[*Refusal](err); ok {
		if aerr := s.audit(ctx, nil, body, actor, action, tender, "refused", string(r.Reason)+": "+r.Detail); aerr != nil {
			return errors.Join(err, aerr)
		}
	}
	return err
}

// AuditEntry is one audit row.
type AuditEntry struct {
	At      time.Time
	Actor   string
	Action  string
	Tender  string
	Outcome string
	Detail  string
}

// Audit is a body's audit trail of a tender ("" for the rows of none),
// oldest first.
func (s *Service) Audit(ctx context.Context, body, tender string) ([]AuditEntry, error) {
	rows, err := s.db.QueryContext(ctx, qAudit, body, tender)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at int64
		if err := rows.Scan(&at, &e.Actor, &e.Action, &e.Tender, &e.Outcome, &e.Detail); err != nil {
			return nil, err
		}
		e.At = fromMS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// clean trims a form value and refuses control characters.
func clean(s string, max int) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > max || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", false
	}
	return s, true
}
