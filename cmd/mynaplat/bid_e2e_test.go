package main

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mynaplat/mynaplat/demo"
	"github.com/mynaplat/mynaplat/internal/browsertest"
	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/procure"
	"github.com/mynaplat/mynaplat/procure/body"
)

// TestBidInBrowser is the agent's side of the sealed bid
// (docs/procurement.md §5.5) on the demo: 須坂 健太 qualifies 株式会社須坂テック
// (the agent signs the application, the register's officer grants it),
// then, logged in with his card at the company's PC, sees the demo's open
// tenders of 関東地方整備局 and 須坂市 with their opening certificates'
// fingerprints and bids at both: the card signs, the PC seals, the body
// answers a receipt that the PC verifies and lists. 関東地方整備局's officer
// publishes a tender due in a couple of minutes whose estimate lies in the
// company's grade; he bids; after the deadline the two officers open it
// (each their passphrase, as TestBodyOfficersPublishInBrowser) and the
// public result names the company as the winner; the first officer then
// prepares the contract, the agent signs it on his contract page, the
// officer signs it and records the inspection with his own card on the
// staff terminal's reader, and the agent accepts and invoices
// (contractInBrowser). Screenshots of each step.
func TestBidInBrowser(t *testing.T) {
	// Parallel: most of its time is waiting (a deadline, a bench's window)
	// on its own server, which the other waiting tests can share.
	t.Parallel()
	bin := buildBinary(t)
	data := t.TempDir()
	url := startServer(t, bin, "--demo", "--data", data)
	// The story waits for a deadline: a longer browser session than
	// newFlowRun's.
	r := &flowRun{t: t, ctx: browsertest.NewWithin(t, 10*time.Minute), tp: sameURL(bin, data, url), vars: map[string]string{}}
	contains := func(what, got string, wants ...string) {
		t.Helper()
		if h := has(got, wants...); h != "yes" {
			t.Errorf("%s %s", what, h)
		}
	}
	const signPW = "KENTA1978"

	// 1. The qualification (TestProcureInBrowser in short).
	r.do("the agent's page", chromedp.Navigate(url+"/procure/agent/"), chromedp.WaitVisible(css("#login")))
	r.do("log in with the card", chromedp.Click(css("#login")), chromedp.WaitVisible(css("#place")),
		chromedp.SetValue(css("#card"), r.card(demo.ProcureAgent)), chromedp.Click(css("#place")), chromedp.WaitVisible(css("#pin")),
		browsertest.PinPad("2345"), chromedp.Click(css("#login")), chromedp.WaitVisible(css("#powers")))
	power := r.attr("#powers tbody tr", "data-power")
	r.do("apply", chromedp.Click(css("#apply-"+power)), chromedp.WaitVisible(css("#apply-form")),
		chromedp.SetValue(css("#founded"), "1998-04-01"),
		chromedp.Click(css(`input[name="field"][value="sale"]`)), chromedp.Click(css(`input[name="items_sale"][value="電子計算機類"]`)),
		chromedp.Click(css(`input[name="region"][value="関東・甲信越"]`)),
		chromedp.SetValue(css("#sales"), "450000000"), chromedp.SetValue(css("#equity"), "120000000"),
		chromedp.SetValue(css("#assets"), "200000000"), chromedp.SetValue(css("#liabilities"), "90000000"),
		chromedp.SetValue(css("#years"), "27"), chromedp.SetValue(css("#equipment"), "0"), chromedp.Click(css("#tax")),
		chromedp.SendKeys(css("#password"), signPW), chromedp.Click(css("#sign")), chromedp.WaitVisible(css("#applications")))
	r.staffLogin(url, "/procure/office/", "統一　審査", "bid-00-register-officer")
	r.do("open the application", chromedp.WaitVisible(css("#submitted")), chromedp.Click(css("#submitted tbody a")), chromedp.WaitVisible(css("#grant")))
	r.do("grant", chromedp.Click(css("#grant")), chromedp.WaitVisible(css("div.flash-ok")))
	var q procure.Qualification
	webtest.New(t, url).Step(webtest.Step{Name: "the read API", Path: "/procure/v1/qualifications/" + demo.SuzakaTech.Number}).JSON(&q)
	grade := q.Grade(procure.FieldSale)
	var estimate int64
	for _, p := range procure.CurrentGradeTables().Fields[procure.FieldSale].Prices {
		if p.Grade == grade {
			estimate = p.Min
			if p.Below != nil && (estimate == 0 || estimate+1_000_000 < *p.Below) {
				estimate = max(estimate, (*p.Below)/2)
			}
		}
	}
	if estimate <= 0 {
		t.Fatalf("no band for grade %q in sale (%+v)", grade, q)
	}

	// 2. 関東地方整備局's officer publishes a tender due in two to three
	// minutes.
	first, second := "利根　正樹", "榛名　久美子"
	home := body.OfficeHome("kanto")
	jst := time.FixedZone("JST", 9*60*60)
	soon := time.Now().Add(3 * time.Minute).Truncate(time.Minute)
	// officer signs in at the body's office, whoever was signed in there.
	officer := func(name, shot string) {
		t.Helper()
		r.do("the office", chromedp.Navigate(url+home), chromedp.WaitReady(css("main")))
		if r.count("#staff-signin") == 0 {
			r.do("sign out", chromedp.Click(css("#staff-logout")), chromedp.WaitVisible(css("#staff-signin")))
		}
		r.staffLogin(url, home, name, shot)
	}
	officer(second, "bid-01-body-officer")
	r.do("publish", chromedp.Navigate(url+home), chromedp.WaitVisible(css("#publish-submit")),
		chromedp.SetValue(css("#title"), "ノートパソコンの購入"), chromedp.SetValue(css("#item"), "電子計算機類"),
		chromedp.SetValue(css("#field"), "sale"), chromedp.SetValue(css("#estimate"), strconv.FormatInt(estimate, 10)),
		chromedp.SetValue(css("#deadline"), soon.In(jst).Format("2006-01-02T15:04")), chromedp.SetValue(css("#k"), "2"),
		chromedp.Click(css("#publish-submit")), chromedp.WaitVisible(css("#tender")))
	soonID := r.attr("#tender", "data-id")

	// 3. The agent bids at both bodies' demo tenders, then at the new one.
	r.do("the tenders", chromedp.Navigate(url+"/procure/agent/tenders"), chromedp.WaitVisible(css("#login")),
		chromedp.Click(css("#login")), chromedp.WaitVisible(css("#pin")),
		browsertest.PinPad("2345"), chromedp.Click(css("#login")), chromedp.WaitVisible(css("#tenders")))
	r.shot("bid-02-tenders")
	contains("the tenders", r.text("#tenders"), demo.DemoTenders["kanto"].Title, demo.DemoTenders["suzaka"].Title, "ノートパソコンの購入")
	contains("the powers", r.text("#bid-powers"), demo.SuzakaTech.NameJA)
	ids := map[string]string{}
	for _, b := range []string{"kanto", "suzaka"} {
		ids[b] = r.attr(`#tenders tr[data-body="`+b+`"]:not([data-tender="`+soonID+`"])`, "data-tender")
	}
	bid := func(b, id, price, shot string) {
		t.Helper()
		r.do("the form at "+b, chromedp.Navigate(url+"/procure/agent/tenders"), chromedp.WaitVisible(css("#tenders")),
			chromedp.Click(css("#bid-"+b+"-"+id)), chromedp.WaitVisible(css("#bid-form")))
		fp := strings.TrimSpace(r.text("#fingerprint"))
		tn, err := (&body.Client{BaseURL: url}).Tender(t.Context(), b, id)
		if err != nil || body.Fingerprint(tn.Certificate) != fp {
			t.Fatalf("the form's fingerprint %s, the tender's %v", fp, err)
		}
		r.do("fill the bid", chromedp.SetValue(css("#price"), price), chromedp.SendKeys(css("#password"), signPW))
		r.shot(shot + "-form")
		r.do("sign and bid at "+b, chromedp.Click(css("#sign")), chromedp.WaitVisible(css("div.flash-ok")), chromedp.WaitVisible(css("#kept")))
		contains("the receipt", r.text("div.flash-ok"), "入札を受け付けました")
		r.shot(shot + "-receipt")
	}
	bid("kanto", ids["kanto"], "4200000", "bid-03-kanto")
	bid("suzaka", ids["suzaka"], "1700000", "bid-04-suzaka")
	bid("kanto", soonID, strconv.FormatInt(estimate-1000, 10), "bid-05-soon")
	if n := r.count("#kept tbody tr"); n != 3 {
		t.Errorf("%d bids kept on the PC, want 3", n)
	}

	// 4. After the deadline the two officers open it.
	time.Sleep(time.Until(soon.Add(time.Second)))
	office := url + home + "tenders/" + soonID
	officer(second, "bid-06-opening")
	r.do("the second officer enters hers", chromedp.Navigate(office), chromedp.WaitVisible(css("#open-form")),
		chromedp.SetValue(css("#opening-passphrase"), demo.OpeningPassphrases[second]),
		chromedp.Click(css("#open-submit")), chromedp.WaitVisible(css(`#waiting[data-count="1"]`)))
	officer(first, "bid-07-opening")
	r.do("the first officer enters his", chromedp.Navigate(office), chromedp.WaitVisible(css(`#waiting[data-count="1"]`)),
		chromedp.SetValue(css("#opening-passphrase"), demo.OpeningPassphrases[first]),
		chromedp.Click(css("#open-submit")), chromedp.WaitVisible(css("#result-link")))
	r.do("the result", chromedp.Navigate(url+"/bodies/kanto/tenders/"+soonID), chromedp.WaitVisible(css("#result")))
	r.shot("bid-08-result")
	contains("the winner", r.text("#winner"), demo.SuzakaTech.NameJA)

	// 5. The contract: the officer prepares it, the agent signs it on his
	// page, the officer signs it and inspects with his card, the agent
	// accepts and invoices.
	contractInBrowser(t, r, url, bin, data, soonID, first)
}
