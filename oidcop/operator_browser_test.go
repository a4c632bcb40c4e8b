package oidcop

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/mynaplat/mynaplat/internal/browsertest"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// TestOperatorPageInBrowser: the signed-in platform operator registers a
// client in chromium — first without a key (refused at the key field,
// nothing registered), then with an uploaded PEM key file — adds a pasted
// JWK, disables that key and then the client, with screenshots.
func TestOperatorPageInBrowser(t *testing.T) {
	w := newOpWorld(t, storetest.SQLite(t))
	op := w.srv.With(t).Fresh()
	w.iss.SignInAs(op, OperatorHome, "op-1", w.clk.Now())

	b := browsertest.New(t)
	browsertest.HandOver(t, b, op, op.Base())
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	step := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(b, actions...); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	step("the page", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(op.URL(OperatorHome)), chromedp.WaitVisible(css("#client-form")))
	if s := browsertest.Text(t, b, "#no-clients"); s == "" {
		t.Error("no empty list")
	}
	browsertest.Screenshot(t, b, "oidc-operator-1-empty")

	fill := []chromedp.Action[chromedp.Void]{chromedp.SetValue(css("#c-id"), "RP00000778"), chromedp.SetValue(css("#c-name"), "日本生命 ご契約者さまページ"),
		chromedp.SetValue(css("#c-redirect"), "https://www.nissay.example/oidc/cb"), chromedp.SetValue(css("#c-logout"), "https://www.nissay.example/")}
	step("register without a key", append(fill, chromedp.Click(css("#client-go")), chromedp.WaitVisible(css("#client-problem")))...)
	if s := browsertest.Text(t, b, "#client-problem"); !strings.Contains(s, "公開鍵") || !strings.Contains(s, "何も登録されていません") {
		t.Errorf("the refusal: %q", s)
	}
	if s := browsertest.Text(t, b, ".field-error"); !strings.Contains(s, "公開鍵") {
		t.Errorf("the key field's error: %q", s)
	}
	browsertest.Screenshot(t, b, "oidc-operator-2-refused")
	if n := count(t, w.p.db, "oidc_clients"); n != 0 {
		t.Fatalf("%d clients after a refusal", n)
	}

	key, err := filepath.Abs(filepath.Join("testdata", "rp-rsa.pub"))
	if err != nil {
		t.Fatal(err)
	}
	step("register with a key file", chromedp.SetUploadFiles(css("#c-key-file"), []string{key}), chromedp.Click(css("#client-go")),
		chromedp.WaitVisible(css(`tr.client[data-id="RP00000778"]`)))
	if s := browsertest.Text(t, b, `tr.client[data-id="RP00000778"]`); !strings.Contains(s, "RS256") || !strings.Contains(s, "https://www.nissay.example/oidc/cb") {
		t.Errorf("the new client's row: %q", s)
	}
	browsertest.Screenshot(t, b, "oidc-operator-3-registered")

	step("add a pasted JWK", chromedp.Click(css(`tr.client[data-id="RP00000778"] details summary`)),
		chromedp.SetValue(css(`tr.client[data-id="RP00000778"] .key-add textarea`), string(jwkOf(t, "rp-ec.pub", "nissay-2026", false))),
		chromedp.Click(css(`tr.client[data-id="RP00000778"] .key-add-go`)), chromedp.WaitVisible(css(`li.key[data-kid="nissay-2026"]`)))
	browsertest.Screenshot(t, b, "oidc-operator-4-two-keys")
	step("disable the key", chromedp.Click(css(`li.key[data-kid="nissay-2026"] .key-disable`)),
		chromedp.WaitVisible(css(`li.key[data-kid="nissay-2026"][data-state="disabled"]`)))
	step("disable the client", chromedp.Click(css(`tr.client[data-id="RP00000778"] .client-disable`)),
		chromedp.WaitVisible(css(`tr.client[data-id="RP00000778"][data-state="disabled"]`)))
	browsertest.Screenshot(t, b, "oidc-operator-5-disabled")
	c, err := w.p.Client(t.Context(), "RP00000778")
	if err != nil || c.Enabled() || len(c.Keys) != 2 {
		t.Errorf("client %+v %v", c, err)
	}
}
