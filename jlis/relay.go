package jlis

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/municipal"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/seal"
	"github.com/mynaplat/mynaplat/wareki"
)

// The relay (J-LIS 証明書交付センター). A kiosk sends what the holder asked
// for together with the platform assertion of the card it just read; the
// relay
//
//  1. verifies the assertion (signature, audience, expiry) and that it was
//     made at this kiosk;
//  2. reads the holder's JPKI attributes through the platform (an audited
//     read) and decides which municipality keeps the record: the 住所地 of
//     the JPKI record, or, for 戸籍 certificates and the 附票, a 本籍地 with
//     an approved usage registration of the current authentication
//     certificate;
//  3. records the print job, and forwards the request with the holder's
//     basic attributes to that municipality's issuance server, which renders
//     the certificate with the relay's anti-forgery (AntiForgery);
//  4. checks the answer — the type asked for, the municipality asked, the
//     digest, and the seal's PAdES signature over the whole file — and
//     stores the PDF on the job, which only this kiosk and this holder can
//     then print, once, before the job's deadline.

// Errors of the relay.
var (
	ErrUnauthorized = errors.New("jlis: unknown kiosk key")
	// ErrBadAssertion is a platform assertion that does not verify or was
	// made at another kiosk.
	ErrBadAssertion = errors.New("jlis: the platform assertion did not verify")
	// ErrNotRegistered is a 戸籍 request to a 本籍地 without an approved
	// usage registration of the current card.
	ErrNotRegistered = errors.New("jlis: no approved usage registration with this 本籍地")
	// ErrInProgress is a request key whose job is still being rendered.
	ErrInProgress = errors.New("jlis: the request is still being processed")
	// ErrUnreachable means the municipality's issuance server did not
	// answer in time; the job was cancelled.
	ErrUnreachable = errors.New("jlis: the issuance server did not answer")
	// ErrBadAnswer is an answer of an issuance server that fails the relay's
	// checks (wrong type or municipality, digest, seal): never handed out.
	ErrBadAnswer = errors.New("jlis: the issuance server's answer failed the relay's checks")
)

// RefusedError is a municipality's refusal, with its code and messages: it
// carries the municipality's problem, which the relay passes on as it came
// (Rules), and matches the municipality's codes (municipal.Code…).
type RefusedError struct {
	httpapi.Problem
}

func (e *RefusedError) Error() string { return "jlis: refused by the municipality: " + string(e.Code) }

// Unwrap is the municipality's problem.
func (e *RefusedError) Unwrap() error { return e.Problem }

// Endpoint is how the relay reaches one municipality's issuance server.
type Endpoint struct {
	BaseURL string `json:"base_url"` // up to, not including, /municipal/{code}/v1/
	Key     string `json:"key"`      // the relay key the municipality issued
}

// RelayConfig is what the relay needs besides the job store.
type RelayConfig struct {
	// Keys are the platform's assertion keys and Issuer its name.
	Keys   func(context.Context) (platform.JWKS, error)
	Issuer string
	// Attributes reads a platform ID's JPKI attributes (platform.Platform's
	// PersonAttributes; audited there).
	Attributes func(ctx context.Context, platformID string) (*jpki.HolderAttributes, error)
	// Endpoints maps municipality codes to their issuance servers.
	Endpoints map[string]Endpoint
	// HTTP is the client for the issuance servers.
	HTTP *http.Client
	// Seal checks the seal signature of every PDF before it is stored.
	Seal *seal.Service
	// Timeout bounds one call to an issuance server (default 30 s); the job's
	// deadline bounds it too.
	Timeout time.Duration
}

// Relay is the J-LIS relay over a Service's jobs and registrations.
type Relay struct {
	s   *Service
	cfg RelayConfig
	now func() time.Time
	log *slog.Logger

	mu        sync.Mutex
	catalogue map[string]cachedCatalogue
}

type cachedCatalogue struct {
	offers []municipal.Offer
	at     time.Time
}

// catalogueTTL is how long a municipality's catalogue is kept.
const catalogueTTL = 30 * time.Second

