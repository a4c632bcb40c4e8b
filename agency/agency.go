// Package agency is the receiving side of post-box submissions: a tax
// office, an employer, a town's office — each a separate endpoint with its
// own inbox, staff and data. It accepts the post box's envelopes at least
// once and acts on each send once (de-duplicated by the send ID), validates
// every document on receipt (package verify: ETSI EN 319 102-1 indications,
// with the issuer's power of attorney for third-party certificates), checks
// that the signed application binds exactly the documents sent with it, and
// shows staff the reports as pages (staff sign in with their own cards:
// package staff) and the office's own systems as JSON (under a machine's
// API key). Every view is audited, naming the person.
package agency

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/internal/trace"

	"github.com/mynaplat/mynaplat/internal/secret"
	"github.com/mynaplat/mynaplat/postbox"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/verify"
	"github.com/mynaplat/mynaplat/wareki"
)

//go:embed migrations
var migrations embed.FS

// Errors of the agency.
var (
	ErrInvalid  = errors.New("agency: invalid request")
	ErrNotFound = errors.New("agency: not found")
	ErrBadKey   = errors.New("agency: bad key")
)

// The read API's problem codes.
const (
	CodeBadKey   httpapi.Code = "bad_key"
	CodeNotFound httpapi.Code = "not_found"
)

// Rules answers the read API's errors.
var Rules = httpapi.Rules{
	{Err: ErrBadKey, Status: http.StatusUnauthorized, Code: CodeBadKey, JA: "APIキーが正しくありません。", EN: "The API key is not valid."},
	{Err: ErrNotFound, Status: http.StatusNotFound, Code: CodeNotFound, JA: "見つかりません。", EN: "Not found."},
}

// Config holds what the agencies need.
type Config struct {
	DB     *store.DB
	Policy *verify.Policy
	// HTTP reads delivery logs from the post box.
	HTTP   *http.Client
	Now    func() time.Time
	Logger *slog.Logger
}

// Service runs the receiving agencies of one deployment.
type Service struct {
	db     *store.DB
	policy *verify.Policy
	hc     *http.Client
	now    func() time.Time
	log    *slog.Logger
}

// Open migrates the agencies' tables.
func Open(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.DB == nil || cfg.Policy == nil {
		return nil, errors.New("agency: Open needs a database and a validation policy")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{Timeout: 10 * time.Second}
	}
	mfs, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	if err := cfg.DB.Migrate(ctx, "agency", mfs); err != nil {
		return nil, err
	}
	return &Service{db: cfg.DB, policy: cfg.Policy, hc: cfg.HTTP, now: cfg.Now, log: cfg.Logger}, nil
}

// Office is one receiving agency.
type Office struct {
	ID, NameJA, NameEN string
	// PostboxURL and PostboxKey let the office read its sends' delivery
	// logs at the post box.
	PostboxURL, PostboxKey string
}

// Keys are an office's secrets, shown once when it is added.
type Keys struct {
	// Inbound is what the post box presents to the office's endpoint.
	Inbound string `json:"inbound"`
	// API is the key of the office's own systems at its read API
	// (/agency/{id}/v1/submissions): a machine's, never a person's; staff
	// sign in to the inbox with their own cards.
	API string `json:"api"`
}

