package terminal_test

import (
	"context"
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
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/wareki"
	"github.com/mynaplat/mynaplat/web"
)

// TestWrongPINInTheHolderAudit: a wrong PIN at a terminal is refused by
// the card, and the terminal's report puts it on the holder's /me/audit
// with the tries left, in Japanese and English — for a holder who had
// never used the platform before, once they log in; the row names the
// terminal and its owner, and nothing of the PIN reaches the platform.
func TestWrongPINInTheHolderAudit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		hw := newHolderWorld(t, db)
		srv, tc, cd := hw.srv, hw.tc, hw.cd

		const base = "/t/kiosk-suzaka-9/"
		wrong := terminal.Result{Outcome: terminal.WrongPIN, TriesLeft: 2, Wrong: true}.Message()
		c := webtest.New(t, srv.URL)
		c.Run([]webtest.Step{
			{Name: "the terminal", Path: base},
			{Name: "place the card", Path: base + "place", Form: url.Values{"card": {cd.ID()}}, WantStatus: http.StatusSeeOther},
			{Name: "a wrong PIN", Path: base + "login", Form: url.Values{"pin": {"9876"}}, WantStatus: http.StatusSeeOther, WantLocation: base},
			{Name: "the card said 2 tries left", Path: base, WantContains: []string{html.EscapeString(wrong.JA)}},
			{Name: "the right PIN", Path: base + "login", Form: url.Values{"pin": {"1234"}}, WantStatus: http.StatusSeeOther, WantLocation: base + "result"},
			{Name: "the audit in Japanese", Path: "/me/audit", WantContains: []string{
				"カードが暗証番号を受け付けませんでした：利用者証明用電子証明書の暗証番号（数字4桁）", "暗証番号の誤り（残り 2 回）", "須坂市", "市役所 1階"}},
			{Name: "to English", Path: "/lang?" + url.Values{"to": {"en"}, "back": {"/me/audit"}}.Encode(), WantStatus: http.StatusSeeOther},
			{Name: "the audit in English", Path: "/me/audit", WantContains: []string{
				"The card refused the PIN of the authentication certificate (4 digits)", "Wrong PIN (2 tries left)"}},
		})

		// The platform's row: the terminal, the result, the tries left;
		// nothing of the PIN (9876) anywhere in it.
		var person, terminalID, result, reason, serial string
		if err := db.QueryRowContext(ctx, `SELECT person_id, terminal_id, result, reason, cert_serial FROM platform_audit WHERE action = $1`,
			platform.ActionPINRefusal).Scan(&person, &terminalID, &result, &reason, &serial); err != nil {
			t.Fatal(err)
		}
		got := []string{terminalID, result, reason}
		if diff := cmp.Diff([]string{tc.ID, platform.ResultPINWrong, "auth:2"}, got); diff != "" {
			t.Errorf("the row (-want +got):\n%s", diff)
		}
		for _, v := range []string{person, terminalID, result, reason, serial} {
			if v == "9876" {
				t.Errorf("the PIN is in the row: %q", got)
			}
		}
	})
}

// holderWorld is a centre, a platform, a kiosk's pages and the card of
// 須坂　花子, on one server, for tests of what the holder sees.
type holderWorld struct {
	srv  *httptest.Server
	plat *platform.Platform
	tc   terminal.Config
	cd   *card.Card
}

func newHolderWorld(t *testing.T, db *store.DB) *holderWorld {
	t.Helper()
	ctx := context.Background()
	now := time.Now // the terminal signs its requests with the machine's clock
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
		AuthCA: centre.CA(jpki.Auth), SignCA: centre.CA(jpki.Sign), Issuer: srv.URL, RevocationMaxAge: time.Hour, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { plat.Close() })
	tc := terminal.Config{ID: "kiosk-suzaka-9", Kind: platform.Kiosk, Owner: "須坂市", Name: "市役所 1階", Reader: "virtual"}
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
	birth := time.Date(1980, 4, 1, 0, 0, 0, 0, wareki.JST())
	cd, err := cards.Create(card.Spec{AuthPIN: "1234", SignPIN: "SUZAKA1980", TextPIN: "1234", MyNumber: "123456789018",
		Name: "須坂　花子", Address: "長野県須坂市大字須坂１５２８番地の１", BirthDate: birth.Format("20060102"), Sex: "2"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := centre.IssueCard(ctx, jpki.Resident{Name: "須坂　花子", Kana: "スザカ　ハナコ", BirthDate: birth, Sex: jpki.Female,
		Address: "長野県須坂市大字須坂１５２８番地の１", Municipality: "202070"}, cd); err != nil {
		t.Fatal(err)
	}
	pages, err := terminal.NewPages(terminal.PagesConfig{Site: site, Cards: cards, Terminals: []terminal.Config{tc}, PlatformURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	plat.Routes(mux)
	site.Routes(mux)
	pages.Routes(mux)
	h = trace.Middleware(site.Protect(centre.Wrap(mux)))
	return &holderWorld{srv: srv, plat: plat, tc: tc, cd: cd}
}
