package staffdesk_test

import (
	"context"
	"crypto/x509"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/internal/trace"
	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/staffdesk"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/wareki"
	"github.com/mynaplat/mynaplat/web"
)

// deskID is the test's staff terminal; townBase is the configured host
// of the municipal offices.
const (
	deskID   = "staffdesk-test-1"
	deskPath = "/staffdesk/" + deskID + "/"
	townBase = "https://town.example"
)

// deskWorld is a JPKI centre, the platform and the staff terminal on one
// HTTP server (as `mynaplat serve` runs them), with a card store.
type deskWorld struct {
	centre *jpki.Centre
	plat   *platform.Platform
	cards  *card.Store
	srv    *httptest.Server
	now    func() time.Time
}

func newDeskWorld(t *testing.T, db *store.DB) *deskWorld {
	t.Helper()
	ctx := context.Background()
	// Real time: the desk's terminal signs its requests to the platform
	// with the clock of the machine, as a terminal does.
	now := time.Now
	// The platform asks the centre for its CAs as it opens: the server
	// answers with the mux as it grows.
	mux := http.NewServeMux()
	var h http.Handler = mux
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { h.ServeHTTP(rw, r) }))
	t.Cleanup(srv.Close)
	centre, err := jpki.Open(ctx, jpki.Config{DB: db, Dir: t.TempDir(), BaseURL: srv.URL, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	centre.Routes(mux)
	token, err := centre.AddOperator(ctx, "platform")
	if err != nil {
		t.Fatal(err)
	}
	plat, err := platform.Open(ctx, platform.Config{DB: db, Centre: &jpki.Client{BaseURL: srv.URL, Token: token},
		AuthCA: centre.CA(jpki.Auth), Issuer: srv.URL, RevocationMaxAge: time.Hour, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	tc := terminal.Config{ID: deskID, Kind: platform.StaffDesk, Owner: "酒田市役所", Name: "職員用端末（試験）", Reader: "virtual"}
	if tc.Key, err = plat.RegisterTerminal(ctx, platform.Terminal{ID: tc.ID, Kind: tc.Kind, Owner: tc.Owner, Name: tc.Name}); err != nil {
		t.Fatal(err)
	}
	site, err := web.New(ctx, web.Options{DB: db, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	cards, err := card.NewStore(t.TempDir(), now)
	if err != nil {
		t.Fatal(err)
	}
	desk, err := staffdesk.New(staffdesk.Config{Site: site, Cards: cards, Terminals: []terminal.Config{tc},
		Offices: map[string]string{"municipal": townBase}, PlatformURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	plat.Routes(mux)
	site.Routes(mux)
	desk.Routes(mux)
	h = trace.Middleware(site.Protect(centre.Wrap(mux)))
	return &deskWorld{centre: centre, plat: plat, cards: cards, srv: srv, now: now}
}

// staffCard is a card of a member of 酒田市's staff (PIN 1234), enrolled
// at the platform as the demo's staff are (their grants name the platform
// ID), with its platform ID.
func (w *deskWorld) staffCard(t *testing.T, name string) (*card.Card, *jpki.IssuedCard, string) {
	t.Helper()
	ctx := context.Background()
	birth := time.Date(1980, 4, 1, 0, 0, 0, 0, wareki.JST())
	cd, err := w.cards.Create(card.Spec{AuthPIN: "1234", SignPIN: "STAFF1980", TextPIN: "1234", MyNumber: "123456789018",
		Name: name, Address: "山形県酒田市本町二丁目２番４５号", BirthDate: birth.Format("20060102"), Sex: "1"})
	if err != nil {
		t.Fatal(err)
	}
	is, err := w.centre.IssueCard(ctx, jpki.Resident{Name: name, Kana: "ショクイン", BirthDate: birth, Sex: jpki.Male,
		Address: "山形県酒田市本町二丁目２番４５号", Municipality: "062049"}, cd)
	if err != nil {
		t.Fatal(err)
	}
	der, err := card.NewClient(cd).Certificate(card.Auth)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := w.plat.EnrolHolder(ctx, cert)
	if err != nil {
		t.Fatal(err)
	}
	return cd, is, pid
}

// start opens the desk for a sign-in at office with state, as the
// office's page sends the clerk there, and places cd.
func start(c *webtest.Client, office, state string, cd *card.Card) {
	c.Step(webtest.Step{Name: "the desk for " + office, Path: deskPath + "?" + url.Values{"office": {office}, "state": {state}}.Encode(),
		WantContains: []string{html.EscapeString(office)}})
	c.Step(webtest.Step{Name: "place the card", Path: deskPath + "place", Form: url.Values{"card": {cd.ID()}},
		WantStatus: http.StatusSeeOther})
}

// TestRefusedStaffCards: a staff card whose PIN is blocked and one whose
// certificate is revoked are refused at the desk with the kit's outcome
// in Japanese and in English; nothing is handed over (no assertion on any
// page, the login answers with the desk again); each attempt is in the
// platform's audit of its holder once: the revoked card's answer, and the
// blocked PIN as the desk's report of what the card said (PIN_BLOCKED,
// the PIN itself never leaves the card); the second try is stopped at the
// desk and reaches neither.
func TestRefusedStaffCards(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newDeskWorld(t, db)
		blocked, _, blockedPID := w.staffCard(t, "閉塞　一郎")
		cl := card.NewClient(blocked)
		for range 3 {
			if err := cl.VerifyPIN(card.AuthPIN, "0000"); err == nil {
				t.Fatal("a wrong PIN verified")
			}
		}
		revoked, revokedIs, revokedPID := w.staffCard(t, "失効　次郎")
		if err := w.centre.Revoke(ctx, jpki.Auth, revokedIs.Auth.Serial, jpki.KeyCompromise); err != nil {
			t.Fatal(err)
		}
		// The platform takes the new CRL now, not when its copy ages.
		if err := w.plat.RefreshCRL(ctx); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name    string
			cd      *card.Card
			pid     string
			outcome terminal.Outcome
			// audited is the platform's row of the attempts: action,
			// terminal, result, reason.
			audited []string
		}{
			{"blocked PIN", blocked, blockedPID, terminal.PINBlocked,
				[]string{platform.ActionPINRefusal + " " + deskID + " " + platform.ResultPINBlocked + " " + platform.PINRefusalReason(platform.PINAuth, 0)}},
			{"revoked certificate", revoked, revokedPID, terminal.Revoked,
				[]string{"authenticate " + deskID + " FAILED " + string(platform.ReasonRevoked) + ":keyCompromise"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := webtest.New(t, w.srv.URL)
				start(c, "municipal:062049", "st-"+tc.cd.ID(), tc.cd)
				noHandOver := []string{`name="assertion"`, `id="handoff"`, townBase}
				c.Step(webtest.Step{Name: "the PIN", Path: deskPath + "login", Form: url.Values{"pin": {"1234"}},
					WantStatus: http.StatusSeeOther, WantLocation: deskPath, WantNotContains: noHandOver})
				m := terminal.Result{Outcome: tc.outcome}.Message()
				c.Step(webtest.Step{Name: "the outcome in Japanese", Path: deskPath,
					WantContains: []string{html.EscapeString(m.JA), html.EscapeString(m.DoJA)}, WantNotContains: noHandOver})
				c.Step(webtest.Step{Name: "to English", Path: "/lang?" + url.Values{"to": {"en"}, "back": {deskPath}}.Encode(),
					WantStatus: http.StatusSeeOther})
				c.Step(webtest.Step{Name: "the outcome in English", Path: deskPath,
					WantContains: []string{html.EscapeString(m.EN), html.EscapeString(m.DoEN)}, WantNotContains: noHandOver})
				// Again: still refused, still nothing handed over.
				c.Step(webtest.Step{Name: "the PIN again", Path: deskPath + "login", Form: url.Values{"pin": {"1234"}},
					WantStatus: http.StatusSeeOther, WantLocation: deskPath, WantNotContains: noHandOver})

				audit, err := w.plat.AuditFor(ctx, tc.pid, "test", 50)
				if err != nil {
					t.Fatal(err)
				}
				var attempts []string
				for _, a := range audit {
					if a.Action == "authenticate" || a.Action == platform.ActionPINRefusal {
						attempts = append(attempts, a.Action+" "+a.TerminalID+" "+a.Result+" "+a.Reason)
					}
				}
				if diff := cmp.Diff(tc.audited, attempts); diff != "" {
					t.Errorf("the platform's audit of the holder (-want +got):\n%s", diff)
				}
			})
		}
	})
}

// TestUnknownOffice: an office the desk has no sign-in for (no
// staff.LoginPath) gets the 400 page, in Japanese and English, and the
// desk keeps nothing of it.
func TestUnknownOffice(t *testing.T) {
	w := newDeskWorld(t, storetest.SQLite(t))
	for _, office := range []string{"nosuch:1", "postbox-operator", "municipal:", "municipal:06/2049"} {
		t.Run(office, func(t *testing.T) {
			c := webtest.New(t, w.srv.URL)
			path := deskPath + "?" + url.Values{"office": {office}, "state": {"st"}}.Encode()
			c.Step(webtest.Step{Name: "Japanese", Path: path, WantStatus: http.StatusBadRequest,
				WantContains: []string{"この事務所にはログインできません", "事務所の画面からやり直してください。"}})
			c.Step(webtest.Step{Name: "to English", Path: "/lang?" + url.Values{"to": {"en"}, "back": {deskPath}}.Encode(),
				WantStatus: http.StatusSeeOther})
			c.Step(webtest.Step{Name: "English", Path: path, WantStatus: http.StatusBadRequest,
				WantContains: []string{"No sign-in for this office", "Start again from the office&#39;s page."}})
			c.Step(webtest.Step{Name: "the desk kept nothing", Path: deskPath, WantContains: []string{`id="desk-no-office"`},
				WantNotContains: []string{`id="desk-office"`}})
		})
	}
}

// TestHandOverAction: the hand-over form posts to the configured base URL
// of the office's kind joined to staff.LoginPath (this host for a kind
// with none), whatever the request says about hosts or places to go, with
// the sign-in's state; afterwards the desk keeps nothing.
func TestHandOverAction(t *testing.T) {
	w := newDeskWorld(t, storetest.SQLite(t))
	cd, _, _ := w.staffCard(t, "窓口　三郎")
	for _, tc := range []struct {
		name, office, want string
	}{
		{"a municipal office: its configured host", "municipal:062049", townBase + "/municipal/062049/office/login"},
		{"the counter: this host", "counter:062049", "/counter/login"},
		{"an insurer: this host", "insurer:06230012", "/insurer/06230012/login"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := webtest.New(t, w.srv.URL)
			c.Step(webtest.Step{Name: "the desk, with a forged place to go", Path: deskPath + "?" + url.Values{"office": {tc.office}, "state": {"st-1"},
				"action": {"https://evil.example/login"}, "back": {"https://evil.example/"}}.Encode(),
				Header: map[string]string{"X-Forwarded-Host": "evil.example", "Referer": "https://evil.example/"}})
			c.Step(webtest.Step{Name: "place the card", Path: deskPath + "place", Form: url.Values{"card": {cd.ID()}}, WantStatus: http.StatusSeeOther})
			c.Step(webtest.Step{Name: "the PIN", Path: deskPath + "login", Form: url.Values{"pin": {"1234"}, "action": {"https://evil.example/login"}},
				Header:          map[string]string{"X-Forwarded-Host": "evil.example"},
				WantContains:    []string{`<form method="post" action="` + tc.want + `" id="handoff">`, `name="state" value="st-1"`, `name="assertion" value="ey`},
				WantNotContains: []string{"evil.example"}})
			c.Step(webtest.Step{Name: "the desk kept nothing", Path: deskPath, WantContains: []string{`id="desk-no-office"`},
				WantNotContains: []string{`name="assertion"`}})
		})
	}
}
