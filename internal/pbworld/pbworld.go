// Package pbworld builds the electronic post box's world for integration
// tests of packages postbox, agency and business: a JPKI centre behind an
// HTTP server that can be switched off, the common platform with a
// terminal for logins, an RFC 3161 TSA, the corporate registry, the
// register of 電子委任状, a validation policy as the server wires it
// (cmd/mynaplat/role.go, signaturePolicy), the post box and the agencies' and
// businesses' endpoints on one HTTP server, each endpoint able to fail or
// lose its answer; and the people, corporations and parties of the demo
// (demo/postbox.go) with helpers to log in, sign, empower, consent and
// issue.
//
// The clock is settable and starts a few days before the wall clock: the
// time-stamp library puts a wall-clock signing-time into its tokens, which
// the token's verification checks against the TSA certificate made at the
// world's clock, so the world must not run ahead of the wall clock.
package pbworld

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/agency"
	"github.com/mynaplat/mynaplat/business"
	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/cms"
	"github.com/mynaplat/mynaplat/corpreg"
	"github.com/mynaplat/mynaplat/delegation"
	"github.com/mynaplat/mynaplat/demo"
	"github.com/mynaplat/mynaplat/demo/people"
	"github.com/mynaplat/mynaplat/internal/trace"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/mynumber"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/postbox"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/tsa"
	"github.com/mynaplat/mynaplat/verify"
)

// Clock is a settable clock, safe for concurrent use.
type Clock struct{ ns atomic.Int64 }

// NewClock returns a clock set to t.
func NewClock(t time.Time) *Clock {
	c := &Clock{}
	c.Set(t)
	return c
}

// Now is the clock's time.
func (c *Clock) Now() time.Time { return time.Unix(0, c.ns.Load()) }

// Set sets the clock.
func (c *Clock) Set(t time.Time) { c.ns.Store(t.UnixNano()) }

// Advance moves the clock on by d and returns the new time.
func (c *Clock) Advance(d time.Duration) time.Time { return time.Unix(0, c.ns.Add(int64(d))) }

// Start is the world's start: five days before the wall clock, in whole
// seconds. Tests may move the clock on by up to four days.
func Start() time.Time { return time.Now().Add(-5 * 24 * time.Hour).Truncate(time.Second) }

// RevocationMaxAge is the policy's freshness bound of OCSP answers: the
// server's default (serve -revocation-max-age).
const RevocationMaxAge = 10 * time.Minute

// Resident is a person of the world with the PINs of their card: a demo
// card holder.
type Resident = people.Resident

// The residents, from the demo's list.
var (
	Ichiro = demoResident("酒田　一郎")
	Yumi   = demoResident("酒井　由美")
	// Hikari's demo card has its PIN blocked; the world issues her a fresh
	// card.
	Hikari = demoResident("本間　光")
)

func demoResident(name string) Resident {
	r, ok := people.Named(name)
	if !ok {
		panic("pbworld: no demo resident " + name)
	}
	return r
}

// IchiroNewAddress is where 酒田 一郎 moves.
const IchiroNewAddress = "山形県酒田市日吉町一丁目５番２７号"

// The corporations, businesses and agency are the demo's (package demo),
// so that the tests run the world a newcomer meets.
type (
	// Corporation is a corporation with its representative.
	Corporation = demo.Corporation
	// Firm is a business: its post-box party ID, corporation and roles.
	Firm = demo.Firm
)

var (
	Nissay    = demo.Nissay
	JapanPost = demo.JapanPost
	NHK       = demo.NHK
	// Firms are the businesses.
	Firms = demo.Firms
	// TaxSakata is the receiving agency of the tests.
	TaxSakata = demo.Offices[0]
	// IchiroRefs are 酒田 一郎's customer numbers at the businesses.
	IchiroRefs = demo.IchiroRefs
)

// PostboxTerminal is the terminal people log in at to open their post box.
const PostboxTerminal = "home-postbox-1"

// KojoType is the type of 日本生命's certificate.
const KojoType = "保険料控除証明書"

// Fault is what a party's endpoint does with the next requests.
type Fault int

