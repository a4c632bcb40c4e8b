package body

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mynaplat/mynaplat/internal/browsertest"
	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/procure/contract"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// TestContractPagesInBrowser drives the officers' contract pages in
// chromium: an officer signed in with their card prepares the contract on
// the awarded tender's page and sees its timeline; once the agent has
// signed (through the API) the officer signs on the page with their own
// card — the staff signing handoff: the office sends the browser to the
// staff terminal, the card on its reader, the signing password, and the
// desk's page takes the signature back to the office — and then records the passed inspection the same
// way; after the agent's acceptance and invoice the timeline page shows
// every element verified, and pdfsig calls both signatures of the final
// PDF valid. Screenshots are the test's artifacts (go test -artifacts
// keeps them).
func TestContractPagesInBrowser(t *testing.T) {
	cw := newContractWorld(t, storetest.SQLite(t))
	srv, iss := cw.signingServer(t)
	home := OfficeHome("kanto")
	id := contractID(cw.tn.ID)
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
	c := webtest.New(t, srv)
	iss.SignInAs(c, home, cw.officerID, time.Now())
	browsertest.HandOver(t, b, c, srv+"/")
	tender := srv + home + "tenders/" + url.PathEscape(cw.tn.ID)
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

	// The agent signs through the API.
	cw.clock.Set(t0.Add(3 * time.Hour))
	cw.agentSigns(t, id)
	cw.clock.Set(t0.Add(4 * time.Hour))
	page := srv + home + "contracts/" + id
	do("the officer's turn", chromedp.Navigate(page), chromedp.WaitVisible(css("#officer-sign-go")))
	browsertest.Screenshot(t, b, "contract-officer-turn")
	// signWith runs the staff signing step: the officer's own card on the
	// reader, then the signing password.
	signWith := func(what, shot string) {
		t.Helper()
		do(what+": place the card", chromedp.WaitVisible(css("#place")), chromedp.SetValue(css("#card"), cw.officer.ID()),
			chromedp.Click(css("#place")), chromedp.WaitVisible(css("#password")))
		browsertest.Screenshot(t, b, shot)
		do(what+": the signing password", chromedp.SendKeys(css("#password"), cardPIN), chromedp.Click(css("#sign-ok")),
			chromedp.WaitVisible(css("#signback-go")))
		browsertest.Screenshot(t, b, shot+"-back")
		do(what+": back to the office", chromedp.Click(css("#signback-go")), chromedp.WaitVisible(css("#timeline")))
	}
	do("sign", chromedp.Click(css("#officer-sign-go")), chromedp.WaitVisible(css("#sign-what")))
	browsertest.Screenshot(t, b, "contract-officer-sign")
	signWith("the officer signs", "contract-officer-password")
	if got := browsertest.Text(t, b, "#next"); !strings.Contains(got, "検査") {
		t.Errorf("next after the officer's signature: %q", got)
	}
	browsertest.Screenshot(t, b, "contract-officer-signed")

	cw.clock.Set(t0.Add(28 * time.Hour))
	do("inspect", chromedp.SendKeys(css("#inspect-note"), "数量・外観とも仕様どおり"), chromedp.Click(css("#inspect-pass")),
		chromedp.WaitVisible(css("#sign-what")))
	if got := browsertest.Text(t, b, "#sign-what"); !strings.Contains(got, contract.Passed) || !strings.Contains(got, "数量・外観とも仕様どおり") {
		t.Errorf("what the inspection's signing says: %q", got)
	}
	browsertest.Screenshot(t, b, "contract-inspection-sign")
	signWith("the officer records the inspection", "contract-inspection-password")
	if got := browsertest.Text(t, b, "#next"); !strings.Contains(got, "受領") {
		t.Errorf("next after the inspection: %q", got)
	}
	browsertest.Screenshot(t, b, "contract-inspected")

	cw.agentSteps(t, id)
	do("the complete timeline", chromedp.Navigate(page), chromedp.WaitVisible(css("#timeline")))
	if got := browsertest.Text(t, b, "#timeline"); !strings.Contains(got, "TOTAL_PASSED") {
		t.Errorf("timeline: %q", got)
	}
	if got := browsertest.Text(t, b, "#next"); got != "完了" {
		t.Errorf("next at the end: %q", got)
	}
	browsertest.Screenshot(t, b, "contract-timeline")
	pdfsig(t, cw.contract(t, id).pdf)
}
