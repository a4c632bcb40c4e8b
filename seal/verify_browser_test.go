package seal

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/mynaplat/mynaplat/internal/browsertest"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// TestVerifyInBrowser pastes a certificate's QR text into /verify in
// chromium: the genuine one shows 「この証明書は真正です」 with the content, a
// forged one is refused. Screenshots are the test's artifacts.
func TestVerifyInBrowser(t *testing.T) {
	ctx := context.Background()
	e := newWebEnv(t, storetest.SQLite(t))
	iss, err := e.s.Issue(ctx, IssueRequest{Municipality: sakata, Number: "R08-000123", Type: "住民票の写し", Content: sampleContent})
	if err != nil {
		t.Fatal(err)
	}
	b := browsertest.New(t)
	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }
	do := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(b, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(b, chromedp.Text(css(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return v
	}

	do("open /verify", chromedp.Navigate(e.web.URL("/verify")), chromedp.WaitVisible(css("#qr")))
	browsertest.Screenshot(t, b, "verify-form")
	do("verify the genuine QR",
		chromedp.SendKeys(css("#qr"), iss.QRText),
		chromedp.Click(css("#verify")),
		chromedp.WaitVisible(css("#verdict")))
	if v := text("#verdict"); !strings.Contains(v, "この証明書は真正です") {
		t.Errorf("verdict %q", v)
	}
	if c := text("#content"); !strings.Contains(c, "酒田 一郎") {
		t.Errorf("content %q", c)
	}
	browsertest.Screenshot(t, b, "verify-genuine")

	forged := *iss.Payload
	forged.Digest = ContentDigest("住民票の写し\n氏名 鳥海 二郎")
	do("verify a forged QR",
		chromedp.SetValue(css("#qr"), forged.Text()),
		chromedp.Click(css("#verify")),
		chromedp.WaitVisible(css("#reason")))
	if r := text("#reason"); !strings.Contains(r, "偽造された可能性があります") {
		t.Errorf("reason %q", r)
	}
	browsertest.Screenshot(t, b, "verify-forged")

	do("English", chromedp.Navigate(e.web.URL("/lang?to=en&back=/verify")), chromedp.WaitVisible(css("#qr")),
		chromedp.SendKeys(css("#qr"), iss.QRText), chromedp.Click(css("#verify")), chromedp.WaitVisible(css("#verdict")))
	if v := text("#verdict"); !strings.Contains(v, "This certificate is genuine") {
		t.Errorf("English verdict %q", v)
	}
	browsertest.Screenshot(t, b, "verify-genuine-en")
}