// The faults.
const (
	// Up answers normally.
	Up Fault = iota
	// Down answers 503 without the receiver seeing the request.
	Down
	// DropAnswer lets the receiver act on the request, then loses its
	// answer: the post box sees 503.
	DropAnswer
)

type fault struct {
	f    Fault
	left int // requests still to fail; < 0 until cleared
}

// Representative is a corporation's representative with the key that
// stays with them and the registry's certificate.
type Representative struct {
	Corp Corporation
	Key  crypto.Signer
	Cert *x509.Certificate
}

// Person is a resident with their card; PlatformID and Assertion are set
// by Login.
type Person struct {
	Resident
	Card       *card.Card
	PlatformID string
	// Assertion is the platform's assertion of the last login, made at
	// the post box's terminal (PostboxTerminal).
	Assertion string
}

// World is the post box's world on one database.
type World struct {
	T     testing.TB
	Clock *Clock
	DB    *store.DB
	// Srv serves the platform, the TSA (/tsa), the registry, the register
	// of powers, the post box API and the parties' endpoints.
	Srv *httptest.Server
	Mux *http.ServeMux
	// JPKISrv serves the JPKI centre (OCSP, linkage, the feed).
	JPKISrv  *httptest.Server
	Centre   *jpki.Centre
	Plat     *platform.Platform
	Term     *terminal.Terminal
	TSAKeys  *tsa.Keys
	TSA      *tsa.Authority
	Stamper  cms.Stamper
	TSARoots *x509.CertPool
	Registry *corpreg.Registry
	Powers   *delegation.Service
	Policy   *verify.Policy
	Postbox  *postbox.Service
	Agency   *agency.Service
	Business *business.Service
	Cards    *card.Store
	// PartyKeys are the parties' keys at the post box, by party ID.
	PartyKeys map[string]string
	// Reps are the representatives, by 法人番号.
	Reps map[string]*Representative
	// InboundKeys are the keys the post box presents at the parties'
	// endpoints, by party ID.
	InboundKeys map[string]string

	jpkiDown atomic.Bool
	mu       sync.Mutex
	faults   map[string]*fault
	hits     map[string]int
	bodies   map[string][]byte
}

