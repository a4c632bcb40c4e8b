package payenrol

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/cardco"
	"github.com/mynaplat/mynaplat/eligibility"
	"github.com/mynaplat/mynaplat/internal/browsertest"
	"github.com/mynaplat/mynaplat/internal/callerkey"
	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/internal/trace"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/wareki"
	"github.com/mynaplat/mynaplat/web"
)

const (
	payPAN     = "4111111111111111"
	paySignPIN = "SAKATA1975"
)

// TestPayPagesInBrowser links a card for payment on /pay/ in chromium: place
// the card, log in with the auth PIN through the platform, register the
// credit card at the company, sign the consent (once with a wrong password).
// The JPKI centre, the platform, the card company and the eligibility
// service each stand behind their own server, as mynaplat serve runs them,
// and the pages reach the service and the company only through their
// typed HTTP clients.
func TestPayPagesInBrowser(t *testing.T) {
	ctx := context.Background()
	db := storetest.SQLite(t)
	// The terminal signs its requests with the real time.
	now := time.Now

	centre, err := jpki.Open(ctx, jpki.Config{DB: db, Dir: t.TempDir(), BaseURL: "http://jpki.test", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	jmux := http.NewServeMux()
	centre.Routes(jmux)
	jsrv := httptest.NewServer(centre.Wrap(jmux))
	defer jsrv.Close()
	token, err := centre.AddOperator(ctx, "platform")
	if err != nil {
		t.Fatal(err)
	}
	plat, err := platform.Open(ctx, platform.Config{DB: db, Centre: &jpki.Client{BaseURL: jsrv.URL, Token: token}, Issuer: "https://platform.test", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	pmux := http.NewServeMux()
	plat.Routes(pmux)
	psrv := httptest.NewServer(pmux)
	defer psrv.Close()
	tkey, err := plat.RegisterTerminal(ctx, platform.Terminal{ID: "pay-kiosk-1", Kind: platform.Kiosk, Owner: "日本海総合病院", Name: "支払い登録端末"})
	if err != nil {
		t.Fatal(err)
	}

	// 酒田 一郎's card, with both certificates.
	cards, err := card.NewStore(t.TempDir(), now)
	if err != nil {
		t.Fatal(err)
	}
	ichiro := jpki.Resident{Name: "酒田　一郎", Kana: "サカタ　イチロウ", BirthDate: time.Date(1975, 6, 30, 0, 0, 0, 0, wareki.JST()),
		Sex: jpki.Male, Address: "山形県酒田市本町二丁目２番４５号", Municipality: "062049"}
	cd, err := cards.Create(card.Spec{Demo: true, AuthPIN: "1234", SignPIN: paySignPIN, TextPIN: "1234", MyNumber: "123456789018",
		Name: ichiro.Name, Address: ichiro.Address, BirthDate: ichiro.BirthDate.Format("20060102"), Sex: "1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := centre.IssueCard(ctx, ichiro, cd); err != nil {
		t.Fatal(err)
	}

	// The card company, with his credit card, and the service as its merchant.
	enrolKey := callerkey.New()
	co, err := cardco.Open(ctx, cardco.Config{DB: db, Now: now, Callers: callerkey.Keys{}.Add("terminals", enrolKey)})
	if err != nil {
		t.Fatal(err)
	}
	_, mkey, err := co.AddMerchant(ctx, "マイナンバーカード医療費支払い（プラットフォーム）")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := co.AddAccount(ctx, payPAN, "SAKATA ICHIRO", 100_000); err != nil {
		t.Fatal(err)
	}
	comux := http.NewServeMux()
	co.Routes(comux)
	cosrv := httptest.NewServer(comux)
	defer cosrv.Close()
	svc, err := eligibility.Open(ctx, eligibility.Config{DB: db, Now: now, Issuer: "https://platform.test",
		Keys:   func(context.Context) (platform.JWKS, error) { return plat.PublicKeys(), nil },
		CardCo: &cardco.Client{BaseURL: cosrv.URL, MerchantKey: mkey, HTTP: &http.Client{Timeout: 10 * time.Second}},
		Payment: eligibility.PaymentConfig{
			SignCA:           centre.CA(jpki.Sign),
			OCSP:             func(ctx context.Context, req []byte) ([]byte, error) { return centre.Respond(ctx, req), nil },
			PersonAttributes: plat.PersonAttributes, // the platform's own answer of a platform ID's attributes
		}})
	if err != nil {
		t.Fatal(err)
	}
	emux := http.NewServeMux()
	svc.ResidentRoutes(emux)
	esrv := httptest.NewServer(trace.Middleware(emux))
	defer esrv.Close()

	site, err := web.New(ctx, web.Options{DB: db, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	hc := httpapi.NewHTTPClient(10 * time.Second)
	pp, err := New(Config{Eligibility: &eligibility.ResidentClient{BaseURL: esrv.URL, HTTP: hc}, Site: site, Cards: cards,
		PlatformURL: psrv.URL, HTTP: hc, Now: now,
		Terminal: terminal.Config{ID: "pay-kiosk-1", Kind: platform.Kiosk, Owner: "日本海総合病院", Name: "支払い登録端末", Key: tkey, Reader: "virtual"},
		Enrol:    cardco.NewEnrolClient(cosrv.URL, enrolKey, hc)})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	site.Routes(mux)
	pp.Routes(mux)
	srv := httptest.NewServer(site.Protect(mux))
	defer srv.Close()

	b := browsertest.New(t)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	step := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(b, actions...); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(b, chromedp.Text(css(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}

	step("open", chromedp.Navigate(srv.URL+"/pay/"), chromedp.WaitVisible(css("#place")))
	browsertest.Screenshot(t, b, "pay-1-place")
	step("place", chromedp.Click(css("#place")), chromedp.WaitVisible(css("#pin")))
	browsertest.Screenshot(t, b, "pay-2-login")
	step("login", chromedp.SendKeys(css("#pin"), "1234"), chromedp.Click(css("#login")), chromedp.WaitVisible(css("#pan")))
	browsertest.Screenshot(t, b, "pay-3-enrol")
	step("enrol", chromedp.SendKeys(css("#pan"), payPAN), chromedp.SendKeys(css("#holder"), "SAKATA ICHIRO"),
		chromedp.SendKeys(css("#expiry"), now().AddDate(5, 0, 0).Format("01/06")),
		chromedp.Click(css("#enrol")), chromedp.WaitVisible(css("#consent")))
	if c := text("#consent"); !strings.Contains(c, "日本海総合病院などの医療機関での自己負担金を") || !strings.Contains(c, "末尾 1111") {
		t.Errorf("consent: %s", c)
	}
	browsertest.Screenshot(t, b, "pay-4-consent")
	step("wrong password", chromedp.SendKeys(css("#password"), "WRONG123"), chromedp.Click(css("#sign-ok")), chromedp.WaitVisible(css("#consent")))
	if f := text(".flash"); !strings.Contains(f, "残り 4 回") {
		t.Errorf("after a wrong password: %q", f)
	}
	browsertest.Screenshot(t, b, "pay-5-wrong-password")
	step("sign", chromedp.SendKeys(css("#password"), strings.ToLower(paySignPIN)), chromedp.Click(css("#sign-ok")), chromedp.WaitVisible(css("#linked")))
	if f := text(".flash"); !strings.Contains(f, "登録しました（カード末尾 1111）") {
		t.Errorf("after signing: %q", f)
	}
	if l := text("#linked-last4"); l != "1111" {
		t.Errorf("linked card %q", l)
	}
	browsertest.Screenshot(t, b, "pay-6-registered")

	// The link is the platform ID's, and the page's HTML never shows the
	// token or the card number.
	var pid string
	if err := db.QueryRowContext(ctx, `SELECT platform_id FROM elig_pay_links WHERE unlinked_at IS NULL`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	if l, err := svc.PaymentLinkOf(ctx, pid); err != nil || l.Last4 != "1111" {
		t.Fatalf("link %+v %v", l, err)
	}
	// The service audited the page's calls under the terminal the card was
	// used at: the reads of the page and the one link.
	var links, reads int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FILTER (WHERE action = 'link'), COUNT(*) FILTER (WHERE action = 'view')
FROM elig_pay_audit WHERE platform_id = $1 AND terminal = 'pay-kiosk-1'`, pid).Scan(&links, &reads); err != nil {
		t.Fatal(err)
	}
	if links != 1 || reads == 0 {
		t.Errorf("audit: %d links and %d reads, want 1 and some", links, reads)
	}
	html, err := chromedp.Run(b, chromedp.OuterHTML(css("html")))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(html, payPAN) || strings.Contains(html, "tok_") {
		t.Errorf("the page shows the card number or a token")
	}
}
