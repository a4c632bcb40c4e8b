package card_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/wareki"
	"github.com/mynaplat/mynaplat/web"
)

const (
	viewerMyNumber = "987654321018"
	viewerSignPIN  = "SECRET77"
)

type viewerEnv struct {
	centre *jpki.Centre
	cards  *card.Store
	srv    *httptest.Server
	jar    http.CookieJar
	client *http.Client
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
	viewer, err := card.ViewerPages(site, cards)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	centre.Routes(mux)
	site.Routes(mux)
	mux.Handle("/cards/", viewer)
	srv.Config.Handler = site.Protect(mux)
	e := &viewerEnv{centre: centre, cards: cards, srv: srv, logs: logs}
	e.jar, _ = cookiejar.New(nil)
	e.client = &http.Client{Jar: e.jar}
	return e
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

func (e *viewerEnv) setLang(lang string) {
	u, _ := url.Parse(e.srv.URL)
	e.jar.SetCookies(u, []*http.Cookie{{Name: "lang", Value: lang, Path: "/"}})
}

func (e *viewerEnv) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := e.client.Get(e.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var csrfValue = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// showSign submits the signing password form of the card page.
func (e *viewerEnv) showSign(t *testing.T, id, password string) (int, string) {
	t.Helper()
	_, page := e.get(t, "/cards/"+id)
	m := csrfValue.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("card page has no form with a CSRF token")
	}
	resp, err := e.client.PostForm(e.srv.URL+"/cards/"+id+"/sign", url.Values{"csrf": {m[1]}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func contains(t *testing.T, what, page string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(page, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
}

func lacks(t *testing.T, what, page string, unwanted ...string) {
	t.Helper()
	for _, u := range unwanted {
		if strings.Contains(page, u) {
			t.Errorf("%s shows %q", what, u)
		}
	}
}

func TestViewerList(t *testing.T) {
	e := newViewerEnv(t)
	demo, _ := e.issue(t, true, time.Date(1975, 5, 1, 0, 0, 0, 0, wareki.JST()))
	plain, _ := e.issue(t, false, time.Date(2015, 5, 1, 0, 0, 0, 0, wareki.JST()))
	for _, tt := range []struct{ lang, want string }{{"ja", "デモ用暗証番号"}, {"en", "Demo PINs"}} {
		e.setLang(tt.lang)
		status, page := e.get(t, "/cards/")
		if status != http.StatusOK {
			t.Fatalf("%s: status %d", tt.lang, status)
		}
		contains(t, "list", page, tt.want, demo.ID(), plain.ID(), "南砺　太郎", "viewer test", "3/3",
			"<code>2468</code>", "<code>"+viewerSignPIN+"</code>", "<code>1357</code>")
		// Only the demo card shows its PINs: one of each.
		if n := strings.Count(page, "<code>2468</code>"); n != 1 {
			t.Errorf("auth PIN shown %d times, want once (demo card only)", n)
		}
		lacks(t, "list", page, viewerMyNumber)
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
		e.setLang(tt.lang)
		status, page := e.get(t, "/cards/"+cd.ID())
		if status != http.StatusOK {
			t.Fatalf("status %d", status)
		}
		contains(t, tt.lang+" card page", page, tt.wants...)
		contains(t, tt.lang+" card page", page, is.Auth.Serial, "O=JPKI-TEST", "RSA 2048 bit", "digitalSignature",
			"1.2.392.200149.8.5.1.3.30", e.srv.URL+"/jpki/crl/auth.crl", "directoryName: ", "3 / 3", "5 / 5",
			"JPKI for user authentication", "JPKI for digital signature")
		// The signing certificate's personal data and the My Number stay hidden.
		// (Serials are per CA, so the signing serial may equal the auth one.)
		lacks(t, tt.lang+" card page", page, "富山県南砺市荒木", viewerMyNumber, "1.2.392.200149.8.5.5.")
	}
	if status, _ := e.get(t, "/cards/nosuchcard"); status != http.StatusNotFound {
		t.Errorf("unknown card: %d", status)
	}
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
		{"wrong password", "WRONG999", http.StatusUnprocessableEntity, []string{"署名用パスワードが違います。あと4回", "4 / 5"}, 4},
		{"right password, lower case", strings.ToLower(viewerSignPIN), http.StatusOK, []string{
			`"mono">` + is.Sign.Serial + "<", "南砺　太郎", "319800229", "元号コード 3（昭和）", "昭和55年2月29日", "男性",
			"富山県南砺市荒木１５５０番地", "代替文字なし", "1.2.392.200149.8.5.5.1", "1.2.392.200149.8.5.5.6",
			"nonRepudiation", e.srv.URL + "/jpki/crl/sign.crl", "5 / 5"}, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, page := e.showSign(t, id, tt.password)
			if status != tt.status {
				t.Errorf("status %d, want %d", status, tt.status)
			}
			contains(t, "page", page, tt.wants...)
			lacks(t, "page", page, viewerMyNumber, viewerSignPIN, `value="`+tt.password)
			if len(tt.password) >= 6 {
				lacks(t, "page", page, tt.password)
			}
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
	status, page := e.showSign(t, cd.ID(), "WRONG999")
	if status != http.StatusForbidden {
		t.Errorf("last wrong try: status %d, want 403", status)
	}
	const lock = "暗証番号がロックされています。お住まいの市区町村の窓口で初期化してください。"
	if n := strings.Count(page, lock); n < 3 { // the problem, the auth row, the signing row
		t.Errorf("lock message shown %d times, want 3:\n%s", n, page)
	}
	contains(t, "page", page, "0 / 3", "0 / 5", "ロック中", "3 / 3")
	e.setLang("en")
	_, page = e.get(t, "/cards/"+cd.ID())
	contains(t, "English page", page, "The PIN is locked. Have it reset at the counter of your municipality.")
}

func TestViewerUnder15(t *testing.T) {
	e := newViewerEnv(t)
	cd, _ := e.issue(t, false, time.Date(2015, 5, 1, 0, 0, 0, 0, wareki.JST()))
	status, page := e.get(t, "/cards/"+cd.ID())
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	contains(t, "page", page, "15歳未満", "署名用電子証明書がないため設定されていません")
	lacks(t, "page", page, `name="password"`, "ロック中")
}

func TestViewerRefusesForgedPost(t *testing.T) {
	e := newViewerEnv(t)
	cd, _ := e.issue(t, false, time.Date(1980, 2, 29, 0, 0, 0, 0, wareki.JST()))
	resp, err := e.client.PostForm(e.srv.URL+"/cards/"+cd.ID()+"/sign", url.Values{"password": {viewerSignPIN}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("status %d, want 403", resp.StatusCode)
	}
}
