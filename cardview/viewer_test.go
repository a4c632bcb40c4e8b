package cardview_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/cardview"
	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/wareki"
	"github.com/mynaplat/mynaplat/web"
)

// A card is what the JPKI centre's counter personalises.
var _ jpki.CardWriter = (*card.Card)(nil)

const (
	viewerMyNumber = "987654321018"
	viewerSignPIN  = "SECRET77"
)

type viewerEnv struct {
	centre *jpki.Centre
	cards  *card.Store
	srv    *httptest.Server
	web    *webtest.Client // a browser that follows redirects
	logs   *bytes.Buffer
}

func newViewerEnv(t *testing.T) *viewerEnv {
	t.Helper()
	ctx := context.Background()
	now := func() time.Time { return time.Date(2026, 11, 24, 10, 0, 0, 0, wareki.JST()) }
	logs := &bytes.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	db := storetest.SQLite(t)
	srv := httptest.NewServer(nil)
	t.Cleanup(srv.Close)
	centre, err := jpki.Open(ctx, jpki.Config{DB: db, Dir: t.TempDir(), BaseURL: srv.URL, Now: now, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	site, err := web.New(ctx, web.Options{DB: db, Now: now, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	cards, err := card.NewStore(t.TempDir(), now)
	if err != nil {
		t.Fatal(err)
	}
	viewer, err := cardview.Pages(site, cards)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	centre.Routes(mux)
	site.Routes(mux)
	mux.Handle("/cards/", viewer)
	srv.Config.Handler = site.Protect(mux)
	return &viewerEnv{centre: centre, cards: cards, srv: srv, logs: logs, web: webtest.New(t, srv.URL).Follow(true)}
}

// issue makes a card with certificates, as the counter does.
func (e *viewerEnv) issue(t *testing.T, demo bool, birth time.Time) (*card.Card, *jpki.IssuedCard) {
	t.Helper()
	signPIN := viewerSignPIN
	if jpki.AgeOn(birth, time.Date(2026, 11, 24, 0, 0, 0, 0, wareki.JST())) < jpki.MinSigningAge {
		signPIN = ""
	}
	res := jpki.Resident{Name: "南砺　太郎", Kana: "ナント　タロウ", BirthDate: birth, Sex: jpki.Male,
		Address: "富山県南砺市荒木１５５０番地", Municipality: "162108"}
	cd, err := e.cards.Create(card.Spec{Label: "viewer test", Demo: demo, AuthPIN: "2468", SignPIN: signPIN, TextPIN: "1357",
		MyNumber: viewerMyNumber, Name: res.Name, Address: res.Address, BirthDate: birth.Format("20060102"), Sex: "1"})
	if err != nil {
		t.Fatal(err)
	}
	is, err := e.centre.IssueCard(context.Background(), res, cd)
	if err != nil {
		t.Fatal(err)
	}
	return cd, is
}

// showSign submits the signing password form of the card page and checks
// the answer's status and what it shows and must not show.
func (e *viewerEnv) showSign(t *testing.T, id, password string, status int, wants, unwanted []string) *webtest.Response {
	t.Helper()
	c := e.web.With(t)
	c.Step(webtest.Step{Name: "the card page has a form with a CSRF token", Path: "/cards/" + id, WantContains: []string{`name="csrf"`}})
	return c.Step(webtest.Step{Name: "the signing password", Path: "/cards/" + id + "/sign", Form: url.Values{"password": {password}},
		WantStatus: status, WantContains: wants, WantNotContains: unwanted})
}

func TestViewerList(t *testing.T) {
	e := newViewerEnv(t)
	demo, _ := e.issue(t, true, time.Date(1975, 5, 1, 0, 0, 0, 0, wareki.JST()))
	plain, _ := e.issue(t, false, time.Date(2015, 5, 1, 0, 0, 0, 0, wareki.JST()))
	for _, tt := range []struct{ lang, want string }{{"ja", "デモ用暗証番号"}, {"en", "Demo PINs"}} {
		e.web.SetCookie("lang", tt.lang)
		e.web.With(t).Step(webtest.Step{Name: tt.lang + " list", Path: "/cards/",
			WantContains: []string{tt.want, demo.ID(), plain.ID(), "南砺　太郎", "viewer test", "3/3",
				"<code>2468</code>", "<code>" + viewerSignPIN + "</code>", "<code>1357</code>", "<code>" + demo.Info().DemoPINs.PINB + "</code>"},
			WantNotContains: []string{viewerMyNumber},
			Check: func(t testing.TB, r *webtest.Response) {
				// Only the demo card shows its PINs: one of each.
				if n := strings.Count(r.Body, "<code>2468</code>"); n != 1 {
					t.Errorf("auth PIN shown %d times, want once (demo card only)", n)
				}
			}})
	}
}

func TestViewerCard(t *testing.T) {
	e := newViewerEnv(t)
	cd, is := e.issue(t, false, time.Date(1980, 2, 29, 0, 0, 0, 0, wareki.JST()))
	for _, tt := range []struct {
		lang  string
		wants []string
	}{
		{"ja", []string{"利用者証明用電子証明書", "発行者", "有効期間（終了）", "令和", "暗証番号の状態", "署名用パスワードを入力したときだけ表示します"}},
		{"en", []string{"Authentication certificate", "Issuer", "Valid until", "PIN status", "shown only after the signing password"}},
	} {
		e.web.SetCookie("lang", tt.lang)
		e.web.With(t).Step(webtest.Step{Name: tt.lang + " card page", Path: "/cards/" + cd.ID(),
			WantContains: append(tt.wants, is.Auth.Serial, "O=JPKI-TEST", "RSA 2048 bit", "digitalSignature",
				"1.2.392.200149.8.5.1.3.30", e.srv.URL+"/jpki/crl/auth.crl", "directoryName: ", "3 / 3", "5 / 5",
				"JPKI for user authentication", "JPKI for digital signature"),
			// The signing certificate's personal data and the My Number stay hidden.
			// (Serials are per CA, so the signing serial may equal the auth one.)
			WantNotContains: []string{"富山県南砺市荒木", viewerMyNumber, "1.2.392.200149.8.5.5."}})
	}
	e.web.With(t).Step(webtest.Step{Name: "unknown card", Path: "/cards/nosuchcard", WantStatus: http.StatusNotFound})
}

func TestViewerSigningCertificate(t *testing.T) {
	e := newViewerEnv(t)
	cd, is := e.issue(t, false, time.Date(1980, 2, 29, 0, 0, 0, 0, wareki.JST()))
	id := cd.ID()

	tests := []struct {
		name     string
		password string
		status   int
		wants    []string
		tries    int // signing tries left afterwards
	}{
		{"bad format costs no try", "ab", http.StatusUnprocessableEntity, []string{"回数は減っていません"}, 5},
		{"wrong password", "WRONG999", http.StatusUnprocessableEntity, []string{"署名用電子証明書の暗証番号が違います。残り 4 回です。", "4 / 5"}, 4},
		{"right password, lower case", strings.ToLower(viewerSignPIN), http.StatusOK, []string{
			`"mono">` + is.Sign.Serial + "<", "南砺　太郎", "319800229", "元号コード 3（昭和）", "昭和55年2月29日", "男性",
			"富山県南砺市荒木１５５０番地", "代替文字なし", "1.2.392.200149.8.5.5.1", "1.2.392.200149.8.5.5.6",
			"nonRepudiation", e.srv.URL + "/jpki/crl/sign.crl", "5 / 5"}, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			unwanted := []string{viewerMyNumber, viewerSignPIN, `value="` + tt.password}
			if len(tt.password) >= 6 {
				unwanted = append(unwanted, tt.password)
			}
			e.showSign(t, id, tt.password, tt.status, tt.wants, unwanted)
			if got := cd.Info().SignTriesLeft; got != tt.tries {
				t.Errorf("signing tries left %d, want %d", got, tt.tries)
			}
			// No PIN stays verified on the shared card.
			if _, err := card.NewClient(cd).Certificate(card.Sign); !errors.Is(err, card.ErrSecurityStatus) {
				t.Errorf("after the page, reading the signing certificate gives %v, want ErrSecurityStatus", err)
			}
		})
	}
	for _, secret := range []string{viewerSignPIN, strings.ToLower(viewerSignPIN), "WRONG999"} {
		if strings.Contains(e.logs.String(), secret) {
			t.Errorf("the log contains the password %q", secret)
		}
	}
}

func TestViewerBlockedPINs(t *testing.T) {
	e := newViewerEnv(t)
	cd, _ := e.issue(t, false, time.Date(1980, 2, 29, 0, 0, 0, 0, wareki.JST()))
	c := card.NewClient(cd)
	for range 3 {
		c.VerifyPIN(card.AuthPIN, "0000")
	}
	for range 4 {
		c.VerifyPIN(card.SignPIN, "WRONG999")
	}
	page := e.showSign(t, cd.ID(), "WRONG999", http.StatusForbidden, []string{"0 / 3", "0 / 5", "ロック中", "3 / 3"}, nil).Body
	// What to do is the terminal kit's one wording.
	lock := terminal.PINBlocked.Entry().DoJA
	if n := strings.Count(page, lock); n < 3 { // the problem, the auth row, the signing row
		t.Errorf("lock message shown %d times, want 3:\n%s", n, page)
	}
	e.web.SetCookie("lang", "en")
	e.web.With(t).Step(webtest.Step{Name: "English page", Path: "/cards/" + cd.ID(),
		WantContains: []string{"Blocked. " + terminal.PINBlocked.Entry().DoEN}})
}

func TestViewerUnder15(t *testing.T) {
	e := newViewerEnv(t)
	cd, _ := e.issue(t, false, time.Date(2015, 5, 1, 0, 0, 0, 0, wareki.JST()))
	e.web.With(t).Step(webtest.Step{Name: "card page", Path: "/cards/" + cd.ID(),
		WantContains:    []string{"15歳未満", "署名用電子証明書がないため設定されていません"},
		WantNotContains: []string{`name="password"`, "ロック中"}})
}

func TestViewerRefusesForgedPost(t *testing.T) {
	e := newViewerEnv(t)
	cd, _ := e.issue(t, false, time.Date(1980, 2, 29, 0, 0, 0, 0, wareki.JST()))
	e.web.With(t).Step(webtest.Step{Name: "forged post", Path: "/cards/" + cd.ID() + "/sign", Form: url.Values{"password": {viewerSignPIN}},
		NoToken: true, WantStatus: http.StatusForbidden})
}

func TestViewerSurface(t *testing.T) {
	e := newViewerEnv(t)
	cd, _ := e.issue(t, true, time.Date(1980, 2, 29, 0, 0, 0, 0, wareki.JST()))
	id, pinB := cd.ID(), cd.Info().DemoPINs.PINB
	if !strings.HasPrefix(pinB, "550229") || len(pinB) != 14 {
		t.Fatalf("demo 照合番号B %q: want 昭和55年2月29日 first", pinB)
	}
	wrong := "55022920000000"
	if wrong == pinB {
		wrong = "55022920000001"
	}
	tests := []struct {
		name   string
		pinB   string
		status int
		wants  []string
		tries  int // visual 照合番号B tries left afterwards
	}{
		{"bad format costs no try", "5502", http.StatusUnprocessableEntity, []string{"照合番号Bは数字14桁です"}, 10},
		{"wrong", wrong, http.StatusUnprocessableEntity, []string{"照合番号Bが違います（残り 9 回）", "9 / 10"}, 9},
		{"right", pinB, http.StatusOK, []string{`src="data:image/png;base64,`, "昭和55年2月29日", "男", "7100001/001 ← 7000023/001",
			"券面の署名", "検証成功", "10 / 10"}, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := e.web.With(t)
			c.Step(webtest.Step{Name: "the card page has the 照合番号B form", Path: "/cards/" + id,
				WantContains: []string{`action="/cards/` + id + `/surface"`, `name="pinb"`, pinB}})
			c.Step(webtest.Step{Name: "照合番号B", Path: "/cards/" + id + "/surface", Form: url.Values{"pinb": {tt.pinB}},
				WantStatus: tt.status, WantContains: tt.wants,
				WantNotContains: []string{viewerMyNumber, "検証失敗", `value="` + tt.pinB}})
			var got int
			for _, pt := range cd.Info().Tries {
				if pt.PIN == card.VisualPINB {
					got = pt.TriesLeft
				}
			}
			if got != tt.tries {
				t.Errorf("照合番号B tries left %d, want %d", got, tt.tries)
			}
			if _, err := card.NewClient(cd).CardFace(); !errors.Is(err, card.ErrSecurityStatus) {
				t.Errorf("after the page, reading the card face gives %v, want ErrSecurityStatus", err)
			}
		})
	}
	if strings.Contains(e.logs.String(), pinB) {
		t.Error("the log contains 照合番号B")
	}
}
