package main

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/mynaplat/mynaplat/internal/browsertest"
	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/store"
)

// atProvider follows an authorization redirect (abs) through the provider's
// card page with the demo card, its PIN, consent to ticks and the signing
// password(s) given in order (a wrong one first is retried); cancel ends
// it at the card page instead of signing. It returns the provider's
// redirect to the RP (its Location, relative).
func atProvider(t *testing.T, c *webtest.Client, abs, cardID, pin string, passwords []string, cancel bool, ticks ...string) string {
	t.Helper()
	rel := func(abs string) string {
		t.Helper()
		p, ok := strings.CutPrefix(abs, c.Base())
		if !ok {
			t.Fatalf("%s is not on the server %s", abs, c.Base())
		}
		return p
	}
	r := c.Get(rel(abs))
	if r.Status != http.StatusFound && r.Status != http.StatusSeeOther {
		t.Fatalf("authorize: %d %s", r.Status, r.Body)
	}
	page := rel(r.Location())
	c.Step(webtest.Step{Name: "the card page", Path: page, WantContains: []string{"日本生命"}})
	c.Step(webtest.Step{Name: "place the card", Path: page + "place", Form: url.Values{"card": {cardID}}, WantStatus: http.StatusSeeOther})
	c.Step(webtest.Step{Name: "the PIN", Path: page + "pin", Form: url.Values{"pin": {pin}}, WantStatus: http.StatusSeeOther})
	r = c.Step(webtest.Step{Name: "consent", Path: page + "consent", Form: url.Values{"decision": {"agree"}, "attr": ticks}, WantStatus: http.StatusSeeOther})
	for _, pw := range passwords {
		c.Step(webtest.Step{Name: "the signing password step", Path: page, WantContains: []string{`id="sign-form"`}})
		r = c.Step(webtest.Step{Name: "the signing password", Path: page + "sign", Form: url.Values{"password": {pw}}, WantStatus: http.StatusSeeOther})
	}
	if cancel {
		r = c.Step(webtest.Step{Name: "cancel", Path: page + "cancel", Form: url.Values{}, WantStatus: http.StatusSeeOther})
		return rel(r.Location())
	}
	r = c.Step(webtest.Step{Name: "the provider's callback", Path: rel(r.Location()), WantStatus: http.StatusFound})
	return rel(r.Location())
}

