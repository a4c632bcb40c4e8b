package web_test

import (
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/mynaplat/mynaplat/internal/browsertest"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// TestInBrowser renders the shared pages in chromium at the kiosk size and
// checks that the optional PIN pad types into the PIN field under the
// site's Content-Security-Policy.
func TestInBrowser(t *testing.T) {
	a := newApp(t, storetest.SQLite(t))
	ctx := browsertest.New(t)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }

	for _, page := range []struct{ path, name string }{{"/", "home"}, {"/no/such/page", "not-found"}} {
		if err := chromedp.Do(ctx, chromedp.Navigate(a.web.URL(page.path)), chromedp.WaitVisible(css("h1"))); err != nil {
			t.Fatal(err)
		}
		browsertest.Screenshot(t, ctx, page.name)
	}

	if err := chromedp.Do(ctx, chromedp.Navigate(a.web.URL("/pinpad")), chromedp.WaitVisible(css(".pinpad"))); err != nil {
		t.Fatalf("the PIN pad did not appear (pinpad.js not run?): %v", err)
	}
	for _, key := range []string{"1", "2", "3", "back", "9", "4", "7"} { // 7 is past maxlength
		if err := chromedp.Do(ctx, chromedp.Click(css(`.pinpad button[data-key="`+key+`"]`))); err != nil {
			t.Fatal(err)
		}
	}
	got, err := chromedp.Run(ctx, chromedp.Value(css("#pin")))
	if err != nil {
		t.Fatal(err)
	}
	if got != "1294" {
		t.Errorf("PIN field %q, want 1294", got)
	}
	browsertest.Screenshot(t, ctx, "pinpad")

	// A page that loads the script twice (issue 14: the layout and the
	// terminal screen both did) still types one digit per press.
	if err := chromedp.Do(ctx, chromedp.Navigate(a.web.URL("/pinpad-twice")), browsertest.PinPad("2580")); err != nil {
		t.Error(err)
	}
}
