package main

import (
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mynaplat/mynaplat/internal/browsertest"
	"github.com/mynaplat/mynaplat/internal/keydir"
	"github.com/mynaplat/mynaplat/internal/layout"
	"github.com/mynaplat/mynaplat/internal/webtest"
)

// townLogin logs in at the town's site with the demo card cardID and pin,
// through the provider's card page, and returns the site's answer to the
// provider's redirect (its callback).
//
// At the provider's consent step (the site asks for name) the person
// agrees to what ticks names, nothing by default; a tick is then read from
// the card with the signing password.
func townLogin(t *testing.T, c *webtest.Client, cardID, pin, password string, ticks ...string) *webtest.Response {
	t.Helper()
	rel := func(abs string) string {
		t.Helper()
		p, ok := strings.CutPrefix(abs, c.Base())
		if !ok {
			t.Fatalf("%s is not on the server %s", abs, c.Base())
		}
		return p
	}
	r := c.Step(webtest.Step{Name: "log in at the town's site", Path: "/town/suzaka/login", WantStatus: http.StatusSeeOther})
	auth, err := url.Parse(r.Location())
	if err != nil {
		t.Fatal(err)
	}
	q := auth.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("acr_values") != "aal3" || q.Get("nonce") == "" || q.Get("state") == "" ||
		q.Get("client_id") != "RP00000001" {
		t.Fatalf("the authorization request %s", auth)
	}
	r = c.Get(rel(auth.String()))
	if r.Status != http.StatusFound && r.Status != http.StatusSeeOther {
		t.Fatalf("authorize: %d %s", r.Status, r.Body)
	}
	page := rel(r.Location())
	c.Step(webtest.Step{Name: "the card page", Path: page, WantContains: []string{"須坂市ウェブサイト"}})
	c.Step(webtest.Step{Name: "place the card", Path: page + "place", Form: url.Values{"card": {cardID}}, WantStatus: http.StatusSeeOther})
	r = c.Step(webtest.Step{Name: "the PIN", Path: page + "pin", Form: url.Values{"pin": {pin}}, WantStatus: http.StatusSeeOther})
	if next := r.Location(); strings.HasSuffix(next, page) && strings.Contains(c.Get(page).Body, `id="consent-form"`) {
		r = c.Step(webtest.Step{Name: "consent", Path: page + "consent", Form: url.Values{"decision": {"agree"}, "attr": ticks}, WantStatus: http.StatusSeeOther})
		if len(ticks) > 0 {
			c.Step(webtest.Step{Name: "the signing password step", Path: page, WantContains: []string{`id="sign-form"`}})
			r = c.Step(webtest.Step{Name: "the signing password", Path: page + "sign", Form: url.Values{"password": {password}}, WantStatus: http.StatusSeeOther})
		}
		r = c.Step(webtest.Step{Name: "the provider's callback", Path: rel(r.Location()), WantStatus: http.StatusFound})
	} else if strings.HasSuffix(next, page) {
		c.Step(webtest.Step{Name: "the refusal at the provider", Path: page, WantContains: []string{"サービスに戻る"}})
		r = c.Step(webtest.Step{Name: "back to the service", Path: page + "back", Form: url.Values{}, WantStatus: http.StatusSeeOther})
	} else {
		r = c.Step(webtest.Step{Name: "the provider's callback", Path: rel(next), WantStatus: http.StatusFound})
	}
	return c.Get(rel(r.Location()))
}