// New builds the world: every service, the corporations with their
// representatives, and the businesses and the tax office as parties of the
// post box with their keys exchanged.
func New(t testing.TB, db *store.DB) *World {
	t.Helper()
	ctx := context.Background()
	logger := slog.New(slog.DiscardHandler)
	w := &World{T: t, Clock: NewClock(Start()), DB: db, PartyKeys: map[string]string{}, InboundKeys: map[string]string{},
		Reps: map[string]*Representative{}, faults: map[string]*fault{}, hits: map[string]int{}, bodies: map[string][]byte{}}
	now := w.Clock.Now

	// The JPKI centre, behind a server that can be switched off.
	w.JPKISrv = httptest.NewServer(nil)
	t.Cleanup(w.JPKISrv.Close)
	var err error
	if w.Centre, err = jpki.Open(ctx, jpki.Config{DB: db, Dir: t.TempDir(), BaseURL: w.JPKISrv.URL, Now: now}); err != nil {
		t.Fatal(err)
	}
	jmux := http.NewServeMux()
	w.Centre.Routes(jmux)
	inner := w.Centre.Wrap(jmux)
	w.JPKISrv.Config.Handler = http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if w.jpkiDown.Load() {
			http.Error(rw, "down", http.StatusServiceUnavailable)
			return
		}
		inner.ServeHTTP(rw, r)
	})
	platToken, err := w.Centre.AddOperator(ctx, "platform")
	if err != nil {
		t.Fatal(err)
	}
	pbToken, err := w.Centre.AddOperator(ctx, "postbox")
	if err != nil {
		t.Fatal(err)
	}

	w.Mux = http.NewServeMux()
	w.Srv = httptest.NewServer(trace.Middleware(w.Mux))
	t.Cleanup(w.Srv.Close)
	hc := w.Srv.Client()

	// The platform and the terminal people log in at.
	if w.Plat, err = platform.Open(ctx, platform.Config{DB: db, Centre: &jpki.Client{BaseURL: w.JPKISrv.URL, Token: platToken},
		AuthCA: w.Centre.CA(jpki.Auth), SignCA: w.Centre.CA(jpki.Sign), Issuer: w.Srv.URL, RevocationMaxAge: RevocationMaxAge,
		Now: now, Logger: logger}); err != nil {
		t.Fatal(err)
	}
	w.Plat.Routes(w.Mux)
	term := platform.Terminal{ID: PostboxTerminal, Kind: platform.Mobile, Owner: "電子私書箱", Name: "自宅のパソコン（カードリーダー）"}
	tkey, err := w.Plat.RegisterTerminal(ctx, term)
	if err != nil {
		t.Fatal(err)
	}
	if w.Term, err = terminal.New(terminal.Config{ID: term.ID, Kind: term.Kind, Owner: term.Owner, Name: term.Name, Key: tkey},
		w.Srv.URL, hc); err != nil {
		t.Fatal(err)
	}
	w.Term.Client().Now = now
	if w.Cards, err = card.NewStore(t.TempDir(), now); err != nil {
		t.Fatal(err)
	}

	// The TSA.
	if w.TSAKeys, err = tsa.LoadOrCreate(filepath.Join(t.TempDir(), "tsa"), now); err != nil {
		t.Fatal(err)
	}
	w.TSA = tsa.New(w.TSAKeys, now, logger)
	w.Mux.Handle("POST /tsa", w.TSA.Handler())
	w.TSARoots = x509.NewCertPool()
	w.TSARoots.AddCert(w.TSAKeys.Root)
	w.Stamper = &tsa.Client{URL: w.Srv.URL + "/tsa", HTTP: hc}

	// The corporate registry and the register of powers.
	ca, err := corpreg.OpenAuthority(filepath.Join(t.TempDir(), "corpreg"), now)
	if err != nil {
		t.Fatal(err)
	}
	if w.Registry, err = corpreg.New(ctx, corpreg.Config{DB: db, Authority: ca, Now: now, Logger: logger}); err != nil {
		t.Fatal(err)
	}
	w.Registry.Routes(w.Mux)
	jc := &jpki.Client{BaseURL: w.JPKISrv.URL, HTTP: w.JPKISrv.Client()}
	signing := &jpki.SigningVerifier{CA: w.Centre.CA(jpki.Sign), OCSP: jc.OCSP, MaxAge: RevocationMaxAge}
	if w.Powers, err = delegation.New(ctx, delegation.Config{DB: db, Corporations: w.Registry, Verify: delegation.VerifyCMS(w.TSARoots),
		SignerPerson: delegation.PlatformSigner(w.Plat.SignerPerson), SignerRevoked: delegation.JPKIRevocation(signing, now),
		Now: now, Logger: logger}); err != nil {
		t.Fatal(err)
	}
	w.Powers.Routes(w.Mux)

	// The policy, the post box, the agencies and the businesses.
	w.Policy = &verify.Policy{Signing: signing, TSARoots: w.TSARoots, Delegation: delegation.Checker(w.Powers.Check),
		RequireTimestamp: true, Now: now}
	operator := &jpki.Client{BaseURL: w.JPKISrv.URL, Token: pbToken, HTTP: w.JPKISrv.Client()}
	keys := func(context.Context) (platform.JWKS, error) { return w.Plat.PublicKeys(), nil }
	if w.Postbox, err = postbox.Open(ctx, postbox.Config{DB: db, Policy: w.Policy, SignerPerson: w.Plat.SignerPerson,
		Feed: operator.Revocations, Linkage: operator.Linkage, Keys: keys, Issuer: w.Srv.URL, Terminal: PostboxTerminal,
		HTTP: hc, Now: now, Logger: logger}); err != nil {
		t.Fatal(err)
	}
	w.Postbox.Routes(w.Mux)
	if w.Agency, err = agency.Open(ctx, agency.Config{DB: db, Policy: w.Policy, HTTP: hc, Now: now, Logger: logger}); err != nil {
		t.Fatal(err)
	}
	w.Mux.Handle("POST /agency/{id}/v1/submissions", w.faulty(w.Agency.Receive()))
	if w.Business, err = business.Open(ctx, business.Config{DB: db, Policy: w.Policy, Stamper: w.Stamper, HTTP: hc,
		Render: business.LazyRender(""), Now: now, Logger: logger}); err != nil {
		t.Fatal(err)
	}
	w.Mux.Handle("POST /business/{id}/v1/address-notices", w.faulty(w.Business.ReceiveNotices()))

	// The corporations and their representatives; the businesses and the
	// tax office with their keys exchanged.
	for _, f := range Firms {
		w.AddFirm(f)
	}
	w.AddOffice(TaxSakata)
	return w
}

