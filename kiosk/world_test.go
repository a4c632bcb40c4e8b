package kiosk

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/demo/people"
	"github.com/mynaplat/mynaplat/internal/trace"
	"github.com/mynaplat/mynaplat/jlis"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/municipal"
	"github.com/mynaplat/mynaplat/mynumber"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/seal"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/wareki"
	"github.com/mynaplat/mynaplat/web"
)

// world is the whole コンビニ交付 on one HTTP server, as `mynaplat serve`
// runs it: a JPKI centre, the platform, every demo municipality's registers
// and issuance server (with the relay's anti-forgery), the seal register and
// /verify, and the relay; plus a card store.
type world struct {
	clock  atomic.Int64
	db     *store.DB
	srv    *httptest.Server
	mux    *http.ServeMux
	site   *web.Site
	centre *jpki.Centre
	plat   *platform.Platform
	muni   *municipal.Service
	demo   *municipal.DemoWorld
	seal   *seal.Service
	auth   *seal.Authority
	svc    *jlis.Service
	relay  *jlis.Relay
	// verifier and relayCfg are what svc and relay were opened with, for
	// further relay instances.
	verifier *jpki.SigningVerifier
	relayCfg jlis.RelayConfig
	cards    *card.Store

	mu     sync.Mutex
	issued map[string]*card.Card
	// logs are the log lines of the relay, the town and the seal, by role,
	// as mynaplat serve writes them (JSON, with trace_id).
	logs map[string]*logBuffer
}

// logBuffer is a log's lines, written by many requests at once.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// logger is the logger of role, into w.logs.
func (w *world) logger(role string) *slog.Logger {
	l := &logBuffer{}
	w.logs[role] = l
	return slog.New(trace.Handler(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelInfo})))
}

// worldNow is the tests' start: Tuesday 令和8年11月24日 10:00 JST, within
// every catalogue's hours.
var worldNow = time.Date(2026, 11, 24, 10, 0, 0, 0, wareki.JST())

func (w *world) now() time.Time { return time.Unix(0, w.clock.Load()) }

func (w *world) set(t time.Time) { w.clock.Store(t.UnixNano()) }

// Test PINs of the world's cards.
const (
	testPIN      = "1234"
	testPassword = "KIOSK2026"
)

func newWorld(t testing.TB, db *store.DB) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{db: db, issued: map[string]*card.Card{}, logs: map[string]*logBuffer{}}
	w.set(worldNow)
	w.mux = http.NewServeMux()
	var h http.Handler = w.mux
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { h.ServeHTTP(rw, r) }))
	t.Cleanup(w.srv.Close)
	var err error
	if w.centre, err = jpki.Open(ctx, jpki.Config{DB: db, Dir: t.TempDir(), BaseURL: w.srv.URL, Now: w.now}); err != nil {
		t.Fatal(err)
	}
	w.centre.Routes(w.mux)
	token, err := w.centre.AddOperator(ctx, "platform")
	if err != nil {
		t.Fatal(err)
	}
	if w.plat, err = platform.Open(ctx, platform.Config{DB: db, Centre: &jpki.Client{BaseURL: w.srv.URL, Token: token},
		AuthCA: w.centre.CA(jpki.Auth), Issuer: w.srv.URL, RevocationMaxAge: time.Hour, Now: w.now}); err != nil {
		t.Fatal(err)
	}
	w.plat.Routes(w.mux)
	if w.site, err = web.New(ctx, web.Options{DB: db, Now: w.now}); err != nil {
		t.Fatal(err)
	}
	w.site.Routes(w.mux)
	if w.muni, err = municipal.Open(ctx, municipal.Config{DB: db, Now: w.now, Logger: w.logger("town")}); err != nil {
		t.Fatal(err)
	}
	if w.demo, err = w.muni.SeedDemo(ctx, municipal.DemoResidents(people.Residents)); err != nil {
		t.Fatal(err)
	}
	if w.auth, err = seal.OpenAuthority(t.TempDir(), w.now); err != nil {
		t.Fatal(err)
	}
	if w.seal, err = seal.New(ctx, seal.Config{DB: db, Authority: w.auth, Now: w.now, Logger: w.logger("seal")}); err != nil {
		t.Fatal(err)
	}
	sp, err := seal.NewPages(w.site, w.seal)
	if err != nil {
		t.Fatal(err)
	}
	sp.Routes(w.mux)
	mp, err := municipal.NewPages(w.muni, w.site, jlis.AntiForgery{Register: w.seal})
	if err != nil {
		t.Fatal(err)
	}
	mp.Routes(w.mux)
	signCA := w.centre.CA(jpki.Sign)
	w.verifier = &jpki.SigningVerifier{CA: signCA, OCSP: func(ctx context.Context, req []byte) ([]byte, error) { return w.centre.Respond(ctx, req), nil }, MaxAge: time.Hour}
	if w.svc, err = jlis.Open(ctx, jlis.Config{DB: db, Now: w.now, Logger: w.logger("relay"), Verifier: w.verifier}); err != nil {
		t.Fatal(err)
	}
	eps := map[string]jlis.Endpoint{}
	for code, k := range w.demo.Keys {
		eps[code] = jlis.Endpoint{BaseURL: w.srv.URL, Key: k.Relay}
	}
	w.relayCfg = jlis.RelayConfig{Issuer: w.srv.URL,
		Keys:       func(context.Context) (platform.JWKS, error) { return w.plat.PublicKeys(), nil },
		Attributes: w.plat.PersonAttributes, Endpoints: eps, Seal: w.seal}
	if w.relay, err = jlis.NewRelay(w.svc, w.relayCfg); err != nil {
		t.Fatal(err)
	}
	w.relay.Routes(w.mux)
	h = trace.Middleware(w.site.Protect(w.mux))
	if w.cards, err = card.NewStore(t.TempDir(), w.now); err != nil {
		t.Fatal(err)
	}
	return w
}