// NewRelay makes the relay of s.
func NewRelay(s *Service, cfg RelayConfig) (*Relay, error) {
	if cfg.Keys == nil || cfg.Attributes == nil || cfg.Seal == nil {
		return nil, errors.New("jlis: the relay needs the platform's keys, the attribute source and the seal register")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.HTTP == nil {
		cfg.HTTP = httpapi.NewHTTPClient(cfg.Timeout)
	}
	r := &Relay{s: s, cfg: cfg, now: s.now, log: s.logger, catalogue: map[string]cachedCatalogue{}}
	if s.koseki == nil {
		// The 本籍地 compare registrations through their issuance APIs.
		s.koseki = r.KosekiMatcher()
	}
	return r, nil
}

// Service is the job store behind the relay.
func (r *Relay) Service() *Service { return r.s }

// AddKiosk registers a kiosk and returns its key (shown once; only its hash
// is kept).
func (s *Service) AddKiosk(ctx context.Context, id, store string) (string, error) {
	if id == "" || len(id) > 64 || store == "" {
		return "", fmt.Errorf("%w: kiosk ID and store are required", ErrInvalid)
	}
	b := make([]byte, 24)
	rand.Read(b)
	key := "kiosk_" + base64.RawURLEncoding.EncodeToString(b)
	if _, err := s.db.Write(ctx, qInsertKiosk, id, store, hashKey(key), s.now().UnixMilli()); err != nil {
		return "", fmt.Errorf("jlis: add kiosk %s: %w", id, err)
	}
	return key, nil
}

// HasKiosk reports whether kiosk id is registered.
func (s *Service) HasKiosk(ctx context.Context, id string) (bool, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, qHasKiosk, id).Scan(&n); err != nil {
		return false, fmt.Errorf("jlis: find kiosk: %w", err)
	}
	return n > 0, nil
}

// KioskByKey returns the kiosk a key belongs to.
func (s *Service) KioskByKey(ctx context.Context, key string) (string, error) {
	if key == "" {
		return "", ErrUnauthorized
	}
	var id string
	if err := s.db.QueryRowPrepared(ctx, qKioskByKey, hashKey(key)).Scan(&id); err != nil {
		return "", ErrUnauthorized
	}
	return id, nil
}

func hashKey(k string) string {
	sum := sha256.Sum256([]byte(k))
	return hex.EncodeToString(sum[:])
}

// Holder is a card holder at a kiosk, as the relay sees them.
type Holder struct {
	PlatformID string
	Attributes *jpki.HolderAttributes
}

// claims verifies an assertion and that it was made at this kiosk.
func (r *Relay) claims(ctx context.Context, kiosk, assertion string) (*platform.Claims, error) {
	keys, err := r.cfg.Keys(ctx)
	if err != nil {
		return nil, fmt.Errorf("jlis: platform keys: %w", err)
	}
	c, err := platform.VerifyAssertion(assertion, keys, r.cfg.Issuer, r.now())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadAssertion, err)
	}
	if c.Terminal != kiosk || c.TerminalKind != platform.Kiosk {
		return nil, fmt.Errorf("%w: made at %s, not at this kiosk", ErrBadAssertion, c.Terminal)
	}
	return c, nil
}

// holder verifies an assertion made at kiosk and reads the holder's
// attributes.
func (r *Relay) holder(ctx context.Context, kiosk, assertion string) (*Holder, error) {
	c, err := r.claims(ctx, kiosk, assertion)
	if err != nil {
		return nil, err
	}
	a, err := r.cfg.Attributes(ctx, c.Subject)
	if err != nil {
		return nil, fmt.Errorf("jlis: attributes of the card holder: %w", err)
	}
	return &Holder{PlatformID: c.Subject, Attributes: a}, nil
}