// Appoint registers a corporation and appoints its representative with a
// fresh key (which stays with the representative).
func (w *World) Appoint(c Corporation) *Representative {
	w.T.Helper()
	ctx := context.Background()
	if err := w.Registry.RegisterCorporation(ctx, c.Number, c.NameJA, c.Address); err != nil {
		w.T.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		w.T.Fatal(err)
	}
	cert, err := w.Registry.AppointRepresentative(ctx, c.Number, c.Representative, key.Public())
	if err != nil {
		w.T.Fatal(err)
	}
	r := &Representative{Corp: c, Key: key, Cert: cert}
	w.Reps[c.Number] = r
	return r
}

// AddFirm registers a firm's corporation with its representative, adds the
// firm to the businesses and makes it a party of the post box.
func (w *World) AddFirm(f Firm) {
	w.T.Helper()
	ctx := context.Background()
	w.Appoint(f.Corp)
	fk, err := w.Business.AddFirm(ctx, business.Firm{ID: f.ID, NameJA: f.Corp.NameJA, NameEN: f.Corp.NameEN, CorporateNumber: f.Corp.Number})
	if err != nil {
		w.T.Fatal(err)
	}
	pk, err := w.Postbox.AddParty(ctx, postbox.Party{ID: f.ID, NameJA: f.Corp.NameJA, NameEN: f.Corp.NameEN, CorporateNumber: f.Corp.Number,
		Roles: f.Roles, Endpoint: w.Srv.URL + "/business/" + f.ID + "/v1/address-notices", OutKey: fk.Inbound})
	if err != nil {
		w.T.Fatal(err)
	}
	if err := w.Business.SetPostbox(ctx, f.ID, w.Srv.URL, pk); err != nil {
		w.T.Fatal(err)
	}
	w.PartyKeys[f.ID], w.InboundKeys[f.ID] = pk, fk.Inbound
}

// AddOffice adds a receiving agency and makes it a party of the post box.
func (w *World) AddOffice(o agency.Office) {
	w.T.Helper()
	ctx := context.Background()
	ok, err := w.Agency.AddOffice(ctx, o)
	if err != nil {
		w.T.Fatal(err)
	}
	pk, err := w.Postbox.AddParty(ctx, postbox.Party{ID: o.ID, NameJA: o.NameJA, NameEN: o.NameEN, Roles: []string{postbox.RoleSubmission},
		Endpoint: w.Srv.URL + "/agency/" + o.ID + "/v1/submissions", OutKey: ok.Inbound})
	if err != nil {
		w.T.Fatal(err)
	}
	if err := w.Agency.SetPostbox(ctx, o.ID, w.Srv.URL, pk); err != nil {
		w.T.Fatal(err)
	}
	w.PartyKeys[o.ID], w.InboundKeys[o.ID] = pk, ok.Inbound
}

// faulty wraps a party's endpoint with its fault.
func (w *World) faulty(h http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		w.mu.Lock()
		w.hits[id]++
		w.bodies[id] = body
		f := Up
		if ft := w.faults[id]; ft != nil && ft.left != 0 {
			f = ft.f
			if ft.left > 0 {
				ft.left--
			}
		}
		w.mu.Unlock()
		switch f {
		case Down:
			http.Error(rw, "down for the test", http.StatusServiceUnavailable)
		case DropAnswer:
			h.ServeHTTP(httptest.NewRecorder(), r)
			http.Error(rw, "the answer was lost", http.StatusServiceUnavailable)
		default:
			h.ServeHTTP(rw, r)
		}
	})
}