// TestTownwebEndToEnd: on serve --demo, a resident of 須坂市 logs in to the
// town's site with the virtual card (PKCE, private_key_jwt, the ID token
// checked), is greeted neutrally (no attribute consented), follows
// topics and sees their notices, marks one read, logs out at the
// provider, which ends its grant and sends the browser back; a revoked
// card ends on the site's refusal page with why.
func TestTownwebEndToEnd(t *testing.T) {
	bin := buildBinary(t)
	data := t.TempDir()
	base := startServer(t, bin, "--demo", "--data", data)
	c := webtest.New(t, base)
	c.Step(webtest.Step{Name: "the home page links the town's site", Path: "/", WantContains: []string{`href="/town/suzaka/"`}})
	c.Step(webtest.Step{Name: "the public top page", Path: "/town/suzaka/",
		WantContains: []string{"マイナンバーカードでログイン", "年末年始の市役所窓口について", "固定資産税"}})
	c.Step(webtest.Step{Name: "my notices need a login", Path: "/town/suzaka/my", WantStatus: http.StatusSeeOther, WantLocation: "/town/suzaka/"})

	start := time.Now()
	r := townLogin(t, c, demoCardID(t, bin, data, "須坂　花子"), "1234", "")
	t.Logf("one complete login (the site, the provider's card page, the platform, the token exchange): %v", time.Since(start))
	if r.Status != http.StatusSeeOther || r.Location() != "/town/suzaka/my" {
		t.Fatalf("the site's callback: %d %q\n%s", r.Status, r.Location(), r.Body)
	}
	c.Run([]webtest.Step{
		{Name: "my notices, no topic yet", Path: "/town/suzaka/my",
			WantContains:    []string{"マイナンバーカードでログインしました", "こんにちは。マイナンバーカードでログインしています。", `id="no-notices"`},
			WantNotContains: []string{"須坂　花子"}},
		{Name: "the topics", Path: "/town/suzaka/topics", WantContains: []string{`id="topic-childcare"`, "ごみ・リサイクル"}},
		{Name: "an unknown topic changes nothing", Path: "/town/suzaka/topics", Form: url.Values{"topic": {"childcare", "lottery"}},
			WantStatus: http.StatusBadRequest, WantContains: []string{"その分野はありません"}},
		{Name: "follow childcare and waste", Path: "/town/suzaka/topics", Form: url.Values{"topic": {"childcare", "waste"}},
			WantStatus: http.StatusSeeOther, WantLocation: "/town/suzaka/my"},
		{Name: "my notices", Path: "/town/suzaka/my",
			WantContains:    []string{"受け取る分野を保存しました", "子育て、ごみ・リサイクル", "児童手当の現況確認のお願い", "子育て支援センター", "年末年始のごみ収集日程", "未読: 3"},
			WantNotContains: []string{"インフルエンザ", "固定資産税"}},
		{Name: "mark one read", Path: "/town/suzaka/notices/n2026-102/read", Form: url.Values{},
			WantStatus: http.StatusSeeOther, WantLocation: "/town/suzaka/my#n2026-102"},
		{Name: "one fewer unread", Path: "/town/suzaka/my", WantContains: []string{"未読: 2", `id="n2026-102" data-topic="childcare" data-read="true"`}},
		{Name: "a notice that is not there", Path: "/town/suzaka/notices/n1999/read", Form: url.Values{}, WantStatus: http.StatusNotFound},
	})
	r = c.Step(webtest.Step{Name: "log out", Path: "/town/suzaka/logout", Form: url.Values{}, WantStatus: http.StatusSeeOther})
	end, err := url.Parse(r.Location())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(end.String(), base+"/api/realms/main/protocol/openid-connect/logout?") || end.Query().Get("id_token_hint") == "" ||
		end.Query().Get("post_logout_redirect_uri") != base+"/town/suzaka/logged-out" {
		t.Errorf("RP-initiated logout: %s", end)
	}
	// The provider ends the grant and sends the browser back to the
	// registered post-logout URI with the site's state.
	r = c.Get(strings.TrimPrefix(end.String(), base))
	back, _ := url.Parse(r.Location())
	if r.Status != http.StatusFound || back == nil || !strings.HasPrefix(back.String(), base+"/town/suzaka/logged-out") ||
		back.Query().Get("state") != end.Query().Get("state") {
		t.Errorf("end session at the provider: %d %s %s", r.Status, r.Location(), r.Body)
	}
	c.Step(webtest.Step{Name: "logged out here", Path: "/town/suzaka/my", WantStatus: http.StatusSeeOther, WantLocation: "/town/suzaka/"})

	// With name consented (read from the signing certificate), the site
	// greets the resident by name.
	r = townLogin(t, c, demoCardID(t, bin, data, "須坂　花子"), "1234", "SUZAKA1980", "name")
	if r.Status != http.StatusSeeOther || r.Location() != "/town/suzaka/my" {
		t.Fatalf("the site's callback with name: %d %q\n%s", r.Status, r.Location(), r.Body)
	}
	c.Step(webtest.Step{Name: "greeted by name", Path: "/town/suzaka/my", WantContains: []string{"須坂　花子"}})
	// The holder sees on /me/audit that the site received the name.
	me := c.Fresh()
	me.Run([]webtest.Step{
		{Name: "a kiosk", Path: "/t/kiosk-suzaka-1/"},
		{Name: "place the card at the kiosk", Path: "/t/kiosk-suzaka-1/place", Form: url.Values{"card": {demoCardID(t, bin, data, "須坂　花子")}},
			WantStatus: http.StatusSeeOther},
		{Name: "log in at the kiosk", Path: "/t/kiosk-suzaka-1/login", Form: url.Values{"pin": {"1234"}}, WantStatus: http.StatusSeeOther},
		{Name: "the holder's audit", Path: "/me/audit", WantContains: []string{
			`<span class="disclosure">須坂市ウェブサイト (RP00000001)に 氏名 を提供</span>`}},
	})

	// A lost card, revoked: the provider refuses it and the site says why.
	c2 := c.Fresh()
	r = townLogin(t, c2, demoCardID(t, bin, data, "鳥海　誠"), "3333", "")
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `id="refusal"`) || !strings.Contains(r.Body, "失効しています") ||
		!strings.Contains(r.Body, "access_denied / revoked") {
		t.Fatalf("the revoked card at the site: %d\n%s", r.Status, r.Body)
	}
	c2.Step(webtest.Step{Name: "no login after the refusal", Path: "/town/suzaka/my", WantStatus: http.StatusSeeOther})

	// A callback that is no answer to this browser's login is refused.
	c.Fresh().Step(webtest.Step{Name: "a forged callback", Path: "/town/suzaka/callback?code=x&state=y", WantStatus: http.StatusBadRequest,
		WantContains: []string{"安全のため使いませんでした"}})
}