// MenuItem is one certificate a holder can ask for at a kiosk.
type MenuItem struct {
	Municipality     string `json:"municipality"`
	MunicipalityName string `json:"municipality_name"`
	// Basis is "residence" (住所地) or "honseki" (本籍地 by registration).
	Basis   string             `json:"basis"`
	Type    municipal.CertType `json:"type"`
	TitleJA string             `json:"title_ja"`
	TitleEN string             `json:"title_en"`
	FeeYen  int                `json:"fee_yen"`
	// Open says whether it can be had now; Hours are its hours (06:30–23:00).
	Open         bool   `json:"open"`
	Hours        string `json:"hours"`
	WeekdaysOnly bool   `json:"weekdays_only"`
}

// Key names a menu item in a kiosk's form.
func (m MenuItem) Key() string { return m.Municipality + ":" + string(m.Type) }

// HoursJA is the item's hours for the menu, in Japanese.
func (m MenuItem) HoursJA() string {
	if m.WeekdaysOnly {
		return "平日 " + m.Hours
	}
	return m.Hours
}

// HoursEN is the item's hours in English.
func (m MenuItem) HoursEN() string {
	if m.WeekdaysOnly {
		return "weekdays " + m.Hours
	}
	return m.Hours
}

// Menu is what a holder may ask for, and their registrations.
type Menu struct {
	Items         []MenuItem     `json:"items"`
	Registrations []Registration `json:"registrations"`
	// Residence is the 住所地 (code and name).
	Residence     string `json:"residence"`
	ResidenceName string `json:"residence_name"`
}

// Basis values of MenuItem.
const (
	BasisResidence = "residence"
	BasisHonseki   = "honseki"
)

// MunicipalityName is the prefecture and name of the municipality with
// code, or the code when it is not known.
func MunicipalityName(code string) string {
	m, err := jpki.LookupMunicipality(code)
	if err != nil {
		return code
	}
	return m.Prefecture + m.Name
}

// Menu lists the certificates the holder of assertion can have at kiosk.
func (r *Relay) Menu(ctx context.Context, kiosk, assertion string) (*Menu, error) {
	h, err := r.holder(ctx, kiosk, assertion)
	if err != nil {
		return nil, err
	}
	home := h.Attributes.Municipality
	menu := &Menu{Residence: home, ResidenceName: MunicipalityName(home), Items: []MenuItem{}, Registrations: []Registration{}}
	if menu.Registrations, err = r.s.RegistrationsOf(ctx, h.Attributes.Certificate.Serial); err != nil {
		return nil, err
	}
	now := r.now()
	add := func(code, basis string, keep func(municipal.CertType) bool) error {
		offers, err := r.offers(ctx, code)
		if err != nil {
			return err
		}
		for _, o := range offers {
			if !keep(o.Type) {
				continue
			}
			menu.Items = append(menu.Items, MenuItem{Municipality: code, MunicipalityName: MunicipalityName(code), Basis: basis,
				Type: o.Type, TitleJA: o.Type.Title(), TitleEN: o.Type.TitleEN(), FeeYen: o.FeeYen, Open: o.OpenAt(now),
				Hours: clock(o.Open) + "–" + clock(o.Close), WeekdaysOnly: o.WeekdaysOnly})
		}
		return nil
	}
	if _, ok := r.cfg.Endpoints[home]; ok {
		if err := add(home, BasisResidence, func(municipal.CertType) bool { return true }); err != nil {
			return nil, err
		}
	}
	for _, reg := range menu.Registrations {
		if reg.Status != RegApproved || reg.Honseki == home {
			continue
		}
		if err := add(reg.Honseki, BasisHonseki, municipal.CertType.FromKoseki); err != nil {
			return nil, err
		}
	}
	return menu, nil
}

func clock(min int) string { return fmt.Sprintf("%02d:%02d", min/60, min%60) }

// offers returns a municipality's catalogue, cached for catalogueTTL.
func (r *Relay) offers(ctx context.Context, code string) ([]municipal.Offer, error) {
	r.mu.Lock()
	c, ok := r.catalogue[code]
	r.mu.Unlock()
	if ok && r.now().Sub(c.at) < catalogueTTL {
		return c.offers, nil
	}
	var offers []municipal.Offer
	if err := r.call(ctx, code, http.MethodGet, "catalogue", nil, &offers); err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.catalogue[code] = cachedCatalogue{offers: offers, at: r.now()}
	r.mu.Unlock()
	return offers, nil
}