// SetFault makes a party's endpoint fail in the way f for its next times
// requests (until SetFault(id, Up, 0) when times is 0).
func (w *World) SetFault(partyID string, f Fault, times int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	left := times
	if times == 0 {
		left = -1
	}
	w.faults[partyID] = &fault{f: f, left: left}
}

// Hits is how many requests a party's endpoint has had.
func (w *World) Hits(partyID string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.hits[partyID]
}

// LastBody is the body of the last request to a party's endpoint.
func (w *World) LastBody(partyID string) []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.bodies[partyID]
}

// Endpoint is a party's endpoint URL.
func (w *World) Endpoint(partyID string) string { return w.Party(partyID).Endpoint }

// SetJPKIDown switches the JPKI centre's server off (503) or on.
func (w *World) SetJPKIDown(down bool) { w.jpkiDown.Store(down) }

// Person issues a card to a resident at the JPKI centre.
func (w *World) Person(r Resident) *Person {
	w.T.Helper()
	n, err := mynumber.New()
	if err != nil {
		w.T.Fatal(err)
	}
	sex := "1"
	if r.Sex == jpki.Female {
		sex = "2"
	}
	cd, err := w.Cards.Create(card.Spec{AuthPIN: r.AuthPIN, SignPIN: r.SignPIN, TextPIN: r.AuthPIN, MyNumber: n,
		Name: r.Name, Address: r.Address, BirthDate: r.BirthDate().Format("20060102"), Sex: sex})
	if err != nil {
		w.T.Fatal(err)
	}
	if _, err := w.Centre.IssueCard(context.Background(), r.JPKI(), cd); err != nil {
		w.T.Fatal(err)
	}
	return &Person{Resident: r, Card: cd}
}

// Login logs the person in at the terminal and returns their platform ID.
func (w *World) Login(p *Person) string {
	w.T.Helper()
	ar, err := w.Term.Login(context.Background(), p.Card, p.AuthPIN)
	if err != nil {
		w.T.Fatal(err)
	}
	if ar.Report.Result != platform.Passed {
		w.T.Fatalf("log in %s: %s %s", p.Name, ar.Report.Result, ar.Report.MessageEN)
	}
	p.PlatformID, p.Assertion = ar.Report.PlatformID, ar.Assertion
	return p.PlatformID
}

// Sign has a card sign post-box content with its signing key, time-stamped.
func (w *World) Sign(cd *card.Card, password string, c *verify.Content) []byte {
	w.T.Helper()
	body, err := c.Marshal()
	if err != nil {
		w.T.Fatal(err)
	}
	return w.SignBytes(cd, password, body)
}

// SignBytes has a card sign any content, time-stamped.
func (w *World) SignBytes(cd *card.Card, password string, body []byte) []byte {
	w.T.Helper()
	var out []byte
	err := terminal.WithSigner(cd, password, func(cert *x509.Certificate, signer crypto.Signer) error {
		var err error
		out, err = cms.Sign(context.Background(), body, cms.SignOptions{Signer: signer, Cert: cert, Stamper: w.Stamper})
		return err
	})
	if err != nil {
		w.T.Fatal(err)
	}
	return out
}

// SignAs is Sign with the person's card and password.
func (w *World) SignAs(p *Person, c *verify.Content) []byte {
	w.T.Helper()
	return w.Sign(p.Card, p.SignPIN, c)
}

// SigningCert reads the person's current signing certificate from the card.
func (w *World) SigningCert(p *Person) *x509.Certificate {
	w.T.Helper()
	var out *x509.Certificate
	if err := terminal.WithSigner(p.Card, p.SignPIN, func(cert *x509.Certificate, _ crypto.Signer) error {
		out = cert
		return nil
	}); err != nil {
		w.T.Fatal(err)
	}
	return out
}