// TestNissayEndToEnd: on serve --demo, 酒田 一郎 logs in to 日本生命's
// customer page with his card (name, address and birthdate consented), is
// matched to his customer record, and changes his address by an e-signed
// 住所変更届; the replayed callback changes nothing; a wrong signing
// password then a cancel leave the address as it was; logging out ends
// the page's session and, at the provider, the login's grant (RP-initiated
// logout), and the next login asks for the card again; the town's site
// sees another sub for him than 日本生命 does.
func TestNissayEndToEnd(t *testing.T) {
	bin := buildBinary(t)
	data := t.TempDir()
	base := startServer(t, bin, "--demo", "--data", data)
	c := webtest.New(t, base)
	card := demoCardID(t, bin, data, "酒田　一郎")
	c.Step(webtest.Step{Name: "the home page links the page", Path: "/", WantContains: []string{`href="/nissay/"`}})
	c.Step(webtest.Step{Name: "the page", Path: "/nissay/", WantContains: []string{"マイナンバーカードでログイン", "PF"}})

	r := c.Step(webtest.Step{Name: "log in", Path: "/nissay/login", WantStatus: http.StatusSeeOther})
	auth, _ := url.Parse(r.Location())
	if q := auth.Query(); q.Get("client_id") != "RP00000002" || q.Get("code_challenge_method") != "S256" || q.Get("acr_values") != "aal3" ||
		q.Get("scope") != "openid name address birthdate" {
		t.Fatalf("the authorization request %s", auth)
	}
	cb := atProvider(t, c, r.Location(), card, "1111", []string{"SAKATA1975"}, false, "name", "address", "birthdate")
	c.Step(webtest.Step{Name: "the page's callback", Path: cb, WantStatus: http.StatusSeeOther, WantLocation: "/nissay/"})
	c.Step(webtest.Step{Name: "matched to the customer", Path: "/nissay/",
		WantContains: []string{"マイナンバーカードでログインしました", "NL-1975-0630", "山形県酒田市本町二丁目２番４５号", `id="card-address"`}})

	const newAddr = "山形県酒田市中町一丁目１番１号"
	c.Step(webtest.Step{Name: "ask for the change", Path: "/nissay/change", Form: url.Values{"address": {newAddr}},
		WantContains: []string{"住所変更届", "NL-1975-0630", newAddr, `id="digest"`}})
	r = c.Step(webtest.Step{Name: "sign it", Path: "/nissay/sign", Form: url.Values{}, WantStatus: http.StatusSeeOther})
	auth, _ = url.Parse(r.Location())
	if q := auth.Query(); q.Get("scope") != "openid sign" || q.Get("sign_transaction_id") == "" {
		t.Fatalf("the signing request %s", auth)
	}
	cb = atProvider(t, c, r.Location(), card, "1111", []string{"SAKATA1975"}, false)
	c.Step(webtest.Step{Name: "the signed change", Path: cb, WantStatus: http.StatusSeeOther, WantLocation: "/nissay/"})
	c.Step(webtest.Step{Name: "the address changed", Path: "/nissay/", WantContains: []string{"住所を変更しました", newAddr, `id="changes"`}})
	c.Step(webtest.Step{Name: "the callback replayed", Path: cb, WantStatus: http.StatusBadRequest, WantContains: []string{"何も変えていません"}})

	// A wrong signing password is retried at the provider; then the
	// customer cancels: the address stays.
	c.Step(webtest.Step{Name: "ask for another change", Path: "/nissay/change", Form: url.Values{"address": {"東京都千代田区"}}})
	c.Step(webtest.Step{Name: "a confirmed document is sent once", Path: "/nissay/sign", Form: url.Values{}, WantStatus: http.StatusSeeOther})
	c.Step(webtest.Step{Name: "the second send", Path: "/nissay/sign", Form: url.Values{}, WantStatus: http.StatusSeeOther, WantLocation: "/nissay/"})
	c.Step(webtest.Step{Name: "ask once more", Path: "/nissay/change", Form: url.Values{"address": {"東京都千代田区"}}})
	r = c.Step(webtest.Step{Name: "sign it", Path: "/nissay/sign", Form: url.Values{}, WantStatus: http.StatusSeeOther})
	cb = atProvider(t, c, r.Location(), card, "1111", []string{"WRONG1975"}, true)
	c.Step(webtest.Step{Name: "the cancel", Path: cb, WantContains: []string{"住所変更は行われませんでした"}})
	c.Step(webtest.Step{Name: "the address as it was", Path: "/nissay/", WantContains: []string{newAddr}, WantNotContains: []string{"東京都千代田区</strong>"}})

	// Logging out ends the page's session, then the login's grant at the
	// provider (RP-initiated logout with the ID token as the hint), which
	// sends him back to the page's registered post-logout URI.
	r = c.Step(webtest.Step{Name: "log out", Path: "/nissay/logout", Form: url.Values{}, WantStatus: http.StatusSeeOther})
	end, err := url.Parse(r.Location())
	if err != nil {
		t.Fatal(err)
	}
	eq := end.Query()
	if !strings.HasPrefix(end.String(), base+"/api/realms/main/protocol/openid-connect/logout?") || eq.Get("id_token_hint") == "" ||
		eq.Get("client_id") != "RP00000002" || eq.Get("post_logout_redirect_uri") != base+"/nissay/logged-out" || eq.Get("state") == "" {
		t.Fatalf("RP-initiated logout: %s", end)
	}
	r = c.Get(strings.TrimPrefix(end.String(), base))
	back, _ := url.Parse(r.Location())
	if r.Status != http.StatusFound || back == nil || !strings.HasPrefix(back.String(), base+"/nissay/logged-out") || back.Query().Get("state") != eq.Get("state") {
		t.Fatalf("end session at the provider: %d %s %s", r.Status, r.Location(), r.Body)
	}
	c.Step(webtest.Step{Name: "back from the provider", Path: strings.TrimPrefix(back.String(), base), WantStatus: http.StatusSeeOther, WantLocation: "/nissay/"})
	c.Step(webtest.Step{Name: "logged out here", Path: "/nissay/", WantContains: []string{"ログアウトしました", "マイナンバーカードでログイン"},
		WantNotContains: []string{"NL-1975-0630"}})
	// The provider's grant of that login (the hint's sid) has ended.
	parts := strings.Split(eq.Get("id_token_hint"), ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var hint struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal(payload, &hint); err != nil || hint.SID == "" {
		t.Fatalf("the hint's sid: %v %s", err, payload)
	}
	pdb, err := store.Open(t.Context(), store.Options{DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	var revoked int64
	if err := pdb.QueryRowContext(t.Context(), `SELECT revoked_at FROM oidc_grants WHERE client_id = $1 AND session_state = $2`, "RP00000002", hint.SID).Scan(&revoked); err != nil || revoked == 0 {
		t.Errorf("the login's grant at the provider: revoked_at %d (%v), want ended", revoked, err)
	}
	pdb.Close()

	// The next login asks for the card again (atProvider walks the card
	// page: the provider kept no session to skip it) and finds him by the
	// sub alone: nothing consented.
	r = c.Step(webtest.Step{Name: "log in again", Path: "/nissay/login", WantStatus: http.StatusSeeOther})
	cb = atProvider(t, c, r.Location(), card, "1111", nil, false)
	c.Step(webtest.Step{Name: "the page's callback", Path: cb, WantStatus: http.StatusSeeOther, WantLocation: "/nissay/"})
	c.Step(webtest.Step{Name: "known by the sub", Path: "/nissay/", WantContains: []string{"NL-1975-0630", newAddr}, WantNotContains: []string{`id="card-address"`}})

	// The town's site, logged in by the same person, has another sub.
	tw := c.Fresh()
	if r := townLogin(t, tw, card, "1111", ""); r.Status != http.StatusSeeOther {
		t.Fatalf("the town's login: %d %s", r.Status, r.Body)
	}
	db, err := store.Open(t.Context(), store.Options{DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var nsub, tsub string
	if err := db.QueryRowContext(t.Context(), `SELECT sub FROM nissayweb_links WHERE customer_ref = $1`, "NL-1975-0630").Scan(&nsub); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRowContext(t.Context(), `SELECT sub FROM townweb_accounts`).Scan(&tsub); err != nil {
		t.Fatal(err)
	}
	if nsub == "" || nsub == tsub {
		t.Errorf("the two RPs' subs for one person: %q and %q", nsub, tsub)
	}
	var n int
	if err := db.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM business_notices WHERE firm_id = 'nissay' AND send_id LIKE 'web-%'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("changes applied: %d %v, want 1", n, err)
	}
}

// TestNissayInBrowser walks 日本生命's customer page on a 390×844 phone in
// chromium: the login with consent to name, address and birthdate, the
// customer's record, the e-signed address change at the provider's card
// page, a cancelled one that changes nothing, and the logout through the
// provider, after which a login asks for the card again. Each screen fits
// the phone and is kept as a screenshot.
func TestNissayInBrowser(t *testing.T) {
	b := browsertest.New(t)
	bin := buildBinary(t)
	data := t.TempDir()
	base := startServer(t, bin, "--demo", "--data", data)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	step := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(b, actions...); err != nil {
			browsertest.Screenshot(t, b, "nissay-failed")
			page, _ := chromedp.Run(b, chromedp.Evaluate[string](`document.body.innerText`))
			t.Fatalf("%s: %v\non the page:\n%s", name, err, page)
		}
	}
	shot := func(name string) {
		t.Helper()
		l, err := chromedp.Run(b, browsertest.MeasureLayout())
		if err != nil {
			t.Fatal(err)
		}
		if p := l.Problems(true); len(p) > 0 {
			t.Errorf("%s at 390 px: %s", name, strings.Join(p, "; "))
		}
		browsertest.Screenshot(t, b, name)
	}
	card := demoCardID(t, bin, data, "酒田　一郎")
	step("the page on a phone", chromedp.EmulateViewport(390, 844), chromedp.Navigate(base+"/nissay/"), chromedp.WaitVisible(css("#login")))
	shot("nissay-1-top")
	step("log in", chromedp.Click(css("#login")), chromedp.WaitVisible(css("#pin")),
		chromedp.SetValue(css("#card"), card),
		browsertest.PinPad("1111"), chromedp.Click(css("#login")), chromedp.WaitVisible(css("#consent-form")))
	shot("nissay-2-consent")
	step("consent to name, address and birthdate", chromedp.Click(css("#attr-name")), chromedp.Click(css("#attr-address")),
		chromedp.Click(css("#attr-birthdate")), chromedp.Click(css("#agree")), chromedp.WaitVisible(css("#password")),
		chromedp.SendKeys(css("#password"), "SAKATA1975"), chromedp.Click(css("#sign-ok")), chromedp.WaitVisible(css("#customer")))
	if got := browsertest.Text(t, b, "#customer-ref"); got != "NL-1975-0630" {
		t.Errorf("matched to %q, want NL-1975-0630", got)
	}
	shot("nissay-3-customer")
	const newAddr = "山形県酒田市中町一丁目１番１号"
	step("ask for the change", chromedp.SendKeys(css("#new-address"), newAddr), chromedp.Click(css("#change")),
		chromedp.WaitVisible(css("#document")))
	shot("nissay-4-confirm")
	step("to the provider", chromedp.Click(css("#to-sign")), chromedp.WaitVisible(css("#pin")), chromedp.SetValue(css("#card"), card),
		browsertest.PinPad("1111"), chromedp.Click(css("#login")), chromedp.WaitVisible(css("#agree")))
	shot("nissay-5-what-is-signed")
	step("sign", chromedp.Click(css("#agree")), chromedp.WaitVisible(css("#password")))
	shot("nissay-6-signing-password")
	step("the signing password", chromedp.SendKeys(css("#password"), "SAKATA1975"), chromedp.Click(css("#sign-ok")), chromedp.WaitVisible(css("#changes")))
	if got := browsertest.Text(t, b, "#address"); got != newAddr {
		t.Errorf("the address %q, want %q", got, newAddr)
	}
	shot("nissay-7-changed")
	step("a change cancelled at the provider", chromedp.Click(css("#use-card")), chromedp.WaitVisible(css("#to-sign")),
		chromedp.Click(css("#to-sign")), chromedp.WaitVisible(css("#pin")), chromedp.SetValue(css("#card"), card),
		browsertest.PinPad("1111"), chromedp.Click(css("#login")), chromedp.WaitVisible(css("#agree")),
		chromedp.Click(css("#agree")), chromedp.WaitVisible(css("#password")), chromedp.Click(css("#cancel")), chromedp.WaitVisible(css("#refusal")))
	shot("nissay-8-cancelled")
	step("the address as it was", chromedp.Navigate(base+"/nissay/"), chromedp.WaitVisible(css("#address")))
	if got := browsertest.Text(t, b, "#address"); got != newAddr {
		t.Errorf("after the cancel the address %q, want %q", got, newAddr)
	}
	// Logging out goes through the provider's end-session endpoint and
	// back to the page, logged out.
	step("log out", chromedp.Click(css("#logout")), chromedp.WaitNotPresent(css("#logout")), chromedp.WaitVisible(css("#login")))
	if page, _ := chromedp.Run(b, chromedp.Evaluate[string](`document.body.innerText`)); !strings.Contains(page, "ログアウトしました") {
		t.Errorf("after the logout the page says:\n%s", page)
	}
	shot("nissay-9-logged-out")
	step("a new login asks for the card", chromedp.Click(css("#login")), chromedp.WaitVisible(css("#pin")))
}
