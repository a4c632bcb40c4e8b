package body

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/mynaplat/mynaplat/procure"
	"github.com/mynaplat/mynaplat/sealedbid"
)

// Tender states (opening.go adds those after the opening).
const (
	StateOpen   = "open"
	StateClosed = "closed"
)

// TenderRequest is what an officer publishes (docs/procurement.md §5.4).
type TenderRequest struct {
	Title string
	// Item is what is procured (営業品目).
	Item  string
	Field procure.Field
	// Grade is the grade required; "" takes the grade whose price band
	// holds the estimate (procure.Grade.Covers).
	Grade       procure.Grade
	EstimateYen int64
	Deadline    time.Time
	// Officers are the platform IDs of the opening officers (n), each
	// enrolled; K of them open.
	Officers []string
	K        int
}

// Tender is a published tender as anyone may see it.
type Tender struct {
	Body        string        `json:"body"`
	ID          string        `json:"id"`
	Title       string        `json:"title"`
	Item        string        `json:"item"`
	Field       procure.Field `json:"field"`
	Grade       procure.Grade `json:"grade"`
	Deadline    time.Time     `json:"deadline"`
	K           int           `json:"k"`
	Officers    int           `json:"n"`
	State       string        `json:"state"`
	PublishedAt time.Time     `json:"published_at"`
	// Certificate is the opening certificate (DER): bids are sealed to
	// it, after the bidder checks its SHA-256 against Fingerprint, which
	// the tender's public page shows.
	Certificate []byte `json:"certificate"`
	Fingerprint string `json:"fingerprint"`
	// Accepting says whether the tender took bids when it was read (open
	// and before the deadline), for the desk's screen; the body decides
	// when the bid arrives.
	Accepting bool `json:"accepting"`
	// OpenedAt and Result are the opening's (docs/procurement.md §5.6),
	// nil before it.
	OpenedAt *time.Time `json:"opened_at,omitempty"`
	Result   *Result    `json:"result,omitempty"`
}

// Open reports whether the tender takes bids at t: open and t before the
// deadline. The deadline is the first late instant: a bid received in
// the deadline's own second (or any part of it) is late.
func (t *Tender) Open(at time.Time) bool { return t.State == StateOpen && at.Before(t.Deadline) }

// Estimate is the sealed estimate's content.
type Estimate struct {
	Body   string `json:"body"`
	Tender string `json:"tender"`
	Yen    int64  `json:"yen"`
}

// grades are the grades in the order a band is looked for.
func grades() []procure.Grade {
	return []procure.Grade{procure.GradeA, procure.GradeB, procure.GradeC, procure.GradeD}
}

// MaxOfficers bounds n.
const MaxOfficers = 10

func (rq *TenderRequest) check(now time.Time) (procure.Grade, error) {
	bad := func(what string) error { return refuse(ReasonBadTender, what) }
	var ok bool
	if rq.Title, ok = clean(rq.Title, 200); !ok {
		return "", bad("title")
	}
	if rq.Item, ok = clean(rq.Item, 100); !ok {
		return "", bad("item")
	}
	if !rq.Field.Valid() {
		return "", bad("field")
	}
	if rq.EstimateYen <= 0 {
		return "", bad("estimate")
	}
	if !rq.Deadline.After(now) {
		return "", bad("deadline not in the future")
	}
	n := len(rq.Officers)
	if rq.K < 2 || n < rq.K || n > MaxOfficers {
		return "", bad(fmt.Sprintf("k=%d of n=%d", rq.K, n))
	}
	seen := map[string]bool{}
	for _, o := range rq.Officers {
		if o == "" || seen[o] {
			return "", bad("officer named twice or empty")
		}
		seen[o] = true
	}
	g := rq.Grade
	if g == "" {
		for _, c := range grades() {
			if c.Covers(rq.Field, rq.EstimateYen) {
				return c, nil
			}
		}
		return "", refuse(ReasonGradeBand, "no grade's band holds the estimate")
	}
	if !slices.Contains(grades(), g) {
		return "", bad("grade")
	}
	if !g.Covers(rq.Field, rq.EstimateYen) {
		return "", refuse(ReasonGradeBand, string(g))
	}
	return g, nil
}

