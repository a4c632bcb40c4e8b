package body

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mynaplat/mynaplat/internal/browsertest"
	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// TestContractPagesInBrowser drives the officers' contract pages in
// chromium: an officer signed in with their card prepares the contract on
// the awarded tender's page and sees its timeline; after the signatures
// and the steps the timeline page shows every element verified.
// Screenshots are the test's artifacts (go test -artifacts keeps them).
func TestContractPagesInBrowser(t *testing.T) {
	cw := newContractWorld(t, storetest.SQLite(t))
	srv, iss := officeServer(t, cw.fixture, cw.officerID)
	home := OfficeHome("kanto")
	b := browsertest.New(t)
	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }
	do := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(b, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	// The card sign-in at the staff terminal is the staff package's
	// browser test; here the officer's session is handed to the browser.
	c := webtest.New(t, srv.URL)
	iss.SignInAs(c, home, cw.officerID, time.Now())
	browsertest.HandOver(t, b, c, srv.URL+"/")
	tender := srv.URL + home + "tenders/" + url.PathEscape(cw.tn.ID)
	do("open the awarded tender", chromedp.Navigate(tender), chromedp.WaitVisible(css("#contract-form")))
	browsertest.Screenshot(t, b, "contract-prepare")
	do("prepare the contract",
		chromedp.SetValue(css(`#contract-form input[name=delivery_date]`), "2027-01-05"),
		chromedp.SendKeys(css(`#contract-form input[name=delivery_place]`), "関東地方整備局 本局 倉庫"),
		chromedp.Click(css("#contract-submit")),
		chromedp.WaitVisible(css("#timeline")))
	if got := browsertest.Text(t, b, "#next"); !strings.Contains(got, "代理人の署名") {
		t.Errorf("next after preparing: %q", got)
	}
	browsertest.Screenshot(t, b, "contract-prepared")

	cw.finish(t, contractID(cw.tn.ID))
	do("the complete timeline", chromedp.Navigate(srv.URL+home+"contracts/"+contractID(cw.tn.ID)), chromedp.WaitVisible(css("#timeline")))
	if got := browsertest.Text(t, b, "#timeline"); !strings.Contains(got, "TOTAL_PASSED") {
		t.Errorf("timeline: %q", got)
	}
	if got := browsertest.Text(t, b, "#next"); got != "完了" {
		t.Errorf("next at the end: %q", got)
	}
	browsertest.Screenshot(t, b, "contract-timeline")
}
