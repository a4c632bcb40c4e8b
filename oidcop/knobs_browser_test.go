package oidcop

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/mynaplat/mynaplat/internal/browsertest"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// rpCallback is an RP whose callback page shows how the answer came (GET
// or POST) and its fields, registered at w as RP00000003.
func rpCallback(t *testing.T, w *world) *httptest.Server {
	t.Helper()
	rp := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		rw.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(rw, `<!doctype html><p id="rp-callback">RP</p><p id="method">%s</p><p id="code">%s</p><p id="state">%s</p><p id="error">%s</p>`,
			r.Method, html.EscapeString(r.Form.Get("code")), html.EscapeString(r.Form.Get("state")), html.EscapeString(r.Form.Get("error")))
	}))
	t.Cleanup(rp.Close)
	if _, err := w.p.AddClient(t.Context(), ClientSpec{ID: "RP00000003", Name: "須坂市 わたしのお知らせ", RedirectURIs: []string{rp.URL + "/cb"}, Dev: true,
		Keys: [][]byte{readTestdata(t, "rp-rsa.pub")}}, ""); err != nil {
		t.Fatal(err)
	}
	return rp
}

// phone is a chromium at 390×844 with the steps the knob tests share.
type phone struct {
	t *testing.T
	b context.Context
}

func newPhone(t *testing.T) *phone {
	return &phone{t: t, b: browsertest.New(t)}
}

func (p *phone) step(name string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.b, actions...); err != nil {
		browsertest.Screenshot(p.t, p.b, "oidc-knob-failed")
		p.t.Fatalf("%s: %v", name, err)
	}
}

// shot checks the page fits the phone's width and saves a screenshot.
func (p *phone) shot(name string) {
	p.t.Helper()
	l, err := chromedp.Run(p.b, browsertest.MeasureLayout())
	if err != nil {
		p.t.Fatal(err)
	}
	if pr := l.Problems(true); len(pr) > 0 {
		p.t.Errorf("%s at 390 px: %s", name, strings.Join(pr, "; "))
	}
	browsertest.Screenshot(p.t, p.b, name)
}

// scripts turns the page's scripts on or off (as a browser without
// JavaScript); the test's own evaluations still run.
func scripts(on bool) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: !on})
		return err
	})
}

// TestAllOrNoneInBrowser: under --oidc-attribute-subsets=all-or-none the
// consent step on a 390×844 phone lists the attributes asked, without tick
// boxes; 「同意する」 and the signing password give the RP all of them.
func TestAllOrNoneInBrowser(t *testing.T) {
	w := newWorldWith(t, storetest.SQLite(t), func(c *Config) { c.AttributeSubsets = SubsetsAllOrNone })
	rp := rpCallback(t, w)
	q := authParams("RP00000003", rp.URL+"/cb", s256(verifier))
	q.Set("scope", "openid name birthdate")
	p := newPhone(t)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	p.step("open on a phone", chromedp.EmulateViewport(390, 844), chromedp.Navigate(w.p.Issuer()+AuthPath+"?"+q.Encode()), chromedp.WaitVisible(css("#pin")))
	p.step("place and PIN", chromedp.SetValue(css("#card"), w.good.ID()),
		browsertest.PinPad("1234"), chromedp.Click(css("#login")), chromedp.WaitVisible(css("#asks-all")))
	for _, id := range []string{"#attr-name", "#attr-birthdate"} {
		if browsertest.Text(t, p.b, id) == "" {
			t.Errorf("%s is not listed", id)
		}
	}
	n, err := chromedp.Run(p.b, chromedp.Evaluate[int](`document.querySelectorAll('#consent-form input[type=checkbox]').length`))
	if err != nil || n != 0 {
		t.Errorf("%d tick boxes (%v), want none", n, err)
	}
	p.shot("oidc-all-or-none-1-consent")
	p.step("agree", chromedp.Click(css("#agree")), chromedp.WaitVisible(css("#password")))
	p.shot("oidc-all-or-none-2-password")
	p.step("sign", chromedp.SendKeys(css("#password"), "SUZAKA1980"), chromedp.Click(css("#sign-ok")), chromedp.WaitVisible(css("#rp-callback")))
	code := browsertest.Text(t, p.b, "#code")
	browsertest.Screenshot(t, p.b, "oidc-all-or-none-3-rp") // the test's RP, not a page of ours
	key, alg := rpKey(t, "rp-rsa.key")
	st, body := w.token(t, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {rp.URL + "/cb"},
		"code_verifier": {verifier}, "client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion": {assertion(t, key, alg, "", "RP00000003", w.p.Issuer()+TokenPath, nil)}})
	if st != http.StatusOK || body["scope"] != "openid name birthdate" {
		t.Errorf("token: %d %v, want scope openid name birthdate", st, body)
	}
}

// TestFormPostInBrowser: under --oidc-response-modes=query,form_post a
// request with response_mode=form_post ends on a page that posts the code
// and state to the RP by itself (its script is the site's file, allowed by
// the CSP; a CSP violation would leave the page standing), and, in a
// browser without scripts, shows its noscript text and the button that
// posts the same. Both on a 390×844 phone.
func TestFormPostInBrowser(t *testing.T) {
	w := newWorldWith(t, storetest.SQLite(t), func(c *Config) { c.ResponseModes = []string{ModeQuery, ModeFormPost} })
	rp := rpCallback(t, w)
	q := authParams("RP00000003", rp.URL+"/cb", s256(verifier))
	q.Set("response_mode", "form_post")
	authURL := w.p.Issuer() + AuthPath + "?" + q.Encode()
	p := newPhone(t)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	atRP := func(how string) {
		t.Helper()
		if m, c, s := browsertest.Text(t, p.b, "#method"), browsertest.Text(t, p.b, "#code"), browsertest.Text(t, p.b, "#state"); m != http.MethodPost || c == "" || s != "st-123 !~" {
			t.Errorf("%s: at the RP by %s, code %q, state %q; want a POST with the code and the state", how, m, c, s)
		}
	}

	p.step("open on a phone", chromedp.EmulateViewport(390, 844), chromedp.Navigate(authURL), chromedp.WaitVisible(css("#pin")))
	p.step("place and PIN, the page posts by itself", chromedp.SetValue(css("#card"), w.good.ID()),
		browsertest.PinPad("1234"), chromedp.Click(css("#login")), chromedp.WaitVisible(css("#rp-callback")))
	atRP("with scripts")
	browsertest.Screenshot(t, p.b, "oidc-form-post-1-rp") // the test's RP

	p.step("open again", chromedp.Navigate(authURL), chromedp.WaitVisible(css("#pin")))
	p.step("place and PIN", chromedp.SetValue(css("#card"), w.good.ID()),
		browsertest.PinPad("1234"))
	p.step("without scripts", scripts(false), chromedp.Click(css("#login")), chromedp.WaitVisible(css("#form-post-submit")))
	if s := browsertest.Text(t, p.b, "#form-post-noscript"); !strings.Contains(s, "ボタンを押して") || !strings.Contains(s, "Press the button") {
		t.Errorf("the noscript text: %q", s)
	}
	p.shot("oidc-form-post-2-noscript")
	p.step("the button", chromedp.Click(css("#form-post-submit")), chromedp.WaitVisible(css("#rp-callback")))
	atRP("by the button")
	p.step("scripts back", scripts(true))
}
