// Package business is the private businesses of the post box: 日本郵便,
// 日本生命, NHK in the demo, each a separate endpoint with its own customer
// records, staff and keys.
//
// A business receives moving notices (住所変更届) from the post box: it
// validates the signature (package verify: CAdES with an RFC 3161
// time-stamp, the JPKI 署名用 chain and a fresh OCSP answer), reads the new
// name and address from the new signing certificate itself — never from
// anything typed — matches the customer by number and birth date, updates
// the record once per send (de-duplicated by the send ID, so a repeated
// delivery changes nothing) and acknowledges. A business that issues
// certificates (日本生命's 保険料控除証明書) has an employee sign them with
// their own card under the representative's power of attorney (電子委任状),
// which goes with the document, and delivers them into the customer's box
// through the post box API.
package business

import (
	"context"
	"crypto"
	"crypto/x509"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/mynaplat/mynaplat/internal/trace"

	"github.com/mynaplat/mynaplat/cms"
	"github.com/mynaplat/mynaplat/internal/secret"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/municipal"
	"github.com/mynaplat/mynaplat/postbox"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/verify"
	"github.com/mynaplat/mynaplat/wareki"
)

//go:embed migrations
var migrations embed.FS

// Errors of the businesses.
var (
	ErrInvalid  = errors.New("business: invalid request")
	ErrNotFound = errors.New("business: not found")
	ErrBadKey   = errors.New("business: bad key")
	// ErrLongTerm: a card-signed PDF could not be made PAdES B-LTA (no
	// OCSP answer about the employee's certificate, or no document
	// time-stamp); nothing is delivered.
	ErrLongTerm = errors.New("business: the signed PDF could not be made long-term (B-LTA)")
)

// Config holds what the businesses need.
type Config struct {
	DB     *store.DB
	Policy *verify.Policy
	// Stamper time-stamps the documents the firms issue.
	Stamper cms.Stamper
	// Render lays a document out as a PDF with its number (the delivery
	// ID), for IssueRequest.PDF (see RenderWith); nil: documents are
	// issued as CMS only.
	Render func(c *verify.Content, number string) ([]byte, error)
	HTTP   *http.Client
	Now    func() time.Time
	Logger *slog.Logger
}

// Service runs the businesses of one deployment.
type Service struct {
	db      *store.DB
	policy  *verify.Policy
	stamper cms.Stamper
	render  func(*verify.Content, string) ([]byte, error)
	hc      *http.Client
	now     func() time.Time
	log     *slog.Logger
}

// Open migrates the businesses' tables.
func Open(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.DB == nil || cfg.Policy == nil {
		return nil, errors.New("business: Open needs a database and a validation policy")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{Timeout: 15 * time.Second}
	}
	mfs, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	if err := cfg.DB.Migrate(ctx, "business", mfs); err != nil {
		return nil, err
	}
	return &Service{db: cfg.DB, policy: cfg.Policy, stamper: cfg.Stamper, render: cfg.Render, hc: cfg.HTTP, now: cfg.Now, log: cfg.Logger}, nil
}

// Firm is one business.
type Firm struct {
	ID, NameJA, NameEN, CorporateNumber string
	// PostboxURL and PostboxKey are how the firm calls the post box.
	PostboxURL, PostboxKey string
}

// Keys are a firm's secrets, shown once when it is added.
type Keys struct {
	// Inbound is what the post box presents to the firm's endpoint. Staff
	// have no key: they sign in with their own cards (package staff).
	Inbound string `json:"inbound"`
}