var officeID = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,39}$`)

// AddOffice records an office (or replaces it) with fresh keys.
func (s *Service) AddOffice(ctx context.Context, o Office) (*Keys, error) {
	if !officeID.MatchString(o.ID) || o.NameJA == "" || o.NameEN == "" {
		return nil, fmt.Errorf("%w: an office needs an ID (a-z, 0-9, -) and names", ErrInvalid)
	}
	k := &Keys{Inbound: secret.New("agi_"), API: secret.New("aga_")}
	_, err := s.db.Write(ctx, qUpsertOffice, o.ID, o.NameJA, o.NameEN, secret.Hash(k.Inbound), secret.Hash(k.API), o.PostboxURL, o.PostboxKey, s.now().Unix())
	if err != nil {
		return nil, fmt.Errorf("agency: add office: %w", err)
	}
	return k, nil
}

// SetPostbox sets where and how an office reads its delivery logs.
func (s *Service) SetPostbox(ctx context.Context, id, url, key string) error {
	_, err := s.db.Write(ctx, qSetPostbox, url, key, id)
	return err
}

// Office returns one office.
func (s *Service) Office(ctx context.Context, id string) (*Office, error) {
	var o Office
	err := s.db.QueryRowContext(ctx, qOffice, id).Scan(&o.ID, &o.NameJA, &o.NameEN, &o.PostboxURL, &o.PostboxKey)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: office %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("agency: office: %w", err)
	}
	return &o, nil
}

// Offices lists the offices.
func (s *Service) Offices(ctx context.Context) ([]*Office, error) {
	rows, err := s.db.QueryContext(ctx, qOffices)
	if err != nil {
		return nil, fmt.Errorf("agency: offices: %w", err)
	}
	defer rows.Close()
	var out []*Office
	for rows.Next() {
		var o Office
		if err := rows.Scan(&o.ID, &o.NameJA, &o.NameEN, &o.PostboxURL, &o.PostboxKey); err != nil {
			return nil, err
		}
		out = append(out, &o)
	}
	return out, rows.Err()
}

// checkKey compares a presented key with an office's stored hash.
func (s *Service) checkKey(ctx context.Context, id, col, key string) error {
	var h []byte
	q := qInKey
	if col == "api" {
		q = qAPIKey
	}
	err := s.db.QueryRowContext(ctx, q, id).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !secret.Matches(h, key)) {
		return ErrBadKey
	}
	return err
}

// CheckAPIKey accepts or refuses the key of the office's own systems at
// its read API.
func (s *Service) CheckAPIKey(ctx context.Context, id, key string) error {
	return s.checkKey(ctx, id, "api", key)
}

// Submission is one received send.
type Submission struct {
	ID, OfficeID, SendID, Receipt string
	Subject, Applicant            string
	Overall                       verify.Indication
	BundleOK                      bool
	ReceivedAt, ValidatedAt       time.Time
	Deliveries                    int
	Documents                     []*Doc
}

// Passed reports whether every document passed and the bundle is whole.
func (s *Submission) Passed() bool { return s.Overall == verify.TotalPassed && s.BundleOK }

// Doc is one document of a submission with its report.
type Doc struct {
	Name, Type, Format, From string
	Data, Power              []byte
	// Issuer is the organisation the post box says delivered it.
	Issuer *verify.Issuer
	Report *verify.Report
}

// rank orders indications from best to worst.
var rank = map[verify.Indication]int{verify.TotalPassed: 0, verify.Indeterminate: 1, verify.TotalFailed: 2}

// validate validates every document and the bundle.
func (s *Service) validate(ctx context.Context, officeID string, docs []*Doc) (overall verify.Indication, bundleOK bool, applicant, subject string) {
	overall = verify.TotalPassed
	for _, d := range docs {
		d.Report = s.policy.Validate(ctx, verify.Document{Name: d.Name, Format: d.Format, Data: d.Data, Power: d.Power,
			Claimed: d.Issuer, Type: d.Type})
		if rank[d.Report.Indication] > rank[overall] {
			overall = d.Report.Indication
		}
	}
	app := docs[0].Report
	if app.Signer != nil {
		applicant = app.Signer.Name
	}
	if app.Content != nil {
		subject = app.Content.Title
	}
	// The attachments the application names bind only when its signature
	// holds.
	if app.Content != nil && app.Passed() {
		var want, got []string
		for _, a := range app.Content.Attachments {
			want = append(want, a.SHA256)
		}
		for _, d := range docs[1:] {
			h := sha256.Sum256(d.Data)
			got = append(got, hex.EncodeToString(h[:]))
		}
		sort.Strings(want)
		sort.Strings(got)
		// And it must be meant for this office, not one sent elsewhere.
		bundleOK = slices.Equal(want, got) && app.Content.To == officeID
	}
	if subject == "" {
		subject = "(件名なし)"
	}
	return overall, bundleOK, applicant, subject
}

// Receive is the office's endpoint for the post box: POST /agency/{id}/v1/submissions.
func (s *Service) Receive() http.HandlerFunc {
	return postbox.Receive(func(r *http.Request, key string) bool {
		return s.checkKey(r.Context(), r.PathValue("id"), "in", key) == nil
	}, postbox.KindSubmission, s.accept)
}

// accept stores a submission once, validated, and acknowledges it; a send
// already stored is acknowledged again with its first receipt.
func (s *Service) accept(ctx context.Context, r *http.Request, env *postbox.Envelope) (*postbox.Ack, error) {
	officeID := r.PathValue("id")
	var docs []*Doc
	for _, d := range env.Documents {
		docs = append(docs, &Doc{Name: d.Name, Type: d.Type, Format: d.Format, From: d.From, Data: d.Data, Power: d.Power, Issuer: d.Issuer})
	}
	overall, bundleOK, applicant, subject := s.validate(ctx, officeID, docs)
	now := s.now()
	id := hex.EncodeToString(secret.Hash(officeID + "/" + env.SendID)[:10])
	// The receipt number names the submission: the time alone does not,
	// as two sends may arrive in one second.
	sub := &Submission{ID: "sub_" + id, OfficeID: officeID, SendID: env.SendID,
		Receipt: fmt.Sprintf("%s-%s-%s", officeID, now.In(wareki.JST()).Format("20060102-150405"), strings.ToUpper(id[:8])), ReceivedAt: now}
	dup := false
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var receipt string
		var at int64
		err := tx.QueryRowContext(ctx, qSubmissionBySend, officeID, env.SendID).Scan(&sub.ID, &receipt, &at)
		if err == nil {
			dup, sub.Receipt, sub.ReceivedAt = true, receipt, time.Unix(at, 0)
			_, err = tx.ExecContext(ctx, qCountDelivery, sub.ID)
			return err
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		dup = false
		if _, err := tx.ExecContext(ctx, qInsertSubmission, sub.ID, officeID, env.SendID, sub.Receipt, subject, applicant,
			string(overall), b2i(bundleOK), now.Unix()); err != nil {
			return err
		}
		for i, d := range docs {
			rep, err := json.Marshal(d.Report)
			if err != nil {
				return err
			}
			var number, name string
			if d.Issuer != nil {
				number, name = d.Issuer.CorporateNumber, d.Issuer.Name
			}
			if _, err := tx.ExecContext(ctx, qInsertDoc, sub.ID, i, d.Name, d.Type, d.Format, d.From, number, name, d.Data,
				nullBytes(d.Power), string(rep)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.log.ErrorContext(ctx, "agency: store submission", "office", officeID, "send", env.SendID, "err", err)
		return nil, fmt.Errorf("agency: store submission: %w", err)
	}
	return &postbox.Ack{SendID: env.SendID, Receipt: sub.Receipt, ReceivedAt: sub.ReceivedAt.UTC(), Duplicate: dup}, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// Submissions lists an office's submissions, newest first, and audits the
// view.
func (s *Service) Submissions(ctx context.Context, officeID, actor string) ([]*Submission, error) {
	if err := s.audit(ctx, officeID, actor, "list", ""); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, qSubmissions, officeID)
	if err != nil {
		return nil, fmt.Errorf("agency: submissions: %w", err)
	}
	defer rows.Close()
	var out []*Submission
	for rows.Next() {
		sub, err := scanSubmission(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, sub)
	}
	return out, rows.Err()
}

func scanSubmission(sc interface{ Scan(...any) error }) (*Submission, error) {
	var sub Submission
	var overall string
	var bundle, received, validated int64
	if err := sc.Scan(&sub.ID, &sub.OfficeID, &sub.SendID, &sub.Receipt, &sub.Subject, &sub.Applicant, &overall, &bundle,
		&received, &sub.Deliveries, &validated); err != nil {
		return nil, fmt.Errorf("agency: submission: %w", err)
	}
	sub.Overall, sub.BundleOK = verify.Indication(overall), bundle == 1
	sub.ReceivedAt, sub.ValidatedAt = time.Unix(received, 0), time.Unix(validated, 0)
	return &sub, nil
}

// Submission returns one submission with its documents and reports, and
// audits the view.
func (s *Service) Submission(ctx context.Context, officeID, id, actor string) (*Submission, error) {
	sub, err := scanSubmission(s.db.QueryRowContext(ctx, qSubmission, officeID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: submission %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, err
	}
	if err := s.audit(ctx, officeID, actor, "view", id); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, qDocs, id)
	if err != nil {
		return nil, fmt.Errorf("agency: documents: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var d Doc
		var rep, number, name string
		if err := rows.Scan(&d.Name, &d.Type, &d.Format, &d.From, &number, &name, &d.Data, &d.Power, &rep); err != nil {
			return nil, err
		}
		if number != "" {
			d.Issuer = &verify.Issuer{CorporateNumber: number, Name: name}
		}
		d.Report = &verify.Report{}
		if err := json.Unmarshal([]byte(rep), d.Report); err != nil {
			return nil, fmt.Errorf("agency: stored report: %w", err)
		}
		sub.Documents = append(sub.Documents, &d)
	}
	return sub, rows.Err()
}

// Revalidate validates a submission's documents again (after TRY_LATER,
// say) and stores the new reports.
func (s *Service) Revalidate(ctx context.Context, officeID, id, actor string) (*Submission, error) {
	sub, err := s.Submission(ctx, officeID, id, actor)
	if err != nil {
		return nil, err
	}
	overall, bundleOK, _, _ := s.validate(ctx, officeID, sub.Documents)
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, qRevalidated, string(overall), b2i(bundleOK), s.now().Unix(), id); err != nil {
			return err
		}
		for i, d := range sub.Documents {
			rep, err := json.Marshal(d.Report)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, qUpdateReport, string(rep), id, i); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, qInsertAudit, s.now().Unix(), officeID, actor, "revalidate", id, trace.ID(ctx))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("agency: revalidate: %w", err)
	}
	sub.Overall, sub.BundleOK, sub.ValidatedAt = overall, bundleOK, time.Unix(s.now().Unix(), 0)
	return sub, nil
}

func (s *Service) audit(ctx context.Context, officeID, actor, action, subID string) error {
	if _, err := s.db.Write(ctx, qInsertAudit, s.now().Unix(), officeID, actor, action, subID, trace.ID(ctx)); err != nil {
		return fmt.Errorf("agency: audit: %w", err)
	}
	return nil
}

// DeliveryLog reads a send's delivery log at the post box, as this office.
func (s *Service) DeliveryLog(ctx context.Context, o *Office, sendID string) (*postbox.SendView, error) {
	if o.PostboxURL == "" {
		return nil, errors.New("agency: no post box configured")
	}
	c := postbox.Client{BaseURL: o.PostboxURL, Key: o.PostboxKey, HTTP: s.hc}
	return c.Send(ctx, sendID)
}
