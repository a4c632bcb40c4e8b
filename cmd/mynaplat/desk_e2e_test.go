package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/mynaplat/mynaplat/demo"
	"github.com/mynaplat/mynaplat/internal/browsertest"
)

// TestDeskInBrowser is the company desk (docs/procurement.md §5.1) on the
// demo: 須坂テック's representative 須坂 花子 logs in at /desk/ with her card,
// confirms with her signing password, is refused sub-delegation together
// with 入札, grants 須坂 健太 a power for the qualification and bids, sees it
// active, and revokes it. 須坂 健太 himself is refused as the representative.
// He then files a qualification application under the demo power, and the
// register's notice of the new agent shows on her desk.
func TestDeskInBrowser(t *testing.T) {
	bin := buildBinary(t)
	data := t.TempDir()
	url, serverLog := startServerLogged(t, bin, "--demo", "--data", data)
	r := newFlowRun(t, sameURL(bin, data, url))
	r.log = serverLog
	shot, do, text := r.shot, r.do, r.text
	contains := func(what, got string, wants ...string) {
		t.Helper()
		if h := has(got, wants...); h != "yes" {
			t.Errorf("%s %s", what, h)
		}
	}
	login := func(holder, pin string) {
		t.Helper()
		do("the desk", chromedp.Navigate(url+"/desk/"), chromedp.WaitVisible(css("#login")))
		do("log in with "+holder+"'s card", chromedp.Click(css("#login")), chromedp.WaitVisible(css("#place")),
			chromedp.SetValue(css("#card"), r.card(holder)), chromedp.Click(css("#place")), chromedp.WaitVisible(css("#pin")),
			browsertest.PinPad(pin), chromedp.Click(css("#login")), chromedp.WaitVisible(css("#confirm")))
	}

	do("demo page", chromedp.Navigate(url+"/demo"), chromedp.WaitVisible(css("#demo-desk-agent-id")))
	agentID := strings.TrimSpace(text("#demo-desk-agent-id"))
	if len(agentID) != 32 {
		t.Fatalf("the agent's platform ID on /demo: %q", agentID)
	}

	// The agent is not the representative.
	login(demo.ProcureAgent, "2345")
	do("confirm as the agent", chromedp.SendKeys(css("#password"), "KENTA1978"), chromedp.Click(css("#confirm")),
		chromedp.WaitVisible(css("div.flash-error")))
	contains("the agent refused", text("div.flash-error"), "現在の代表者と一致しません", "何も署名・登録していません")
	shot("desk-01-not-representative")
	do("log out", chromedp.Click(css("#logout")), chromedp.WaitVisible(css("#login")))

	// The representative.
	login(demo.SuzakaTech.Representative, "1234")
	contains("the confirmation", text("main"), demo.SuzakaTech.NameJA, demo.SuzakaTech.Number)
	shot("desk-02-confirm")
	do("confirm", chromedp.SendKeys(css("#password"), "SUZAKA1980"), chromedp.Click(css("#confirm")), chromedp.WaitVisible(css("#grant-submit")))
	contains("confirmed", text("div.flash-ok"), "須坂　花子")
	contains("the desk", text("#representative"), "須坂　花子")
	shot("desk-03-home")
	fill := func() {
		t.Helper()
		do("fill the grant", chromedp.SendKeys(css("#agent-id"), agentID), chromedp.SetValue(css("#agent-name"), demo.ProcureAgent),
			chromedp.Click(css("#matter-0")), chromedp.Click(css("#matter-1")))
	}
	fill()
	do("ask for sub-delegation with 入札", chromedp.Click(css("#sub")), chromedp.Click(css("#grant-submit")), chromedp.WaitVisible(css("div.flash-error")))
	contains("sub-delegation with 入札", text("div.flash-error"), "復代理", "何も署名・登録していません")
	shot("desk-04-sub-delegated-bid")
	fill()
	shot("desk-05-grant-form")
	do("grant", chromedp.Click(css("#grant-submit")), chromedp.WaitVisible(css("div.flash-ok")))
	contains("granted", text("div.flash-ok"), "委任状を発行しました", "委任状ID")
	contains("the list", text("#powers"), demo.ProcureAgent, "競争参加資格申請", "入札", "有効")
	if n := r.count(`#powers tr[data-status="active"]`); n != 1 {
		t.Errorf("%d active powers listed, want 1", n)
	}
	shot("desk-06-granted")
	do("revoke", chromedp.Click(css(`#powers button[id^="revoke-"]`)), chromedp.WaitVisible(css(`#powers tr[data-status="revoked"]`)))
	contains("revoked", text("div.flash-ok"), "失効させました")
	if n := r.count(`#powers tr[data-status="revoked"]`); n != 1 {
		t.Errorf("%d revoked powers listed, want 1", n)
	}
	shot("desk-07-revoked")
	contains("no notices yet", text("#notices"), "お知らせはありません")

	// The demo agent files an application under the demo power; the
	// register's notice of the new agent reaches the desk (§3 rule 4).
	do("log out of the desk", chromedp.Click(css("#logout")), chromedp.WaitVisible(css("#login")))
	do("the agent's page", chromedp.Navigate(url+"/procure/agent/"), chromedp.WaitVisible(css("#login")))
	do("the agent logs in", chromedp.Click(css("#login")), chromedp.WaitVisible(css("#place")),
		chromedp.SetValue(css("#card"), r.card(demo.ProcureAgent)), chromedp.Click(css("#place")), chromedp.WaitVisible(css("#pin")),
		browsertest.PinPad("2345"), chromedp.Click(css("#login")), chromedp.WaitVisible(css("#new")))
	do("the form", chromedp.Click(css("#new")), chromedp.WaitVisible(css("#apply-form")))
	powerID := r.attr("#power", "value")
	do("fill it", chromedp.SetValue(css("#founded"), "1998-04-01"),
		chromedp.Click(css(`input[name="field"][value="service"]`)), chromedp.Click(css(`input[name="items_service"][value="情報処理"]`)),
		chromedp.Click(css(`input[name="region"][value="関東・甲信越"]`)),
		chromedp.SetValue(css("#sales"), "450000000"), chromedp.SetValue(css("#equity"), "120000000"),
		chromedp.SetValue(css("#assets"), "200000000"), chromedp.SetValue(css("#liabilities"), "90000000"),
		chromedp.SetValue(css("#years"), "27"), chromedp.SetValue(css("#equipment"), "0"),
		chromedp.Click(css("#tax")), chromedp.SendKeys(css("#password"), "KENTA1978"))
	do("sign and apply", chromedp.Click(css("#sign")), chromedp.WaitVisible(css("#applications")))
	contains("filed", text("div.flash-ok"), "受け付けました")
	do("the agent logs out", chromedp.Click(css("#logout")), chromedp.WaitVisible(css("#login")))
	login(demo.SuzakaTech.Representative, "1234")
	do("confirm again", chromedp.SendKeys(css("#password"), "SUZAKA1980"), chromedp.Click(css("#confirm")), chromedp.WaitVisible(css("#notices li.notice")))
	contains("the notice", text("#notices"), "新しい代理人", demo.ProcureAgent, agentID, powerID)
	if n := r.count("#notices li.notice"); n != 1 {
		t.Errorf("%d notices shown, want 1", n)
	}
	do("the notices", chromedp.ScrollIntoView(css("#notices")))
	shot("desk-08-notice")
}