// TestTownwebInBrowser walks the town's site on a 390×844 phone in
// chromium: the top page, the card login at the provider, choosing topics,
// my notices; then a revoked card's refusal page. Each screen fits the
// phone and is kept as a screenshot.
func TestTownwebInBrowser(t *testing.T) {
	b := browsertest.New(t)
	bin := buildBinary(t)
	data := t.TempDir()
	base := startServer(t, bin, "--demo", "--data", data)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	step := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(b, actions...); err != nil {
			browsertest.Screenshot(t, b, "townweb-failed")
			page, _ := chromedp.Run(b, chromedp.Evaluate[string](`document.body.innerText`))
			t.Fatalf("%s: %v\non the page:\n%s", name, err, page)
		}
	}
	fits := func(name string) {
		t.Helper()
		l, err := chromedp.Run(b, browsertest.MeasureLayout())
		if err != nil {
			t.Fatal(err)
		}
		if p := l.Problems(true); len(p) > 0 {
			t.Errorf("%s at 390 px: %s", name, strings.Join(p, "; "))
		}
	}
	shot := func(name string) { fits(name); browsertest.Screenshot(t, b, name) }

	step("the top page on a phone", chromedp.EmulateViewport(390, 844), chromedp.Navigate(base+"/town/suzaka/"), chromedp.WaitVisible(css("#login")))
	shot("townweb-1-top")
	step("log in", chromedp.Click(css("#login")), chromedp.WaitVisible(css("#pin")))
	shot("townweb-2-card-page")
	// The provider's card page: the card and its PIN in one post.
	step("the card and its PIN", chromedp.SetValue(css("#card"), demoCardID(t, bin, data, "須坂　花子")), browsertest.PinPad("1234"),
		chromedp.Click(css("#login")), chromedp.WaitVisible(css("#consent-form")))
	shot("townweb-3-consent")
	step("consent to the name", chromedp.Click(css("#attr-name")), chromedp.Click(css("#agree")), chromedp.WaitVisible(css("#password")))
	shot("townweb-3-signing-password")
	step("the signing password", chromedp.SendKeys(css("#password"), "SUZAKA1980"), chromedp.Click(css("#sign-ok")),
		chromedp.WaitVisible(css("#greeting")))
	if got := browsertest.Text(t, b, "#greeting"); !strings.Contains(got, "須坂　花子") {
		t.Errorf("the greeting with name consented: %q", got)
	}
	shot("townweb-3-my-empty")
	step("choose topics", chromedp.Click(css("#topics-link")), chromedp.WaitVisible(css("#topic-childcare")),
		chromedp.Click(css("#topic-childcare")), chromedp.Click(css("#topic-disaster")))
	shot("townweb-4-topics")
	step("save", chromedp.Click(css("#save-topics")), chromedp.WaitVisible(css("#n2026-104")))
	if got := browsertest.Text(t, b, "#follows"); got != "子育て、防災" {
		t.Errorf("the topics followed: %q", got)
	}
	shot("townweb-5-my-notices")
	// Logged out here at once; the provider's end-session endpoint ends
	// its grant and sends the browser back.
	step("log out", chromedp.Click(css("#logout")), chromedp.WaitNotPresent(css("#logout")),
		chromedp.Navigate(base+"/town/suzaka/"), chromedp.WaitVisible(css("#login")))

	// A child's card has no signing certificate: the provider says why the
	// name cannot be given and offers the login only.
	step("log in with a child's card", chromedp.Click(css("#login")), chromedp.WaitVisible(css("#pin")),
		chromedp.SetValue(css("#card"), demoCardID(t, bin, data, "須坂　陽菜")),
		browsertest.PinPad("3456"), chromedp.Click(css("#login")), chromedp.WaitVisible(css("#consent-form")),
		chromedp.Click(css("#attr-name")), chromedp.Click(css("#agree")), chromedp.WaitVisible(css("#no-signing-cert")))
	shot("townweb-child-no-signing-cert")
	step("the login only", chromedp.Click(css("#login-only")), chromedp.WaitVisible(css("#greeting")))
	if got := browsertest.Text(t, b, "#greeting"); strings.Contains(got, "陽菜") {
		t.Errorf("a name without a signing certificate: %q", got)
	}
	step("log out again", chromedp.Click(css("#logout")), chromedp.WaitNotPresent(css("#logout")),
		chromedp.Navigate(base+"/town/suzaka/"), chromedp.WaitVisible(css("#login")))

	step("log in with a revoked card", chromedp.Click(css("#login")), chromedp.WaitVisible(css("#pin")),
		chromedp.SetValue(css("#card"), demoCardID(t, bin, data, "鳥海　誠")),
		browsertest.PinPad("3333"), chromedp.Click(css("#login")), chromedp.WaitVisible(css("#back")))
	step("back to the town", chromedp.Click(css("#back")), chromedp.WaitVisible(css("#refusal")))
	if got := browsertest.Text(t, b, "#refusal-what"); !strings.Contains(got, "失効") {
		t.Errorf("the refusal: %q", got)
	}
	shot("townweb-6-revoked")
}