// Order is a kiosk's order of one certificate.
type Order struct {
	// RequestKey is the kiosk's ID of the order (16–64 characters): sending
	// the order again returns the same job.
	RequestKey   string             `json:"request_key"`
	Municipality string             `json:"municipality"`
	Type         municipal.CertType `json:"type"`
	Options      Options            `json:"options"`
	Copies       int                `json:"copies,omitempty"`
}

// Order records the job and has the municipality render it. The answer is
// the rendered job, which Print then hands out; a refusal of the
// municipality is a *RefusedError, and the job is cancelled with its code.
func (r *Relay) Order(ctx context.Context, kiosk, assertion string, o Order) (*Job, error) {
	if len(o.RequestKey) < 16 || len(o.RequestKey) > 64 || !o.Type.Valid() || o.Copies < 0 || o.Copies > municipal.MaxCopies {
		return nil, fmt.Errorf("%w: request key (16–64 characters), type and copies", ErrInvalid)
	}
	h, err := r.holder(ctx, kiosk, assertion)
	if err != nil {
		return nil, err
	}
	a := h.Attributes
	holder := &municipal.Holder{Name: a.Name, BirthDate: a.BirthDate.In(wareki.JST()).Format(time.DateOnly), Sex: a.Sex}
	switch {
	case o.Municipality == a.Municipality:
		holder.Address = a.Address
	case !o.Type.FromKoseki():
		return nil, fmt.Errorf("%w: %s is issued by the 住所地 only", ErrNotRegistered, o.Type.Title())
	default:
		ok, err := r.s.Registered(ctx, a.Certificate.Serial, o.Municipality)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, ErrNotRegistered
		}
	}
	if _, ok := r.cfg.Endpoints[o.Municipality]; !ok {
		return nil, fmt.Errorf("%w: municipality %s does not issue at kiosks", ErrInvalid, o.Municipality)
	}
	job, err := r.s.Request(ctx, kiosk, o.RequestKey, h.PlatformID, o.Municipality, string(o.Type), o.Options)
	if err != nil {
		return nil, err
	}
	if job.Replayed {
		switch job.State {
		case Requested:
			return nil, ErrInProgress
		case Cancelled:
			return nil, fmt.Errorf("%w: %s", ErrJobGone, job.Reason)
		}
		return job, nil // rendered or printed: nothing new happens
	}
	// The call may take only what is left of the job's time (by the
	// service's clock, which need not be the wall clock).
	cctx, cancel := context.WithTimeout(ctx, min(job.Deadline.Sub(r.now()), r.cfg.Timeout))
	defer cancel()
	req := municipal.Request{Holder: holder, Type: o.Type, Copies: o.Copies, Options: municipal.Options{
		Household: o.Options.Household, Honseki: o.Options.Honseki, Relation: o.Options.Relation,
		MyNumber: o.Options.MyNumber, Year: o.Options.Year}}
	facts, pdf, err := r.issue(cctx, o.Municipality, req)
	if err == nil {
		err = r.check(ctx, o.Municipality, o.Type, facts, pdf)
	}
	if err != nil {
		reason := "failed"
		var re *RefusedError
		switch {
		case errors.As(err, &re):
			reason = string(re.Code)
		case errors.Is(err, ErrUnreachable):
			reason = "timeout"
		case errors.Is(err, ErrBadAnswer):
			reason = "bad_answer"
		}
		// Cancel with a fresh context: the request's may be what ran out.
		if cerr := r.s.Cancel(context.WithoutCancel(ctx), job.ID, reason); cerr != nil && !errors.Is(cerr, ErrJobGone) {
			r.log.ErrorContext(ctx, "cancel job after a failed render", "job", job.ID, "err", cerr)
		}
		return nil, err
	}
	if err := r.s.Rendered(ctx, job.ID, facts.Number, facts.FeeYen, pdf); err != nil {
		// The PDF is dropped. The job is cancelled whole now rather than at
		// the next Expire: left requested, a re-sent order would be told
		// to wait for a render that will never be stored.
		reason := "failed"
		if errors.Is(err, ErrJobGone) {
			reason = "timeout" // the deadline passed meanwhile (or it was cancelled, which Cancel leaves alone)
		}
		if cerr := r.s.Cancel(context.WithoutCancel(ctx), job.ID, reason); cerr != nil && !errors.Is(cerr, ErrJobGone) {
			r.log.ErrorContext(ctx, "cancel job after a refused render", "job", job.ID, "err", cerr)
		}
		return nil, err
	}
	job.State, job.CertNumber, job.Fee = Rendered, facts.Number, facts.FeeYen
	sum := sha256.Sum256(pdf)
	job.PDFSHA256 = hex.EncodeToString(sum[:])
	r.log.InfoContext(ctx, "certificate rendered for a kiosk", "kiosk", kiosk, "job", job.ID, "municipality", o.Municipality,
		"type", string(o.Type), "number", facts.Number)
	return job, nil
}

