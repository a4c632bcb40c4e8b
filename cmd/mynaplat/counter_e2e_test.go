package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/mynaplat/mynaplat/demo"
	"github.com/mynaplat/mynaplat/internal/browsertest"
	"github.com/mynaplat/mynaplat/staff"
)

// demoCounterStaff is the card ID and PIN of the demo counter staff member
// of 酒田市's counter in role (demo.Staff), in the demo world at data.
func demoCounterStaff(t *testing.T, bin, data string, role staff.Role) (string, string) {
	t.Helper()
	for _, sp := range demo.Staff {
		if sp.Office == "counter:062049" && sp.Role == role {
			return demoCardID(t, bin, data, sp.Name), sp.AuthPIN
		}
	}
	t.Fatalf("no demo %s at counter:062049", role)
	return "", ""
}

// staffCardApprove is the chromedp steps of a supervisor approving the
// clerk's request shown on the page: the request sends them to the staff
// terminal, their card and PIN go through the kit's screens, and the
// hand-over takes the approval back to the request.
func staffCardApprove(cardID, pin string) []chromedp.Action[chromedp.Void] {
	return []chromedp.Action[chromedp.Void]{
		chromedp.WaitVisible(css("#approve-at-desk")), chromedp.Click(css("#approve-at-desk")),
		chromedp.WaitVisible(css("#desk-office")), chromedp.WaitVisible(css("#place")),
		chromedp.SetValue(css("#card"), cardID), chromedp.Click(css("#place")), chromedp.WaitVisible(css("#pin")),
		browsertest.PinPad(pin), chromedp.Click(css("#login")), chromedp.WaitVisible(css("#handoff-go")),
		chromedp.Click(css("#handoff-go")),
	}
}

// counterFlow: the municipal counter (/counter/, the counter role) serves
// no one who is not signed in as its staff, in either topology: a page
// sends to the staff sign-in, a form is refused, and the sign-in page
// sends to the staff terminal. 酒田市's clerk signs in there with their
// card (in the split topology the terminal hands the card login over to
// the counter's host), issues a card to a new resident of 酒田市, renews it
// and records its loss with the supervisor's approval, made at the staff
// terminal too; each step goes from the counter's pages to the JPKI centre
// over the counter API.
func counterFlow(t *testing.T, r *flowRun) outcome {
	u := r.tp.at(roleCounter)
	o := outcome{}
	nf := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, path := range []string{"/counter/", "/counter/issue", "/counter/cards/x", "/counter/requests/x"} {
		resp, err := nf.Get(u + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		o["GET "+path] = resp.Status + " " + resp.Header.Get("Location")
	}
	resp, err := http.PostForm(u+"/counter/issue", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	o["POST /counter/issue"] = resp.Status
	r.do("the counter's sign-in", chromedp.Navigate(u+"/counter/"), chromedp.WaitVisible(css("#staff-signin")))
	o["sign-in"] = has(r.text("main"), "職員ログイン", "酒田市")
	o["sign-in desk"] = has(r.attr("#staff-signin", "href"), "/staffdesk/?office=counter%3A062049&state=")
	r.shot("counter-0-signin")
	clerkCard, clerkPIN := demoCounterStaff(t, r.tp.bin, r.tp.data, staff.CounterClerk)
	superCard, superPIN := demoCounterStaff(t, r.tp.bin, r.tp.data, staff.CounterSupervisor)
	r.do("the clerk signs in", staffCardSignIn(u, "/counter/", clerkCard, clerkPIN)...)
	if got := r.text("#strip-name"); got != "日和山　翼" {
		t.Errorf("strip name %q", got)
	}
	r.do("the issue form", chromedp.Navigate(u+"/counter/issue"), chromedp.WaitVisible(css("#f-name")),
		chromedp.SendKeys(css("#f-name"), "窓口 太郎"), chromedp.SendKeys(css("#f-kana"), "マドグチ タロウ"),
		chromedp.SendKeys(css("#f-birth"), "1990-04-01"), chromedp.Click(css(`input[name=sex][value="1"]`)),
		chromedp.SendKeys(css("#f-address"), "山形県酒田市本町一丁目２番地"), chromedp.SetValue(css("#f-municipality"), "062049"),
		chromedp.SendKeys(css("#f-auth_pin"), "2468"), chromedp.SendKeys(css("#f-sign_pin"), "COUNTER1"))
	r.do("issue", chromedp.Click(css(`form[action="/counter/issue"] button[type=submit]`)), chromedp.WaitVisible(css(".flash")))
	if got := has(r.text(".flash"), "カードを発行しました", "利用者証明用電子証明書 シリアル", "署名用電子証明書 シリアル"); got != "yes" {
		t.Errorf("issued: %s", got)
	}
	r.shot("counter-1-issued")
	loc, err := chromedp.Run(r.ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	r.do("renew", chromedp.Navigate(loc), chromedp.WaitVisible(css("details.action")),
		chromedp.Click(css(`details:has(form[action$="/renew"]) > summary`)),
		chromedp.Click(css(`form[action$="/renew"] button[type=submit]`)), chromedp.WaitVisible(css(".flash")))
	if got := has(r.text(".flash"), "電子証明書を更新しました", "superseded"); got != "yes" {
		t.Errorf("renewed: %s", got)
	}
	r.shot("counter-2-renewed")
	r.do("prepare the loss", chromedp.Navigate(loc), chromedp.WaitVisible(css("details.action")),
		chromedp.Click(css(`details:has(#loss-request) > summary`)),
		chromedp.Click(css(`form:has(#loss-request) input[name=identity][value=documents]`)),
		chromedp.Click(css("#loss-request")), chromedp.WaitVisible(css("#awaiting-approval")))
	r.do("the supervisor approves", staffCardApprove(superCard, superPIN)...)
	r.do("approved", chromedp.WaitVisible(css("#approved")))
	r.do("run the loss", chromedp.Click(css("#request-run")), chromedp.WaitVisible(css("#holder")), chromedp.WaitVisible(css(".flash")))
	lost := r.text(".flash")
	if got := has(lost, "紛失の届出を受け付け", "keyCompromise", "山居　節子"); got != "yes" || strings.Count(lost, "シリアル") != 2 {
		t.Errorf("lost: %s\n%s", got, lost)
	}
	r.shot("counter-3-lost")
	return o
}
