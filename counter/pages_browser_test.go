package counter_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/mynaplat/mynaplat/internal/browsertest"
	"github.com/mynaplat/mynaplat/jpki"
)

// TestCounterInBrowser issues a card through the real form in chromium at the
// kiosk size (1024×600), and checks the flash names the new serials; then
// prepares the revocation of its signing certificate, which the supervisor
// approves, and runs it. The clerk's session (stafftest's card login) is
// handed to the browser; the card sign-in at the staff terminal is
// cmd/mynaplat's TestCounterClerkDay. The screenshots are the test's
// artifacts (go test -artifacts keeps them).
func TestCounterInBrowser(t *testing.T) {
	e := newCounterEnv(t)
	ctx := browsertest.New(t)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	browsertest.HandOver(t, ctx, e.web, e.srv.URL)

	if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/counter/issue"), chromedp.WaitVisible(css("#f-name"))); err != nil {
		t.Fatal(err)
	}
	browsertest.Screenshot(t, ctx, "counter-issue-form")

	// First with a birth date in the future: the form comes back with the
	// message and the values, without the PINs.
	fill := func(birth string) error {
		return chromedp.Do(ctx,
			chromedp.SendKeys(css("#f-name"), "須坂 花子"),
			chromedp.SendKeys(css("#f-kana"), "スザカ ハナコ"),
			chromedp.SendKeys(css("#f-birth"), birth),
			chromedp.Click(css(`input[name=sex][value="2"]`)),
			chromedp.SendKeys(css("#f-address"), "長野県須坂市大字須坂１２３４番地"),
			chromedp.SetValue(css("#f-municipality"), "202070"),
			chromedp.SendKeys(css("#f-auth_pin"), "4821"),
			chromedp.SendKeys(css("#f-sign_pin"), "PASS4SIGN"),
		)
	}
	if err := fill("2030-01-01"); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(css(`form[action="/counter/issue"] button[type=submit]`)), chromedp.WaitVisible(css(".notice.error"))); err != nil {
		t.Fatal(err)
	}
	msg, err := chromedp.Run(ctx, chromedp.Text(css(".notice.error")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(msg, "生年月日が未来の日付です。") {
		t.Errorf("error notice %q", msg)
	}
	name, err := chromedp.Run(ctx, chromedp.Value(css("#f-name")))
	if err != nil {
		t.Fatal(err)
	}
	pin, err := chromedp.Run(ctx, chromedp.Value(css("#f-auth_pin")))
	if err != nil {
		t.Fatal(err)
	}
	if name != "須坂\u3000花子" || pin != "" {
		t.Errorf("after the refusal: name %q (want kept), auth PIN %q (want empty)", name, pin)
	}
	browsertest.Screenshot(t, ctx, "counter-issue-error")

	// Correct the date, type the PINs again and issue.
	if err := chromedp.Do(ctx,
		chromedp.SetValue(css("#f-birth"), "1980-02-29"),
		chromedp.SendKeys(css("#f-auth_pin"), "4821"),
		chromedp.SendKeys(css("#f-sign_pin"), "PASS4SIGN"),
		chromedp.Click(css(`form[action="/counter/issue"] button[type=submit]`)),
		chromedp.WaitVisible(css(".flash")),
	); err != nil {
		t.Fatal(err)
	}
	flash, err := chromedp.Run(ctx, chromedp.Text(css(".flash")))
	if err != nil {
		t.Fatal(err)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	id := loc[strings.LastIndex(loc, "/")+1:]
	cur := e.current(t, id)
	for _, want := range []string{"カードを発行しました", id, cur[jpki.Auth], cur[jpki.Sign]} {
		if want == "" || !strings.Contains(flash, want) {
			t.Errorf("flash %q lacks %q", flash, want)
		}
	}
	browsertest.Screenshot(t, ctx, "counter-card-issued")

	// The list, and the card page in English.
	if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/counter/"), chromedp.WaitVisible(css("table"))); err != nil {
		t.Fatal(err)
	}
	browsertest.Screenshot(t, ctx, "counter-list")
	if err := chromedp.Do(ctx, chromedp.Click(css("a.nav.lang")), chromedp.WaitVisible(css(`html[lang="en"]`)),
		chromedp.Navigate(loc), chromedp.WaitVisible(css("details.action"))); err != nil {
		t.Fatal(err)
	}
	browsertest.Screenshot(t, ctx, "counter-card-en")

	// The revocation of the signing certificate: prepared by the clerk,
	// approved by the supervisor (her card login, posted by the staff
	// terminal into this session), then run.
	if err := chromedp.Do(ctx, chromedp.Click(css("a.nav.lang")), chromedp.WaitVisible(css(`html[lang="ja"]`)),
		chromedp.Navigate(loc), chromedp.WaitVisible(css("details#revoke-one")),
		chromedp.Click(css("details#revoke-one > summary")), chromedp.SetValue(css("#r-cert"), "sign:"+cur[jpki.Sign]),
		chromedp.Click(css(`form:has(#revoke-request) input[name=identity][value=card]`)),
		chromedp.Click(css("#revoke-request")), chromedp.WaitVisible(css("#awaiting-approval"))); err != nil {
		t.Fatal(err)
	}
	browsertest.Screenshot(t, ctx, "counter-request-waiting")
	req, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	path := req[strings.Index(req, "/counter/"):]
	if r := e.approve(t, path, supervisorID); r.Status != http.StatusSeeOther {
		t.Fatalf("approval: %d", r.Status)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(req), chromedp.WaitVisible(css("#approved"))); err != nil {
		t.Fatal(err)
	}
	if got, _ := chromedp.Run(ctx, chromedp.Text(css("#approved"))); !strings.Contains(got, "須坂　節子") {
		t.Errorf("approval notice %q", got)
	}
	browsertest.Screenshot(t, ctx, "counter-request-approved")
	if err := chromedp.Do(ctx, chromedp.Click(css("#request-run")), chromedp.WaitVisible(css("#holder")), chromedp.WaitVisible(css(".flash"))); err != nil {
		t.Fatal(err)
	}
	flash, err = chromedp.Run(ctx, chromedp.Text(css(".flash")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(flash, cur[jpki.Sign]) || !strings.Contains(flash, "keyCompromise") && !strings.Contains(flash, "失効しました") {
		t.Errorf("revocation flash %q", flash)
	}
	if got := e.crl(t, jpki.Sign)[cur[jpki.Sign]]; got == 0 {
		t.Error("the signing certificate is not on the CRL")
	}
	browsertest.Screenshot(t, ctx, "counter-revoked")
}