// Box opens the person's post box (they must have logged in).
func (w *World) Box(p *Person) *postbox.Box {
	w.T.Helper()
	if p.PlatformID == "" {
		w.T.Fatalf("%s has not logged in", p.Name)
	}
	b, err := w.Postbox.OpenBox(context.Background(), p.PlatformID)
	if err != nil {
		w.T.Fatal(err)
	}
	return b
}

// Party returns a party of the post box.
func (w *World) Party(id string) *postbox.Party {
	w.T.Helper()
	p, err := w.Postbox.Party(context.Background(), id)
	if err != nil {
		w.T.Fatal(err)
	}
	return p
}

// Consent has the person sign ConsentContent for a party and records it;
// it returns the post box's answer.
func (w *World) Consent(p *Person, box *postbox.Box, partyID, ref string, deliver, notice bool) error {
	w.T.Helper()
	signed := w.SignAs(p, postbox.ConsentContent(w.Party(partyID), ref, deliver, notice, w.Clock.Now().UTC()))
	return w.Postbox.Consent(context.Background(), box, partyID, ref, deliver, notice, signed)
}

// Customer records the resident as a firm's customer under ref, as they
// are before any move.
func (w *World) Customer(firmID, ref string, r Resident) {
	w.T.Helper()
	if err := w.Business.PutCustomer(context.Background(), firmID, business.Customer{Ref: ref, Name: r.Name,
		BirthDate: r.BirthDate(), Address: r.Address}); err != nil {
		w.T.Fatal(err)
	}
}

// NewPower is a power of attorney of a corporation's representative for an
// agent (who must have logged in), with a fresh ID.
func (w *World) NewPower(c Corporation, agent *Person, powers []string, from, to time.Time) *delegation.Power {
	w.T.Helper()
	id, err := delegation.NewID()
	if err != nil {
		w.T.Fatal(err)
	}
	return &delegation.Power{ID: id, Principal: delegation.Principal{CorporateNumber: c.Number, CorporationName: c.NameJA,
		RepresentativeName: c.Representative}, Agent: delegation.Agent{PlatformID: agent.PlatformID, Name: agent.Name},
		Powers: powers, NotBefore: from.Truncate(time.Second), NotAfter: to.Truncate(time.Second)}
}

// SignPower signs a power's canonical form with a key and certificate,
// time-stamped.
func (w *World) SignPower(p *delegation.Power, key crypto.Signer, cert *x509.Certificate) []byte {
	w.T.Helper()
	body, err := p.Canonical()
	if err != nil {
		w.T.Fatal(err)
	}
	der, err := cms.Sign(context.Background(), body, cms.SignOptions{Signer: key, Cert: cert, Stamper: w.Stamper})
	if err != nil {
		w.T.Fatal(err)
	}
	return der
}

// Empower has the corporation's representative sign a power for the agent
// over powers from an hour ago for a year, registers it and gives it to the
// firm for its issuing. It returns the power and its signed CMS.
func (w *World) Empower(firmID string, c Corporation, agent *Person, powers ...string) (*delegation.Power, []byte) {
	w.T.Helper()
	now := w.Clock.Now()
	return w.EmpowerFor(firmID, c, agent, now.Add(-time.Hour), now.AddDate(1, 0, 0), powers...)
}

// EmpowerFor is Empower for a period.
func (w *World) EmpowerFor(firmID string, c Corporation, agent *Person, from, to time.Time, powers ...string) (*delegation.Power, []byte) {
	w.T.Helper()
	p := w.NewPower(c, agent, powers, from, to)
	rep := w.Reps[c.Number]
	signed := w.SignPower(p, rep.Key, rep.Cert)
	if _, err := w.Powers.Register(context.Background(), signed); err != nil {
		w.T.Fatal(err)
	}
	w.GivePower(firmID, p, signed)
	return p, signed
}

// GivePower gives a signed power (registered or not) to a firm under the
// power's ID.
func (w *World) GivePower(firmID string, p *delegation.Power, signed []byte) {
	w.T.Helper()
	if err := w.Business.AddPower(context.Background(), firmID, business.Power{ID: p.ID, Agent: p.Agent.Name,
		DocTypes: p.Powers, Signed: signed}); err != nil {
		w.T.Fatal(err)
	}
}