// check is the relay's check of an issuance server's answer.
func (r *Relay) check(ctx context.Context, code string, t municipal.CertType, c *municipal.Certificate, pdf []byte) error {
	sum := sha256.Sum256(pdf)
	switch {
	case c.Type != t:
		return fmt.Errorf("%w: asked for %s, got %s", ErrBadAnswer, t, c.Type)
	case c.Municipality != code:
		return fmt.Errorf("%w: asked %s, answered by %s", ErrBadAnswer, code, c.Municipality)
	case !strings.HasPrefix(c.Number, code+"-"):
		return fmt.Errorf("%w: number %q", ErrBadAnswer, c.Number)
	case hex.EncodeToString(sum[:]) != c.SHA256:
		return fmt.Errorf("%w: digest differs", ErrBadAnswer)
	}
	sm, err := SealMunicipality(code)
	if err != nil {
		return err
	}
	if err := r.cfg.Seal.CheckSealed(sm, pdf); err != nil {
		return fmt.Errorf("%w: %w", ErrBadAnswer, err)
	}
	// The facts are the issuance server's word; the seal register has what
	// was rendered under that number (AntiForgery.Decorate), so a 戸籍
	// labelled 住民票, or a certificate sealed without the relay's
	// anti-forgery, stops here.
	registered, err := r.cfg.Seal.RegisteredType(ctx, code, c.Number)
	switch {
	case errors.Is(err, seal.ErrUnknown):
		return fmt.Errorf("%w: %s is not in the seal register", ErrBadAnswer, c.Number)
	case err != nil:
		return err
	case registered != t.Title():
		return fmt.Errorf("%w: asked for %s, %s was registered as %s", ErrBadAnswer, t.Title(), c.Number, registered)
	}
	return nil
}

// Print hands out the PDF of a rendered job to its kiosk and holder, once.
// Printing is what is charged: a retried print answers the printed job
// with Replayed and no PDF.
func (r *Relay) Print(ctx context.Context, kiosk, assertion, jobID string) (*Job, error) {
	c, err := r.claims(ctx, kiosk, assertion)
	if err != nil {
		return nil, err
	}
	return r.s.Print(ctx, kiosk, c.Subject, jobID)
}

// CancelJob cancels a job of this kiosk that was not printed (the holder
// took their card and left).
func (r *Relay) CancelJob(ctx context.Context, kiosk, jobID, reason string) error {
	j, err := r.s.Job(ctx, jobID)
	if err != nil {
		return err
	}
	if j.Kiosk != kiosk {
		return ErrNotYours
	}
	return r.s.Cancel(ctx, jobID, reason)
}

// issue calls the issuance server.
func (r *Relay) issue(ctx context.Context, code string, req municipal.Request) (*municipal.Certificate, []byte, error) {
	resp, err := r.do(ctx, code, http.MethodPost, "certificates", req)
	if err != nil {
		return nil, nil, err
	}
	var facts municipal.Certificate
	if err := json.Unmarshal([]byte(resp.Header.Get(municipal.CertificateHeader)), &facts); err != nil {
		return nil, nil, fmt.Errorf("%w: certificate facts: %w", ErrBadAnswer, err)
	}
	return &facts, resp.Body, nil
}