// resident is the person of the demo registers of that name: a demo card
// holder or a refusal case.
func resident(t testing.TB, name string) municipal.DemoResident {
	t.Helper()
	for _, r := range municipal.DemoResidents(people.Residents) {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no demo resident %s", name)
	return municipal.DemoResident{}
}

// card issues (once) a card to the demo resident of that name, with the
// test PIN and signing password.
func (w *world) card(t testing.TB, name string) *card.Card {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	if cd, ok := w.issued[name]; ok {
		return cd
	}
	r := resident(t, name)
	birth, err := time.ParseInLocation(time.DateOnly, r.Birth, wareki.JST())
	if err != nil {
		t.Fatal(err)
	}
	sex := "1"
	if r.Sex == jpki.Female {
		sex = "2"
	}
	cd, err := w.cards.Create(card.Spec{AuthPIN: testPIN, SignPIN: testPassword, TextPIN: testPIN, MyNumber: myNumber(t),
		Name: r.Name, Address: r.Address, BirthDate: birth.Format("20060102"), Sex: sex})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.centre.IssueCard(context.Background(), jpki.Resident{Name: r.Name, Kana: r.Kana, BirthDate: birth,
		Sex: r.Sex, Address: r.Address, Municipality: r.Municipality}, cd); err != nil {
		t.Fatal(err)
	}
	w.issued[name] = cd
	return cd
}

// kioskTerm is a kiosk: its platform terminal and its relay client.
type kioskTerm struct {
	id     string
	term   *terminal.Terminal
	client *jlis.Client
}

// kiosk registers a kiosk with the platform and the relay.
func (w *world) kiosk(t testing.TB, id string) *kioskTerm {
	t.Helper()
	ctx := context.Background()
	tkey, err := w.plat.RegisterTerminal(ctx, platform.Terminal{ID: id, Kind: platform.Kiosk, Owner: "ローソン酒田本町店", Name: "マルチコピー機"})
	if err != nil {
		t.Fatal(err)
	}
	term, err := terminal.New(terminal.Config{ID: id, Kind: platform.Kiosk, Owner: "ローソン酒田本町店", Name: "マルチコピー機", Key: tkey},
		w.srv.URL, w.srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	term.Client().Now = w.now
	key, err := w.svc.AddKiosk(ctx, id, "ローソン酒田本町店")
	if err != nil {
		t.Fatal(err)
	}
	return &kioskTerm{id: id, term: term, client: &jlis.Client{BaseURL: w.srv.URL, Key: key, HTTP: patient(w.srv)}}
}

// login reads the card at the kiosk with the test PIN: the assertion.
func (k *kioskTerm) login(t testing.TB, cd *card.Card) string {
	t.Helper()
	ar, err := k.term.Login(context.Background(), cd, testPIN)
	if err != nil {
		t.Fatal(err)
	}
	if ar.Report.Result != platform.Passed {
		t.Fatalf("login: %+v", ar.Report)
	}
	return ar.Assertion
}

func myNumber(t testing.TB) string {
	t.Helper()
	n, err := mynumber.New()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// patient is a client of srv that waits longer than a kiosk would
// (httpapi.DefaultTimeout): the load tests' hundreds of simultaneous orders
// queue for a small machine's cores.
func patient(srv *httptest.Server) *http.Client {
	return &http.Client{Transport: srv.Client().Transport, Timeout: 3 * time.Minute}
}