var firmID = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,39}$`)

// AddFirm records a firm (or replaces it) with fresh keys.
func (s *Service) AddFirm(ctx context.Context, f Firm) (*Keys, error) {
	if !firmID.MatchString(f.ID) || f.NameJA == "" || f.NameEN == "" {
		return nil, fmt.Errorf("%w: a firm needs an ID (a-z, 0-9, -) and names", ErrInvalid)
	}
	k := &Keys{Inbound: secret.New("bzi_")}
	_, err := s.db.Write(ctx, qUpsertFirm, f.ID, f.NameJA, f.NameEN, f.CorporateNumber, secret.Hash(k.Inbound),
		f.PostboxURL, f.PostboxKey, s.now().Unix())
	if err != nil {
		return nil, fmt.Errorf("business: add firm: %w", err)
	}
	return k, nil
}

// SetPostbox sets how a firm calls the post box.
func (s *Service) SetPostbox(ctx context.Context, id, url, key string) error {
	_, err := s.db.Write(ctx, qSetPostbox, url, key, id)
	return err
}

// Firm returns one firm.
func (s *Service) Firm(ctx context.Context, id string) (*Firm, error) {
	var f Firm
	err := s.db.QueryRowContext(ctx, qFirm, id).Scan(&f.ID, &f.NameJA, &f.NameEN, &f.CorporateNumber, &f.PostboxURL, &f.PostboxKey)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: firm %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("business: firm: %w", err)
	}
	return &f, nil
}

// Firms lists the firms.
func (s *Service) Firms(ctx context.Context) ([]*Firm, error) {
	rows, err := s.db.QueryContext(ctx, qFirms)
	if err != nil {
		return nil, fmt.Errorf("business: firms: %w", err)
	}
	defer rows.Close()
	var out []*Firm
	for rows.Next() {
		var f Firm
		if err := rows.Scan(&f.ID, &f.NameJA, &f.NameEN, &f.CorporateNumber, &f.PostboxURL, &f.PostboxKey); err != nil {
			return nil, err
		}
		out = append(out, &f)
	}
	return out, rows.Err()
}

func (s *Service) checkKey(ctx context.Context, q, id, key string) error {
	var h []byte
	err := s.db.QueryRowContext(ctx, q, id).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !secret.Matches(h, key)) {
		return ErrBadKey
	}
	return err
}

// Customer is a firm's record of a customer.
type Customer struct {
	Ref, Name, Address string
	BirthDate          time.Time
	UpdatedAt          time.Time
}

// PutCustomer records or replaces a customer.
func (s *Service) PutCustomer(ctx context.Context, firmID string, c Customer) error {
	if c.Ref == "" || c.Name == "" || c.BirthDate.IsZero() {
		return fmt.Errorf("%w: a customer needs a number, a name and a birth date", ErrInvalid)
	}
	_, err := s.db.Write(ctx, qUpsertCustomer, firmID, c.Ref, c.Name, c.BirthDate.Format(time.DateOnly), c.Address, s.now().Unix())
	return err
}

// Customers lists a firm's customers and audits the view.
func (s *Service) Customers(ctx context.Context, firmID, actor string) ([]Customer, error) {
	if err := s.audit(ctx, s.db, firmID, actor, "list", "customers"); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, qCustomers, firmID)
	if err != nil {
		return nil, fmt.Errorf("business: customers: %w", err)
	}
	defer rows.Close()
	var out []Customer
	for rows.Next() {
		c, err := scanCustomer(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *c)
	}
	return out, rows.Err()
}

func scanCustomer(sc interface{ Scan(...any) error }) (*Customer, error) {
	var c Customer
	var birth string
	var at int64
	if err := sc.Scan(&c.Ref, &c.Name, &birth, &c.Address, &at); err != nil {
		return nil, err
	}
	c.BirthDate, _ = time.ParseInLocation(time.DateOnly, birth, wareki.JST())
	c.UpdatedAt = time.Unix(at, 0)
	return &c, nil
}

func (s *Service) audit(ctx context.Context, q interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, firmID, actor, action, detail string) error {
	if _, err := q.ExecContext(ctx, qInsertAudit, s.now().Unix(), firmID, actor, action, detail, trace.ID(ctx)); err != nil {
		return fmt.Errorf("business: audit: %w", err)
	}
	return nil
}

// ReceiveNotices is the firm's endpoint for moving notices:
// POST /business/{id}/v1/address-notices.
func (s *Service) ReceiveNotices() http.HandlerFunc {
	return postbox.Receive(func(r *http.Request, key string) bool {
		return s.checkKey(r.Context(), qInKey, r.PathValue("id"), key) == nil
	}, postbox.KindAddressNotice, s.acceptNotice)
}

// Notice is a moving notice a firm received.
type Notice struct {
	SendID, Receipt, CustomerRef string
	OldAddress, NewAddress       string
	SignerSerial                 string
	SignedAt, ReceivedAt         time.Time
	Deliveries                   int
}

// acceptNotice applies a moving notice once.
func (s *Service) acceptNotice(ctx context.Context, r *http.Request, env *postbox.Envelope) (*postbox.Ack, error) {
	firmID := r.PathValue("id")
	if n, err := s.notice(ctx, s.db, firmID, env.SendID); err == nil {
		if _, err := s.db.Write(ctx, qCountNotice, firmID, env.SendID); err != nil {
			return nil, err
		}
		return &postbox.Ack{SendID: env.SendID, Receipt: n.Receipt, ReceivedAt: n.ReceivedAt.UTC(), Duplicate: true}, nil
	} else if !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	if len(env.Documents) != 1 {
		return nil, fmt.Errorf("%w: a notice is one document", postbox.ErrRefused)
	}
	d := env.Documents[0]
	rep := s.policy.Validate(ctx, verify.Document{Name: d.Name, Format: d.Format, Data: d.Data})
	switch rep.Indication {
	case verify.TotalPassed:
	case verify.Indeterminate:
		// Facts were missing (no revocation data): the post box retries.
		return nil, fmt.Errorf("business: notice not yet verifiable: %s %s", rep.SubIndication, rep.MessageEN)
	default:
		return nil, fmt.Errorf("%w: %s %s", postbox.ErrRefused, rep.SubIndication, rep.MessageEN)
	}
	c := rep.Content
	if c == nil || c.Type != postbox.AddressNoticeType || c.To != firmID || !hasField(c, "お客さま番号", env.CustomerRef) {
		return nil, fmt.Errorf("%w: the signed notice is not addressed to this firm and customer", postbox.ErrRefused)
	}
	h, err := jpki.SigningHolder(rep.SignerCert)
	if err != nil {
		return nil, fmt.Errorf("%w: the signing certificate has no holder attributes: %v", postbox.ErrRefused, err)
	}
	now := s.now()
	// The receipt names the send whatever its ID looks like (the
	// envelope's send ID may be any non-empty string).
	receipt := fmt.Sprintf("%s-%s-%s", firmID, now.In(wareki.JST()).Format("20060102"), strings.ToUpper(hex.EncodeToString(secret.Hash(firmID + "/" + env.SendID)[:4])))
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		cu, err := scanCustomer(tx.QueryRowContext(ctx, qCustomer, firmID, env.CustomerRef))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: no customer %s", postbox.ErrRefused, env.CustomerRef)
		}
		if err != nil {
			return err
		}
		if !sameDay(cu.BirthDate, h.BirthDate) {
			return fmt.Errorf("%w: the signer's birth date is not the customer's", postbox.ErrRefused)
		}
		if _, err := tx.ExecContext(ctx, qInsertNotice, firmID, env.SendID, receipt, env.CustomerRef, cu.Address, h.Address,
			jpki.Serial(rep.SignerCert.SerialNumber), signedAt(rep).Unix(), now.Unix()); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, qUpdateAddress, h.Name, h.Address, now.Unix(), firmID, env.CustomerRef); err != nil {
			return err
		}
		return s.audit(ctx, tx, firmID, "postbox", "address-notice", env.CustomerRef+" "+env.SendID)
	})
	if store.IsUniqueViolation(err) {
		// The same send, delivered twice at once: the first one stands.
		return s.acceptNotice(ctx, r, env)
	}
	if err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "business: address changed by notice", "firm", firmID, "send", env.SendID)
	return &postbox.Ack{SendID: env.SendID, Receipt: receipt, ReceivedAt: now.UTC()}, nil
}

func signedAt(rep *verify.Report) time.Time {
	if rep.SigningTime != nil {
		return *rep.SigningTime
	}
	return rep.ValidatedAt
}

func sameDay(a, b time.Time) bool {
	a, b = a.In(wareki.JST()), b.In(wareki.JST())
	return a.Year() == b.Year() && a.YearDay() == b.YearDay()
}

func hasField(c *verify.Content, label, value string) bool {
	for _, f := range c.Fields {
		if f.Label == label {
			return f.Value == value
		}
	}
	return false
}

func (s *Service) notice(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, firmID, sendID string) (*Notice, error) {
	return scanNotice(q.QueryRowContext(ctx, qNotice, firmID, sendID))
}

func scanNotice(sc interface{ Scan(...any) error }) (*Notice, error) {
	var n Notice
	var signed, received int64
	if err := sc.Scan(&n.SendID, &n.Receipt, &n.CustomerRef, &n.OldAddress, &n.NewAddress, &n.SignerSerial, &signed, &received, &n.Deliveries); err != nil {
		return nil, err
	}
	n.SignedAt, n.ReceivedAt = time.Unix(signed, 0), time.Unix(received, 0)
	return &n, nil
}

// Notices lists the moving notices a firm received, newest first, and
// audits the view.
func (s *Service) Notices(ctx context.Context, firmID, actor string) ([]*Notice, error) {
	if err := s.audit(ctx, s.db, firmID, actor, "list", "notices"); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, qNotices, firmID)
	if err != nil {
		return nil, fmt.Errorf("business: notices: %w", err)
	}
	defer rows.Close()
	var out []*Notice
	for rows.Next() {
		n, err := scanNotice(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// Power is a power of attorney a firm's employee issues documents under.
type Power struct {
	ID, Agent string
	DocTypes  []string
	Signed    []byte
}

// AddPower keeps a power of attorney (the representative's signed 電子委任状)
// for the firm's issuing.
func (s *Service) AddPower(ctx context.Context, firmID string, p Power) error {
	_, err := s.db.Write(ctx, qUpsertPower, firmID, p.ID, p.Agent, strings.Join(p.DocTypes, ","), p.Signed)
	return err
}

// Powers lists a firm's powers of attorney.
func (s *Service) Powers(ctx context.Context, firmID string) ([]Power, error) {
	rows, err := s.db.QueryContext(ctx, qPowers, firmID)
	if err != nil {
		return nil, fmt.Errorf("business: powers: %w", err)
	}
	defer rows.Close()
	var out []Power
	for rows.Next() {
		var p Power
		var types string
		if err := rows.Scan(&p.ID, &p.Agent, &types, &p.Signed); err != nil {
			return nil, err
		}
		p.DocTypes = strings.Split(types, ",")
		out = append(out, p)
	}
	return out, rows.Err()
}

// IssueRequest is a document a firm's employee issues to a customer's box.
type IssueRequest struct {
	// DeliveryID makes a retry deliver nothing new.
	DeliveryID  string
	CustomerRef string
	Type, Title string
	Fields      []verify.Field
	// PowerID names the power of attorney the employee acts under.
	PowerID string
	// Staff names the employee for the audit.
	Staff string
	// PDF issues the document as a PDF the card certifies (DocMDP P=1)
	// instead of signed JSON (CMS), made PAdES B-LTA before it is sent; it
	// needs Config.Render and Config.Stamper.
	PDF bool
}

// LazyRender is RenderWith over a municipal.Renderer of the fonts in
// fontDir ("" for the embedded ones), loaded when the first PDF is issued:
// most processes never issue one, and the fonts are megabytes.
func LazyRender(fontDir string) func(*verify.Content, string) ([]byte, error) {
	var once sync.Once
	var render func(*verify.Content, string) ([]byte, error)
	return func(c *verify.Content, number string) ([]byte, error) {
		once.Do(func() {
			r, err := municipal.NewRenderer(fontDir)
			if err != nil {
				render = func(*verify.Content, string) ([]byte, error) { return nil, err }
				return
			}
			render = RenderWith(r)
		})
		return render(c, number)
	}
}

// RenderWith lays a post-box document out with the certificate layout of
// municipal.Renderer: its title, the fields as rows, the issuer as the
// signatory; the issuing time goes into the date line.
func RenderWith(r *municipal.Renderer) func(*verify.Content, string) ([]byte, error) {
	return func(c *verify.Content, number string) ([]byte, error) {
		d := &municipal.Document{Title: c.Title, Number: number, Issued: c.IssuedAt,
			Attestation: "上記のとおり証明します。", Sections: []municipal.Section{{}}}
		if c.Issuer != nil {
			d.Signatory = c.Issuer.Name + "（法人番号 " + c.Issuer.CorporateNumber + "）"
		}
		for _, f := range c.Fields {
			d.Sections[0].Rows = append(d.Sections[0].Rows, municipal.Row{Label: f.Label, Value: f.Value})
		}
		if err := r.Fit(d); errors.Is(err, municipal.ErrTooLong) {
			// A label wider than the label column (証明額（1月〜12月の払込
			// 予定額）) gets the whole width, as a heading over its value.
			d.Sections = nil
			for _, f := range c.Fields {
				d.Sections = append(d.Sections, municipal.Section{Heading: f.Label, Rows: []municipal.Row{{Value: f.Value}}})
			}
		}
		pdf, _, err := r.Render(d, municipal.Decorations{})
		return pdf, err
	}
}

// Issue has the employee's card (cert and signer, inside a
// terminal.WithSigner session) sign the document in the firm's name, with
// a time-stamp, and delivers it with the power of attorney into the box of
// the customer who consented to deliveries. It returns the post box's
// document ID.
func (s *Service) Issue(ctx context.Context, firmID string, req IssueRequest, cert *x509.Certificate, signer crypto.Signer) (string, error) {
	f, err := s.Firm(ctx, firmID)
	if err != nil {
		return "", err
	}
	if req.DeliveryID == "" || req.CustomerRef == "" || req.Type == "" || req.Title == "" {
		return "", fmt.Errorf("%w: delivery ID, customer, type and title are required", ErrInvalid)
	}
	var power *Power
	ps, err := s.Powers(ctx, firmID)
	if err != nil {
		return "", err
	}
	for i := range ps {
		if ps[i].ID == req.PowerID {
			power = &ps[i]
		}
	}
	if power == nil {
		return "", fmt.Errorf("%w: power of attorney %s", ErrNotFound, req.PowerID)
	}
	content := &verify.Content{Type: req.Type, Title: req.Title, IssuedAt: s.now().UTC(),
		Issuer: &verify.Issuer{CorporateNumber: f.CorporateNumber, Name: f.NameJA}, Fields: req.Fields}
	format, signed, err := s.sign(ctx, f, content, req.DeliveryID, req.PDF, cert, signer)
	if err != nil {
		return "", err
	}
	pc := postbox.Client{BaseURL: f.PostboxURL, Key: f.PostboxKey, HTTP: s.hc}
	docID, err := pc.Deliver(ctx, postbox.Delivery{DeliveryID: req.DeliveryID, CustomerRef: req.CustomerRef, Type: req.Type,
		Title: req.Title, Format: format, Data: signed, Power: power.Signed})
	if err != nil {
		return "", err
	}
	_, err = s.db.Write(ctx, qInsertIssued, firmID, req.DeliveryID, req.CustomerRef, req.Type, req.Title, docID, req.Staff, s.now().Unix())
	if err != nil && !store.IsUniqueViolation(err) {
		return docID, fmt.Errorf("business: record issue: %w", err)
	}
	return docID, nil
}

// sign signs content with the employee's card, time-stamped: as CMS over
// its JSON, or as a PDF laid out by s.render and certified (the post box
// names the firm as the issuer, as a PDF's content does not say it in a
// form the validator reads). The PDF is extended to PAdES B-LTA here,
// before it is sent: the post box binds a document by its SHA-256, so a
// stored file is never rewritten, and a certificate kept there for years
// must validate once the signer's certificate has expired (issue 18).
func (s *Service) sign(ctx context.Context, f *Firm, content *verify.Content, number string, asPDF bool, cert *x509.Certificate, signer crypto.Signer) (string, []byte, error) {
	if !asPDF {
		body, err := content.Marshal()
		if err != nil {
			return "", nil, err
		}
		signed, err := cms.Sign(ctx, body, cms.SignOptions{Signer: signer, Cert: cert, Stamper: s.stamper})
		if err != nil {
			return "", nil, fmt.Errorf("business: sign: %w", err)
		}
		return verify.FormatCMS, signed, nil
	}
	if s.render == nil || s.stamper == nil {
		return "", nil, fmt.Errorf("%w: PDF documents are not available here", ErrInvalid)
	}
	pdf, err := s.render(content, number)
	if err != nil {
		return "", nil, fmt.Errorf("business: render: %w", err)
	}
	signed, err := cms.SignPDF(ctx, pdf, cms.PDFOptions{SignOptions: cms.SignOptions{Signer: signer, Cert: cert, Stamper: s.stamper},
		Name: f.NameEN, Reason: "Issued under a power of attorney", When: s.now(), Certify: true})
	if err != nil {
		return "", nil, fmt.Errorf("business: sign: %w", err)
	}
	// The one extension path (mynaplat verify --extend uses it too): a DSS
	// with the chain, an OCSP answer produced after the signature
	// time-stamp and the TSA chain, then a document time-stamp.
	lta, err := s.policy.Extend(ctx, signed, s.stamper)
	if err != nil {
		return "", nil, fmt.Errorf("%w: %w", ErrLongTerm, err)
	}
	return verify.FormatPAdES, lta, nil
}

// Issued is a document a firm issued.
type Issued struct {
	DeliveryID, CustomerRef, Type, Title, DocumentID, IssuedBy string
	IssuedAt                                                   time.Time
}

// IssuedDocs lists what a firm issued, newest first.
func (s *Service) IssuedDocs(ctx context.Context, firmID string) ([]Issued, error) {
	rows, err := s.db.QueryContext(ctx, qIssued, firmID)
	if err != nil {
		return nil, fmt.Errorf("business: issued: %w", err)
	}
	defer rows.Close()
	var out []Issued
	for rows.Next() {
		var i Issued
		var at int64
		if err := rows.Scan(&i.DeliveryID, &i.CustomerRef, &i.Type, &i.Title, &i.DocumentID, &i.IssuedBy, &at); err != nil {
			return nil, err
		}
		i.IssuedAt = time.Unix(at, 0)
		out = append(out, i)
	}
	return out, rows.Err()
}