// maxPDF bounds a certificate PDF (ten copies of a long 戸籍 are far less).
const maxPDF = 16 << 20

// call sends in as JSON (none when nil) and decodes a JSON answer into out.
func (r *Relay) call(ctx context.Context, code, method, path string, in, out any) error {
	resp, err := r.do(ctx, code, method, path, in)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(resp.Body, out); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrBadAnswer, code, err)
	}
	return nil
}

// do makes one call to a municipality's API: a problem becomes a
// *RefusedError (with the municipality's messages), and no answer in time
// or no problem ErrUnreachable.
func (r *Relay) do(ctx context.Context, code, method, path string, in any) (*httpapi.Response, error) {
	ep, ok := r.cfg.Endpoints[code]
	if !ok {
		return nil, fmt.Errorf("%w: municipality %s has no issuance server here", ErrInvalid, code)
	}
	c := &httpapi.Client{Service: "municipality " + code, BaseURL: ep.BaseURL, HTTP: r.cfg.HTTP, Auth: httpapi.Bearer(ep.Key),
		Rules: municipal.Rules, MaxBody: maxPDF}
	rq := httpapi.Request{Method: method, Path: "/municipal/" + code + "/v1/" + path}
	if in != nil {
		rq.JSON = in
	}
	resp, err := c.Do(ctx, rq)
	if e, ok := errors.AsType[*httpapi.Error](err); ok && !e.Bare {
		return nil, &RefusedError{Problem: e.Problem}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrUnreachable, code, err)
	}
	return resp, nil
}

// KosekiMatcher is the KosekiMatch of a relay whose 本籍地 are reached over
// their issuance APIs (POST /municipal/{code}/v1/koseki-match).
func (r *Relay) KosekiMatcher() KosekiMatch {
	return func(ctx context.Context, honseki string, h *jpki.Holder) ([]string, error) {
		var ans municipal.KosekiMatchAnswer
		err := r.call(ctx, honseki, http.MethodPost, "koseki-match", municipal.KosekiMatchRequest{
			Name: h.Name, BirthDate: h.BirthDate.In(wareki.JST()).Format(time.DateOnly), Sex: h.Sex}, &ans)
		var re *RefusedError
		if errors.As(err, &re) && re.Status == http.StatusNotFound {
			return nil, ErrNoKoseki
		}
		if err != nil {
			return nil, err
		}
		if len(ans.Mismatches) == 0 {
			return nil, nil
		}
		return ans.Mismatches, nil
	}
}

// RegistrationDocument is the document the holder of assertion signs to
// register with 本籍地 honseki.
func (r *Relay) RegistrationDocument(ctx context.Context, kiosk, assertion, honseki string) (RegistrationDoc, error) {
	h, err := r.holder(ctx, kiosk, assertion)
	if err != nil {
		return RegistrationDoc{}, err
	}
	if _, ok := r.cfg.Endpoints[honseki]; !ok {
		return RegistrationDoc{}, fmt.Errorf("%w: municipality %s does not issue at kiosks", ErrInvalid, honseki)
	}
	return RegistrationDoc{PlatformID: h.PlatformID, AuthSerial: h.Attributes.Certificate.Serial, Honseki: honseki,
		HonsekiName: MunicipalityName(honseki), At: r.now().Truncate(time.Second)}, nil
}

// Register files the signed registration: the document is built again from
// the holder's current attributes and the time it was shown.
func (r *Relay) Register(ctx context.Context, kiosk, assertion, honseki string, shownAt time.Time, certDER, sig []byte) (*Registration, error) {
	doc, err := r.RegistrationDocument(ctx, kiosk, assertion, honseki)
	if err != nil {
		return nil, err
	}
	doc.At = shownAt
	return r.s.Register(ctx, doc, certDER, sig)
}