// SubDelegate has the agent of a parent power sign, with their card, a
// sub-delegation to another person (who must have logged in) and registers
// it; it returns the power, its CMS and Register's answer.
func (w *World) SubDelegate(parent *delegation.Power, agent, to *Person, powers []string, from, until time.Time) (*delegation.Power, []byte, error) {
	w.T.Helper()
	c := w.NewPower(Corporation{Number: parent.Principal.CorporateNumber, NameJA: parent.Principal.CorporationName,
		Representative: parent.Principal.RepresentativeName}, to, powers, from, until)
	c.Parent = parent.ID
	body, err := c.Canonical()
	if err != nil {
		w.T.Fatal(err)
	}
	signed := w.SignBytes(agent.Card, agent.SignPIN, body)
	_, err = w.Powers.Register(context.Background(), signed)
	return c, signed, err
}

// RevokePower has the corporation's representative revoke a power.
func (w *World) RevokePower(c Corporation, p *delegation.Power) {
	w.T.Helper()
	body, err := delegation.Revocation{PowerID: p.ID, CorporateNumber: c.Number}.Canonical()
	if err != nil {
		w.T.Fatal(err)
	}
	rep := w.Reps[c.Number]
	der, err := cms.Sign(context.Background(), body, cms.SignOptions{Signer: rep.Key, Cert: rep.Cert, Stamper: w.Stamper})
	if err != nil {
		w.T.Fatal(err)
	}
	if _, err := w.Powers.Revoke(context.Background(), p.ID, der); err != nil {
		w.T.Fatal(err)
	}
}

// KojoRequest is the request for 酒田 一郎's 保険料控除証明書 from 日本生命.
func KojoRequest(deliveryID, powerID, staff string) business.IssueRequest {
	ref := IchiroRefs["nissay"]
	return business.IssueRequest{DeliveryID: deliveryID, CustomerRef: ref, Type: KojoType, Title: "令和8年分 生命保険料控除証明書",
		PowerID: powerID, Staff: staff, Fields: []verify.Field{
			{Label: "証券番号", Value: ref},
			{Label: "保険契約者", Value: Ichiro.Name},
			{Label: "保険の種類", Value: "一般生命保険（新制度）"},
			{Label: "対象年", Value: "令和8年分"},
			{Label: "証明額（1月〜12月の払込予定額）", Value: "96,000円"},
		}}
}

// Issue has the employee's card sign a document of a firm through
// business.Issue and returns the post box's document ID.
func (w *World) Issue(employee *Person, firmID string, req business.IssueRequest) (string, error) {
	w.T.Helper()
	var id string
	err := terminal.WithSigner(employee.Card, employee.SignPIN, func(cert *x509.Certificate, signer crypto.Signer) error {
		var err error
		id, err = w.Business.Issue(context.Background(), firmID, req, cert, signer)
		return err
	})
	return id, err
}

// Document reads a document of a box as its owner.
func (w *World) Document(box *postbox.Box, id string) *postbox.Document {
	w.T.Helper()
	d, err := w.Postbox.Document(context.Background(), box, id, "owner")
	if err != nil {
		w.T.Fatal(err)
	}
	return d
}

// ApplicationType is the type of the applications the tests submit.
const ApplicationType = "確定申告書"

// ApplicationContent is an application to an office binding documents by
// their digests.
func (w *World) ApplicationContent(officeID string, docs ...*postbox.Document) *verify.Content {
	c := &verify.Content{Type: ApplicationType, Title: "令和8年分 所得税の確定申告書", IssuedAt: w.Clock.Now().UTC(), To: officeID,
		Fields: []verify.Field{{Label: "提出先", Value: officeID}, {Label: "所得の種類", Value: "給与所得"}}}
	for _, d := range docs {
		c.Attachments = append(c.Attachments, verify.Attachment{Name: d.Title, Type: d.Type, SHA256: d.SHA256()})
	}
	return c
}

