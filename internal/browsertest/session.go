package browsertest

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/web"
)

// HandOver gives the browser the web session of c at base (a staff member
// that c signed in with stafftest, say), so that a browser test starts
// where an HTTP test left off; both then share one session. The card
// sign-in at the staff terminal is the terminals' own browser test.
func HandOver(t *testing.T, ctx context.Context, c *webtest.Client, base string) {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	for _, ck := range c.HTTP().Jar.Cookies(u) {
		if ck.Name != web.SessionCookie {
			continue
		}
		// A page that starts no session of its own, then the cookie.
		if err := chromedp.Do(ctx, chromedp.Navigate(strings.TrimSuffix(base, "/")+"/static/style.css")); err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.cookie = "`+ck.Name+`=`+ck.Value+`; path=/"`)); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatal("no session to hand over")
}
