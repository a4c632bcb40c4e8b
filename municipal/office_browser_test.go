package municipal

import (
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/mynaplat/mynaplat/internal/browsertest"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/web"
)

// TestRegistrationQueueInBrowser drives 山形市's back office in chromium at
// the kiosk size: sign in as the registry clerk, follow the main page's link to
// the registration queue, see the certificate beside the closest 戸籍
// member with the differing fields marked, approve one and reject another.
// Screenshots are the test's artifacts (go test -artifacts keeps them).
func TestRegistrationQueueInBrowser(t *testing.T) {
	q := yamagataQueue()
	_, _, srv, st := muniServerWith(t, storetest.SQLite(t), q)

	b := browsertest.New(t)
	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(b, chromedp.Text(css(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return v
	}
	count := func(sel string) int {
		t.Helper()
		n, err := chromedp.Run(b, chromedp.Evaluate[int](`document.querySelectorAll(`+"`"+sel+"`"+`).length`))
		if err != nil {
			t.Fatalf("count %s: %v", sel, err)
		}
		return n
	}
	do := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(b, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	// The card sign-in at the staff terminal is the staff package's and
	// the terminals' browser test; here the clerk's signed-in session is
	// handed to the browser.
	c := srv.With(t)
	st.signIn(c, "062014")
	u, err := url.Parse(srv.URL("/"))
	if err != nil {
		t.Fatal(err)
	}
	for _, ck := range c.HTTP().Jar.Cookies(u) {
		if ck.Name == web.SessionCookie {
			// A page that starts no session of its own, then the cookie.
			do("hand over the session", chromedp.Navigate(srv.URL("/static/style.css")))
			if _, err := chromedp.Run(b, chromedp.Evaluate[string](`document.cookie = "`+ck.Name+`=`+ck.Value+`; path=/"`)); err != nil {
				t.Fatal(err)
			}
		}
	}
	do("open the office", chromedp.Navigate(srv.URL("/municipal/062014/office/")), chromedp.WaitVisible(css("#reg-queue-link")))
	if got := text("#strip-name"); got != clerkName("062014") {
		t.Errorf("the staff strip names %q", got)
	}
	if got := text("#reg-queue-link"); !strings.Contains(got, "確認待ち") || text("#reg-queue-count") != "3" {
		t.Errorf("the link to the queue: %q", got)
	}
	browsertest.Screenshot(t, b, "office-main")

	do("open the queue", chromedp.Click(css("#reg-queue-link")), chromedp.WaitVisible(css("#r-reg-birth")))
	if got := text("#r-reg-birth tr.differs"); !strings.Contains(got, "昭和50年6月3日") || !strings.Contains(got, "昭和50年6月30日") || !strings.Contains(got, "不一致") {
		t.Errorf("the birth date row: %q", got)
	}
	if n := count("#r-reg-birth tr.differs"); n != 1 {
		t.Errorf("%d rows of reg-birth marked, want the birth date only", n)
	}
	if got := text("#r-reg-name tr.differs"); !strings.Contains(got, "酒田　一朗") || !strings.Contains(got, "酒田　一郎") {
		t.Errorf("the name row: %q", got)
	}
	if n := count("#r-reg-stranger tr.differs"); n != 3 || count("#r-reg-stranger .member-none") != 1 {
		t.Errorf("the stranger: %d rows marked, want 3 and the notice", n)
	}
	if n := count("#r-reg-sakata"); n != 0 {
		t.Error("酒田市's registration is in 山形市's queue")
	}
	browsertest.Screenshot(t, b, "office-registrations")
	do("in English", chromedp.Navigate(srv.URL("/municipal/062014/office/registrations?lang=en")), chromedp.WaitVisible(css("#r-reg-birth")))
	if got := text("#r-reg-stranger tr.field-sex"); !strings.Contains(got, "female") || !strings.Contains(got, "differs") {
		t.Errorf("the sex row in English: %q", got)
	}
	browsertest.Screenshot(t, b, "office-registrations-en")
	do("back in Japanese", chromedp.Navigate(srv.URL("/municipal/062014/office/registrations?lang=ja")), chromedp.WaitVisible(css("#r-reg-birth")))
	// On a phone each field of the comparison is a box of its own, and
	// the page does not scroll sideways.
	do("on a phone", chromedp.EmulateViewport(390, 844), chromedp.WaitVisible(css("#r-reg-birth")))
	l, err := chromedp.Run(b, browsertest.MeasureLayout())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range l.Problems(true) {
		t.Errorf("the queue at 390 px: %s", p)
	}
	browsertest.Screenshot(t, b, "office-registrations-390")
	do("back on the desktop", chromedp.EmulateViewport(1024, 600))

	// The pages before and after a decision both have a flash (login, the
	// decision before): wait for the decided one to leave the queue.
	do("approve", chromedp.Click(css(`#r-reg-birth button[value=approve]`)), chromedp.WaitNotPresent(css("#r-reg-birth")))
	if msg := text(".flash"); !strings.Contains(msg, "承認しました") {
		t.Errorf("approve flash %q", msg)
	}
	browsertest.Screenshot(t, b, "office-registrations-approved")
	do("reject", chromedp.Click(css(`#r-reg-name button[value=reject]`)), chromedp.WaitNotPresent(css("#r-reg-name")))
	if msg := text(".flash"); !strings.Contains(msg, "却下しました") {
		t.Errorf("reject flash %q", msg)
	}
	do("reject the stranger", chromedp.Click(css(`#r-reg-stranger button[value=reject]`)), chromedp.WaitVisible(css("#queue-empty")))
	browsertest.Screenshot(t, b, "office-registrations-empty")
	for id, approved := range map[string]bool{"reg-birth": true, "reg-name": false, "reg-stranger": false} {
		if r := q.get(id); !r.decided || r.approved != approved || r.clerk != yamagataClerk {
			t.Errorf("%s: %+v", id, r)
		}
	}
	if q.get("reg-sakata").decided {
		t.Error("酒田市's registration was decided")
	}
}