// Submit has the person sign an application binding the documents and
// submits it to the office.
func (w *World) Submit(p *Person, box *postbox.Box, officeID string, docs ...*postbox.Document) (*postbox.Send, error) {
	w.T.Helper()
	app := w.SignAs(p, w.ApplicationContent(officeID, docs...))
	var ids []string
	for _, d := range docs {
		ids = append(ids, d.ID)
	}
	return w.Postbox.Submit(context.Background(), box, officeID, app, ids)
}

// DeliverDue runs one round of the post box's delivery.
func (w *World) DeliverDue() int {
	w.T.Helper()
	n, err := w.Postbox.DeliverDue(context.Background())
	if err != nil {
		w.T.Fatal(err)
	}
	return n
}

// Client is a party's client of the post box API.
func (w *World) Client(partyID string) *postbox.Client {
	return &postbox.Client{BaseURL: w.Srv.URL, Key: w.PartyKeys[partyID], HTTP: w.Srv.Client()}
}

// Scene is the demo's starting point: 酒田 一郎 and 酒井 由美 logged in,
// 日本生命's power for her, his consents to the three businesses whose
// customer he is, and the 保険料控除証明書 she issued into his box.
type Scene struct {
	Ichiro, Yumi *Person
	Box          *postbox.Box
	Power        *delegation.Power
	PowerCMS     []byte
	// KojoID is the certificate's ID in his box.
	KojoID string
}

// Demo sets up the Scene.
func (w *World) Demo() *Scene {
	w.T.Helper()
	s := &Scene{Ichiro: w.Person(Ichiro), Yumi: w.Person(Yumi)}
	w.Login(s.Ichiro)
	w.Login(s.Yumi)
	s.Power, s.PowerCMS = w.Empower("nissay", Nissay, s.Yumi, KojoType)
	s.Box = w.Box(s.Ichiro)
	for _, f := range Firms {
		ref := IchiroRefs[f.ID]
		w.Customer(f.ID, ref, Ichiro)
		if err := w.Consent(s.Ichiro, s.Box, f.ID, ref, w.Party(f.ID).Has(postbox.RoleDeliver), true); err != nil {
			w.T.Fatal(err)
		}
	}
	var err error
	if s.KojoID, err = w.Issue(s.Yumi, "nissay", KojoRequest("kojo-R8-"+IchiroRefs["nissay"], s.Power.ID, Yumi.Name)); err != nil {
		w.T.Fatal(err)
	}
	return s
}

// Tamper returns a copy of a CMS with one byte of its signed content
// changed: the first occurrence of old (which must be in the content) has
// its last byte flipped.
func Tamper(t testing.TB, der []byte, old string) []byte {
	t.Helper()
	i := bytes.Index(der, []byte(old))
	if i < 0 {
		t.Fatalf("%q is not in the CMS", old)
	}
	out := bytes.Clone(der)
	out[i+len(old)-1] ^= 0x01
	return out
}

// Digest is the hex SHA-256 of b.
func Digest(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// String names the person for test output.
func (p *Person) String() string { return fmt.Sprintf("%s (%s)", p.Name, p.PlatformID) }

// Move records the person's move at the JPKI centre (異動): their signing
// certificate is revoked (affiliationChanged) and a new one with the new
// address written to their card. It returns the old and the new
// certificate.
func (w *World) Move(p *Person, address string) (old, cur *x509.Certificate) {
	w.T.Helper()
	old = w.SigningCert(p)
	if _, err := w.Centre.ChangeAddress(context.Background(), p.Card.ID(), "", address, "", p.Card); err != nil {
		w.T.Fatal(err)
	}
	p.Address = address
	return old, w.SigningCert(p)
}

// AddressNotice has the person sign, with the certificate now on their
// card, the notice for a party under their customer number there.
func (w *World) AddressNotice(p *Person, partyID, ref string) []byte {
	w.T.Helper()
	return w.SignAs(p, postbox.AddressNoticeContent(w.Party(partyID), ref, w.Clock.Now().UTC()))
}