// Publish makes a tender: the opening key and certificate
// (sealedbid.NewOpening), its shares sealed under fresh passphrases which
// are sealed to the officers' personal keys, the estimate sealed to the
// opening certificate. The key, the passphrases and the estimate's
// plaintext are forgotten. by is the publishing officer's platform ID.
func (s *Service) Publish(ctx context.Context, body, by string, rq TenderRequest) (*Tender, error) {
	h, err := s.body(body)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	actor := "staff:" + by
	grade, err := rq.check(now)
	if err != nil {
		return nil, s.refused(ctx, body, actor, "publish", "", err)
	}
	certs := make([]*x509.Certificate, len(rq.Officers))
	for i, o := range rq.Officers {
		k, err := s.officerKey(ctx, s.db, body, o)
		if err != nil {
			return nil, s.refused(ctx, body, actor, "publish", "", err)
		}
		if certs[i], err = x509.ParseCertificate(k.cert); err != nil {
			return nil, err
		}
	}
	id := newID()
	officers := make([]sealedbid.Officer, len(rq.Officers))
	defer func() {
		for _, o := range officers {
			clear(o.Passphrase)
		}
	}()
	sealedPass := make([][]byte, len(rq.Officers))
	for i, o := range rq.Officers {
		p := make([]byte, 32)
		rand.Read(p)
		officers[i] = sealedbid.Officer{ID: o, Passphrase: p}
		if sealedPass[i], err = sealedbid.Seal(p, certs[i]); err != nil {
			return nil, err
		}
	}
	pub, err := sealedbid.NewOpening(rand.Reader, "tender "+h.ID+" "+id, rq.K, officers)
	if err != nil {
		return nil, fmt.Errorf("body: opening key: %w", err)
	}
	openingCert, err := x509.ParseCertificate(pub.Certificate)
	if err != nil {
		return nil, err
	}
	est, err := json.Marshal(Estimate{Body: body, Tender: id, Yen: rq.EstimateYen})
	if err != nil {
		return nil, err
	}
	sealedEst, err := sealedbid.Seal(est, openingCert)
	clear(est)
	if err != nil {
		return nil, err
	}
	fp := pub.Fingerprint()
	t := &Tender{Body: body, ID: id, Title: rq.Title, Item: rq.Item, Field: rq.Field, Grade: grade,
		Deadline: rq.Deadline.UTC().Truncate(time.Millisecond), K: rq.K, Officers: len(rq.Officers), State: StateOpen, PublishedAt: now,
		Certificate: pub.Certificate, Fingerprint: hex.EncodeToString(fp[:]), Accepting: true}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.db.TxExec(ctx, tx, qInsertTender, body, id, t.Title, t.Item, string(t.Field), string(t.Grade),
			ms(t.Deadline), t.K, t.Certificate, t.Fingerprint, sealedEst, t.State, by, ms(now)); err != nil {
			return err
		}
		for i, sh := range pub.Shares {
			if _, err := s.db.TxExec(ctx, tx, qInsertTenderOfficer, body, id, sh.Officer, sh.Marshal(), sealedPass[i]); err != nil {
				return err
			}
		}
		return s.audit(ctx, tx, body, actor, "publish", id, "ok", fmt.Sprintf("%d of %d", rq.K, len(rq.Officers)))
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

const tenderColumns = `body, id, title, item, field, grade, deadline, threshold, certificate, fingerprint, state, published_at, opened_at, result,
  (SELECT COUNT(*) FROM body_tender_officers o WHERE o.body = t.body AND o.tender = t.id)`

func scanTender(sc interface{ Scan(...any) error }) (*Tender, error) {
	var t Tender
	var field, grade string
	var deadline, published int64
	var opened sql.NullInt64
	var result string
	if err := sc.Scan(&t.Body, &t.ID, &t.Title, &t.Item, &field, &grade, &deadline, &t.K, &t.Certificate, &t.Fingerprint,
		&t.State, &published, &opened, &result, &t.Officers); err != nil {
		return nil, err
	}
	if opened.Valid {
		at := fromMS(opened.Int64)
		t.OpenedAt = &at
	}
	var err error
	if t.Result, err = parseResult(result); err != nil {
		return nil, err
	}
	t.Field, t.Grade = procure.Field(field), procure.Grade(grade)
	t.Deadline, t.PublishedAt = fromMS(deadline), fromMS(published)
	return &t, nil
}

// Tender is one of a body's tenders.
func (s *Service) Tender(ctx context.Context, body, id string) (*Tender, error) {
	if _, err := s.body(body); err != nil {
		return nil, err
	}
	t, err := scanTender(s.db.QueryRowContext(ctx, qTender, body, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: tender %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, err
	}
	t.Accepting = t.Open(s.clock())
	return t, nil
}

// Tenders are a body's tenders, newest first (at most 200).
func (s *Service) Tenders(ctx context.Context, body string) ([]*Tender, error) {
	if _, err := s.body(body); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, qTenders, body)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Tender
	now := s.clock()
	for rows.Next() {
		t, err := scanTender(rows)
		if err != nil {
			return nil, err
		}
		t.Accepting = t.Open(now)
		out = append(out, t)
	}
	return out, rows.Err()
}

// Fingerprint is the SHA-256 of a certificate in hex, as the tender page
// shows it.
func Fingerprint(der []byte) string {
	fp := sha256.Sum256(der)
	return hex.EncodeToString(fp[:])
}

// SealedRows are what the database holds of a tender's secrets, for the
// opening (slice 5) and for the tests that show a row alone opens
// nothing: the opening certificate, the sealed shares, the sealed
// estimate.
type SealedRows struct {
	Certificate []byte
	Shares      []sealedbid.SealedShare
	Estimate    []byte
}

// Sealed reads a tender's sealed rows.
func (s *Service) Sealed(ctx context.Context, body, tender string) (*SealedRows, error) {
	t, err := s.Tender(ctx, body, tender)
	if err != nil {
		return nil, err
	}
	out := &SealedRows{Certificate: t.Certificate}
	if err := s.db.QueryRowContext(ctx, qSealedEstimate, body, tender).Scan(&out.Estimate); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, qTenderShares, body, tender)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			return nil, err
		}
		sh, err := sealedbid.ParseSealedShare(raw)
		if err != nil {
			return nil, err
		}
		out.Shares = append(out.Shares, *sh)
	}
	return out, rows.Err()
}
