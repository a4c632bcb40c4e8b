package oidcop

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/mynaplat/mynaplat/internal/browsertest"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// TestLoginInBrowser logs in at an RP with the card page in chromium on a
// 390×844 phone: place the card, the PIN on the pad, and the RP gets its
// code with the state; then a revoked demo card is refused on the page with
// the kit's outcome, and 「サービスに戻る」 brings access_denied to the RP.
func TestLoginInBrowser(t *testing.T) {
	w := newWorld(t, storetest.SQLite(t))
	// The RP's callback: it shows what came back.
	rp := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		rw.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(rw, `<!doctype html><p id="rp-callback">RP</p><p id="code">%s</p><p id="state">%s</p><p id="error">%s</p><p id="desc">%s</p>`,
			html.EscapeString(q.Get("code")), html.EscapeString(q.Get("state")), html.EscapeString(q.Get("error")), html.EscapeString(q.Get("error_description")))
	}))
	defer rp.Close()
	if _, err := w.p.AddClient(t.Context(), ClientSpec{ID: "RP00000003", Name: "須坂市 わたしのお知らせ", RedirectURIs: []string{rp.URL + "/cb"}, Dev: true,
		Keys: [][]byte{readTestdata(t, "rp-rsa.pub")}}, ""); err != nil {
		t.Fatal(err)
	}
	authURL := w.p.Issuer() + AuthPath + "?" + authParams("RP00000003", rp.URL+"/cb", s256(verifier)).Encode()

	b := browsertest.New(t)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	step := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(b, actions...); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	// text reads an element's text, empty or not (the RP's empty fields
	// have no box for chromedp.Text to wait for).
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(b, chromedp.Evaluate[string](`document.querySelector(`+strconv.Quote(sel)+`).textContent.trim()`))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
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

	step("open on a phone", chromedp.EmulateViewport(390, 844), chromedp.Navigate(authURL), chromedp.WaitVisible(css("#pin")))
	if n := text("#rp-name"); n != "須坂市 わたしのお知らせ" {
		t.Errorf("the RP's name: %q", n)
	}
	fits("the card page")
	browsertest.Screenshot(t, b, "oidc-1-place")
	// One form, one post: the card and its PIN (the PIN first, then the
	// card held, as the app asks).
	step("the card and its PIN", chromedp.SetValue(css("#card"), w.good.ID()), browsertest.PinPad("1234"))
	fits("the PIN typed")
	browsertest.Screenshot(t, b, "oidc-2-pin")
	step("place and confirm", chromedp.Click(css("#login")), chromedp.WaitVisible(css("#rp-callback")))
	if c, s := text("#code"), text("#state"); c == "" || s != "st-123 !~" {
		t.Errorf("at the RP: code %q state %q", c, s)
	}
	browsertest.Screenshot(t, b, "oidc-3-rp")

	step("open again", chromedp.Navigate(authURL), chromedp.WaitVisible(css("#pin")))
	step("the revoked card and its PIN", chromedp.SetValue(css("#card"), w.revoked.ID()), browsertest.PinPad("1234"), chromedp.Click(css("#login")), chromedp.WaitVisible(css("#back")))
	if o := text(".kit-outcome"); !strings.Contains(o, "失効") {
		t.Errorf("the refusal: %q", o)
	}
	fits("the refusal")
	browsertest.Screenshot(t, b, "oidc-4-revoked")
	step("back to the service", chromedp.Click(css("#back")), chromedp.WaitVisible(css("#rp-callback")))
	if e, d, c := text("#error"), text("#desc"), text("#code"); e != "access_denied" || d != "revoked" || c != "" {
		t.Errorf("at the RP after the refusal: error %q description %q code %q", e, d, c)
	}
	browsertest.Screenshot(t, b, "oidc-5-rp-refused")
}

// TestSignInBrowser signs a sign transaction at the card page in chromium
// on a 390×844 phone: the page states the RP and the digest in hex, the
// person consents (name too), enters the signing password, and the RP gets
// its code with the scope granted later at the token endpoint.
func TestSignInBrowser(t *testing.T) {
	w := newWorld(t, storetest.SQLite(t))
	rp := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(rw, `<!doctype html><p id="rp-callback">RP</p><p id="code">%s</p>`, html.EscapeString(r.URL.Query().Get("code")))
	}))
	defer rp.Close()
	if _, err := w.p.AddClient(t.Context(), ClientSpec{ID: "RP00000003", Name: "日本生命（住所変更）", RedirectURIs: []string{rp.URL + "/cb"}, Dev: true,
		Keys: [][]byte{readTestdata(t, "rp-rsa.pub")}}, ""); err != nil {
		t.Fatal(err)
	}
	// The transaction is RP1's: the test's client-credentials helper is
	// RP1's, so RP00000003 starts its own by the same path.
	st, body := w.token(t, func() url.Values {
		key, alg := rpKey(t, "rp-rsa.key")
		return url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
			"client_assertion": {assertion(t, key, alg, "", "RP00000003", w.p.Issuer()+TokenPath, nil)}}
	}())
	if st != http.StatusOK {
		t.Fatalf("client_credentials: %d %v", st, body)
	}
	h := sha256.Sum256([]byte("住所変更届"))
	id := w.startSign(t, body["access_token"].(string), h[:])
	q := authParams("RP00000003", rp.URL+"/cb", s256(verifier))
	q.Set("scope", "openid name sign")
	q.Set("sign_transaction_id", id)

	b := browsertest.New(t)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	step := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(b, actions...); err != nil {
			browsertest.Screenshot(t, b, "oidc-sign-failed")
			t.Fatalf("%s: %v", name, err)
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
	step("open on a phone", chromedp.EmulateViewport(390, 844), chromedp.Navigate(w.p.Issuer()+AuthPath+"?"+q.Encode()),
		chromedp.WaitVisible(css("#asks-sign")))
	step("place and PIN", chromedp.SetValue(css("#card"), w.good.ID()),
		browsertest.PinPad("1234"), chromedp.Click(css("#login")), chromedp.WaitVisible(css("#sign-statement")))
	if got := browsertest.Text(t, b, "#sign-digest"); got != hex.EncodeToString(h[:]) {
		t.Errorf("the digest shown: %q", got)
	}
	shot("oidc-sign-1-consent")
	step("consent", chromedp.Click(css("#attr-name")), chromedp.Click(css("#agree")), chromedp.WaitVisible(css("#password")))
	shot("oidc-sign-2-password")
	step("sign", chromedp.SendKeys(css("#password"), "SUZAKA1980"), chromedp.Click(css("#sign-ok")), chromedp.WaitVisible(css("#rp-callback")))
	if c := browsertest.Text(t, b, "#code"); c == "" {
		t.Error("no code at the RP")
	}
	var state string
	w.db.QueryRowContext(t.Context(), `SELECT state FROM oidc_sign_transactions WHERE id = $1`, id).Scan(&state)
	if state != "signed" {
		t.Errorf("the transaction is %q", state)
	}
}
