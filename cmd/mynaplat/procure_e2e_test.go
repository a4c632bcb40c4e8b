package main

import (
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mynaplat/mynaplat/demo"
	"github.com/mynaplat/mynaplat/internal/browsertest"
	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/procure"
)

// TestProcureInBrowser is the qualification of slice 1 of
// docs/procurement.md on the demo: 須坂 健太, the agent of 株式会社須坂テック
// under its representative's power of attorney, logs in with his card at
// the company's PC, picks the company from the list of those he may act
// for (his powers in effect), fills the one application and signs it with
// the card;
// without the tax declaration it is refused and nothing is sent. The
// register's officer signs in with her own card at the staff terminal,
// opens it (audited) and asks for a correction; the agent sees it and
// signs the corrected application again; the officer grants it; the
// public list and the bodies' read API show the grades. When the company
// then changes its name, his page says the power is in the former name.
func TestProcureInBrowser(t *testing.T) {
	bin := buildBinary(t)
	data := t.TempDir()
	url := startServer(t, bin, "--demo", "--data", data)
	r := newFlowRun(t, sameURL(bin, data, url))
	contains := func(what, got string, wants ...string) {
		t.Helper()
		if h := has(got, wants...); h != "yes" {
			t.Errorf("%s %s", what, h)
		}
	}

	// 1. The agent logs in with his card.
	r.do("the agent's page", chromedp.Navigate(url+"/procure/agent/"), chromedp.WaitVisible(css("#login")))
	r.shot("procure-01-agent-login")
	r.do("log in with the card", chromedp.Click(css("#login")), chromedp.WaitVisible(css("#place")),
		chromedp.SetValue(css("#card"), r.card(demo.ProcureAgent)), chromedp.Click(css("#place")), chromedp.WaitVisible(css("#pin")),
		browsertest.PinPad("2345"), chromedp.Click(css("#login")), chromedp.WaitVisible(css("#powers")))
	// The companies he may act for: the register asked the delegation
	// register for his powers in effect; nobody types a 法人番号 or an ID.
	contains("the companies he may act for", r.text("#powers"), demo.SuzakaTech.NameJA, demo.SuzakaTech.Number,
		procure.MatterQualify, procure.MatterBid, procure.MatterContract, procure.MatterInvoice)
	power := r.attr("#powers tbody tr", "data-power")
	if got := r.attr("#powers tbody tr", "data-corp"); got != demo.SuzakaTech.Number || power == "" {
		t.Errorf("the listed power %q of %q, want one of the demo company's", power, got)
	}
	r.shot("procure-02-agent-home")

	// 2. He picks the company, fills the application and signs it.
	r.do("the form", chromedp.Click(css("#apply-"+power)), chromedp.WaitVisible(css("#apply-form")))
	if got := r.attr(`input[name="power"]:checked`, "data-corp"); got != demo.SuzakaTech.Number {
		t.Errorf("the form's corporation %q, want the demo company's", got)
	}
	if got := r.attr(`input[name="power"]:checked`, "value"); got != power {
		t.Errorf("the form's power %q, want the picked %q", got, power)
	}
	if n := r.count("#corp"); n != 0 {
		t.Errorf("the form still asks to type the corporate number")
	}
	r.do("fill it", chromedp.SetValue(css("#founded"), "1998-04-01"),
		chromedp.Click(css(`input[name="field"][value="service"]`)), chromedp.Click(css(`input[name="items_service"][value="情報処理"]`)),
		chromedp.Click(css(`input[name="items_service"][value="ソフトウェア開発"]`)),
		chromedp.Click(css(`input[name="field"][value="sale"]`)), chromedp.Click(css(`input[name="items_sale"][value="電子計算機類"]`)),
		chromedp.Click(css(`input[name="region"][value="関東・甲信越"]`)),
		chromedp.SetValue(css("#sales"), "450000000"), chromedp.SetValue(css("#equity"), "120000000"),
		chromedp.SetValue(css("#assets"), "200000000"), chromedp.SetValue(css("#liabilities"), "90000000"),
		chromedp.SetValue(css("#years"), "27"), chromedp.SetValue(css("#equipment"), "0"),
		chromedp.SendKeys(css("#password"), "KENTA1978"))
	r.do("sign without the tax declaration", chromedp.Click(css("#sign")), chromedp.WaitVisible(css("div.flash-error")))
	contains("the refusal", r.text("div.flash-error"), "何も送信していません", "未納の税額がないことの申告がありません")
	if got := r.attr("#sales", "value"); got != "450000000" {
		t.Errorf("the form after the refusal keeps sales %q", got)
	}
	r.shot("procure-03a-refused")
	// A power that is not one of his in effect (a page altered by hand) is
	// refused before the card signs anything.
	r.do("sign under a power not listed", chromedp.Click(css("#tax")),
		chromedp.SetAttributeValue(css(`input[name="power"]:checked`), "value", "0123456789abcdef0123456789abcdef"),
		chromedp.SendKeys(css("#password"), "KENTA1978"), chromedp.Click(css("#sign")),
		// The refused form comes back with no power picked (the one sent is
		// not in the list); the flash of the previous refusal is on the page
		// until then.
		chromedp.WaitNotPresent(css(`input[name="power"]:checked`)), chromedp.WaitVisible(css("div.flash-error")))
	contains("the refusal", r.text("div.flash-error"), "何も送信していません", "一覧から選んでください")
	r.shot("procure-03b-power-not-listed")
	r.do("pick the power and sign", chromedp.Click(css(`input[name="power"][value="`+power+`"]`)), chromedp.SendKeys(css("#password"), "KENTA1978"))
	r.shot("procure-03-application")
	r.do("sign and apply", chromedp.Click(css("#sign")), chromedp.WaitVisible(css("#applications")))
	contains("filed message", r.text("div.flash-ok"), "受け付けました")
	if got := r.attr("#applications tbody tr", "data-state"); got != "submitted" {
		t.Errorf("the application's state %q", got)
	}
	r.shot("procure-04-filed")

	// 3. The officer signs in with her card, opens it and grants it.
	r.staffLogin(url, "/procure/office/", "統一　審査", "procure-05-officer")
	r.do("the list", chromedp.WaitVisible(css("#submitted")))
	contains("the list", r.text("#submitted"), demo.SuzakaTech.NameJA, demo.ProcureAgent)
	r.shot("procure-06-office")
	r.do("open it", chromedp.Click(css("#submitted tbody a")), chromedp.WaitVisible(css("#grant")))
	contains("the application", r.text("main"), demo.SuzakaTech.Number, "情報処理", "電子計算機類", demo.SuzakaTech.Representative)
	appURL := r.url()
	r.shot("procure-07-application")
	r.do("ask for a correction", chromedp.SendKeys(css("#note_ja"), "営業年数を登記簿で確認してください。"),
		chromedp.SendKeys(css("#note_en"), "Check the years in business against the register."),
		chromedp.Click(css("#correct")), chromedp.WaitVisible(css("div.flash-ok")), chromedp.WaitVisible(css("#correction")))
	r.shot("procure-07a-correction-asked")

	// The agent (whose card login the staff sign-in in this browser
	// replaced: one card login per browser session) logs in again, his card
	// still on the PC's reader, sees the request and signs again.
	agentAgain := func(what string) {
		t.Helper()
		r.do(what, chromedp.Navigate(url+"/procure/agent/"), chromedp.WaitVisible(css("#login")),
			chromedp.Click(css("#login")), chromedp.WaitVisible(css("#pin")),
			browsertest.PinPad("2345"), chromedp.Click(css("#login")), chromedp.WaitVisible(css("#applications")))
	}
	agentAgain("the agent logs in again")
	contains("the request", r.text("#applications"), "営業年数を登記簿で確認してください。")
	r.shot("procure-07b-agent-sees-correction")
	r.do("correct", chromedp.Click(css(`#applications a[id^="correct-"]`)), chromedp.WaitVisible(css("#correction-asked")),
		chromedp.SetValue(css("#years"), "26"), chromedp.SendKeys(css("#password"), "KENTA1978"),
		chromedp.Click(css("#sign")), chromedp.WaitVisible(css("div.flash-ok")))
	contains("the second version", r.text("div.flash-ok"), "第2版")
	r.shot("procure-07c-corrected")
	// The officer's session at the office outlives the agent's card login.
	r.do("the corrected application", chromedp.Navigate(appURL), chromedp.WaitVisible(css("#grant")))
	contains("the corrected application", r.text("#about"), "第2版")
	r.do("grant", chromedp.Click(css("#grant")), chromedp.WaitVisible(css("div.flash-ok")))
	r.shot("procure-08-granted")

	// 4. The public list and the bodies' read API.
	r.do("the public list", chromedp.Navigate(url+"/procure/list"), chromedp.WaitVisible(css("#list")))
	contains("the public list", r.text("#list"), demo.SuzakaTech.NameJA, demo.SuzakaTech.Number, "役務の提供等", "物品の販売")
	r.shot("procure-09-list")
	var q procure.Qualification
	webtest.New(t, url).Step(webtest.Step{Name: "the read API", Path: "/procure/v1/qualifications/" + demo.SuzakaTech.Number}).JSON(&q)
	if q.Code == "" || q.Grade(procure.FieldService) == "" || q.Grade(procure.FieldSale) == "" || !q.ValidUntil.After(time.Now().AddDate(1, 0, 0)) {
		t.Errorf("the read API: %+v", q)
	}
	// 5. The agent (still logged in: no staff sign-in since) sees the grant.
	r.do("the agent's page", chromedp.Navigate(url+"/procure/agent/"), chromedp.WaitVisible(css("#applications")))
	if got := r.attr("#applications tbody tr", "data-state"); got != "granted" {
		t.Errorf("the agent sees state %q", got)
	}
	r.shot("procure-10-agent-granted")

	// 6. The company changes its name (商号変更, at the registry's command
	// line beside the running demo): his page still lists the power, says
	// it is in the former name and no longer offers to apply under it.
	if out, err := exec.Command(bin, "corpreg", "rename", "--data", data, "--corp", demo.SuzakaTech.Number,
		"--name", "株式会社須坂テックホールディングス").CombinedOutput(); err != nil {
		t.Fatalf("corpreg rename: %v\n%s", err, out)
	}
	r.do("the agent's page after the change of name", chromedp.Navigate(url+"/procure/agent/"), chromedp.WaitVisible(css("#powers .name-changed")))
	contains("the power in the former name", r.text("#powers"), demo.SuzakaTech.NameJA, "商号変更前の委任状", "株式会社須坂テックホールディングス")
	if n := r.count(`#powers a[id^="apply-"], #new`); n != 0 {
		t.Errorf("the page still offers to apply under the power in the former name")
	}
	r.shot("procure-11-name-changed")
}