// TestTownwebApartInBrowser runs the town's site as the outside service it
// is: its own process, port, data and session cookie, pointed at the
// provider by --oidc-url only and registered there with mynaplat oidc
// client add, as an RP developer does (README). A resident logs in with
// the card across the two hosts.
func TestTownwebApartInBrowser(t *testing.T) {
	b := browsertest.New(t)
	bin := buildBinary(t)
	dataOP, dataRP := t.TempDir(), t.TempDir()
	op := startServer(t, bin, "--demo", "--data", dataOP)
	rp := startServer(t, bin, "--roles", "townweb", "--data", dataRP, "--oidc-url", op, "--townweb-client-id", "RP00000042",
		"--session-cookie", "townweb_session")
	// The site made its key pair at start; the operator registers its
	// public key.
	key, err := keydir.ReadKey(layout.TownwebKeyPath(dataRP), keydir.ECDSA)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	pub := filepath.Join(t.TempDir(), "rp.pub")
	if err := os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	mynaplat(t, bin, "oidc", "client", "add", "--data", dataOP, "--id", "RP00000042", "--name", "須坂市ウェブサイト（別のサーバー）",
		"--redirect-uri", rp+"/town/suzaka/callback", "--post-logout-uri", rp+"/town/suzaka/logged-out", "--key", pub, "--dev")

	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	if err := chromedp.Do(b, chromedp.EmulateViewport(390, 844), chromedp.Navigate(rp+"/town/suzaka/"), chromedp.Click(css("#login")),
		chromedp.WaitVisible(css("#pin")), chromedp.SetValue(css("#card"), demoCardID(t, bin, dataOP, "須坂　花子")),
		browsertest.PinPad("1234"), chromedp.Click(css("#login")),
		chromedp.WaitVisible(css("#consent-form")), chromedp.Click(css("#agree")), chromedp.WaitVisible(css("#greeting"))); err != nil {
		page, _ := chromedp.Run(b, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`))
		t.Fatalf("log in across two hosts: %v\non the page:\n%s", err, page)
	}
	u, err := chromedp.Run(b, chromedp.Evaluate[string](`location.href`))
	if err != nil || u != rp+"/town/suzaka/my" {
		t.Errorf("ended at %q (%v), want the site's my notices", u, err)
	}
	browsertest.Screenshot(t, b, "townweb-apart-my")
}
