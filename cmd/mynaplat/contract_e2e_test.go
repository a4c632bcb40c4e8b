package main

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mynaplat/mynaplat/demo"
	"github.com/mynaplat/mynaplat/internal/browsertest"
	"github.com/mynaplat/mynaplat/internal/testutil"
	"github.com/mynaplat/mynaplat/procure/body"
)

// contractInBrowser goes on from an award of 関東地方整備局's tender in the
// demo (TestBidInBrowser), with officer signed in at the body's office
// (docs/procurement.md §5.7): the officer prepares the contract on the
// tender's page; the demo agent 須坂 健太 finds it on his contract page at
// the company's PC, reads it and signs it with his card (the signing
// password); the officer signs it from the contract's page with his own
// card on the staff terminal's reader (the staff signing handoff: the
// browser goes to the staff terminal and brings the signature back) and
// records the passed inspection the same way; the agent accepts and invoices, each
// signed with his card, and his page shows the timeline TOTAL_PASSED. The
// PDF from his page carries both signatures, which pdfsig calls valid, and
// the timeline file from his page passes `mynaplat verify FILE` (exit 0)
// with the JPKI centre and the TSA out of reach. Screenshots contract-*.
func contractInBrowser(t *testing.T, r *flowRun, url, bin, data, tender, officer string) {
	t.Helper()
	const signPW = "KENTA1978"
	home := body.OfficeHome("kanto")

	// 1. The officer (signed in last) prepares the contract.
	r.do("prepare the contract", chromedp.Navigate(url+home+"tenders/"+tender), chromedp.WaitVisible(css("#contract-form")),
		chromedp.SetValue(css(`#contract-form input[name=delivery_date]`), time.Now().AddDate(0, 1, 0).Format(time.DateOnly)),
		chromedp.SendKeys(css(`#contract-form input[name=delivery_place]`), "関東地方整備局 本局 倉庫"),
		chromedp.Click(css("#contract-submit")), chromedp.WaitVisible(css("#timeline")))
	id := r.attr("#contract", "data-id")
	r.shot("contract-01-prepared")

	// 2. The agent's contract page, logged in again with his card when
	// his login has expired meanwhile; he signs.
	agentPage := func(path, sel string) {
		t.Helper()
		r.do("the agent's "+path, chromedp.Navigate(url+path), chromedp.WaitReady(css("main")))
		if r.count("#logout") == 0 {
			r.do("log in with the card", chromedp.Click(css("#login")), chromedp.WaitReady(css("main")))
			if r.count("#place") > 0 {
				r.do("place the card", chromedp.SetValue(css("#card"), r.card(demo.ProcureAgent)), chromedp.Click(css("#place")))
			}
			// The login goes back to the page (its next).
			r.do("the PIN", chromedp.WaitVisible(css("#pin")), browsertest.PinPad("2345"), chromedp.Click(css("#login")), chromedp.WaitVisible(css("#logout")))
		}
		r.do("wait for "+sel, chromedp.WaitVisible(css(sel)))
	}
	agentPage("/procure/agent/contracts", "#contracts")
	r.shot("contract-02-list")
	page := "/procure/agent/contracts/kanto/" + id
	r.do("open the contract", chromedp.Click(css("#contract-"+id)), chromedp.WaitVisible(css("#contract-form")))
	r.do("the signing password", chromedp.SendKeys(css("#password"), signPW))
	r.shot("contract-03-agent-sign")
	r.do("sign the contract", chromedp.Click(css("#sign")), chromedp.WaitVisible(css("div.flash-ok")), chromedp.WaitVisible(css(`#contract[data-state="agent_signed"]`)))
	r.shot("contract-04-agent-signed")

	// 3. The officer signs, then records the inspection, with his own
	// card, signed in again at the office if his session has ended.
	si := slices.IndexFunc(demo.Staff, func(sp demo.StaffPerson) bool { return sp.Name == officer })
	if si < 0 {
		t.Fatalf("no demo staff member %s", officer)
	}
	signWith := func(what, shot string) {
		t.Helper()
		r.do(what+": place the card", chromedp.WaitVisible(css("#place")), chromedp.SetValue(css("#card"), r.card(officer)),
			chromedp.Click(css("#place")), chromedp.WaitVisible(css("#password")))
		r.shot(shot)
		r.do(what+": the signing password", chromedp.SendKeys(css("#password"), demo.Staff[si].SignPIN), chromedp.Click(css("#sign-ok")),
			chromedp.WaitVisible(css("#signback-go")))
		r.do(what+": back to the office", chromedp.Click(css("#signback-go")), chromedp.WaitVisible(css("#timeline")))
	}
	office := url + home + "contracts/" + id
	r.do("the officer's contract page", chromedp.Navigate(office), chromedp.WaitReady(css("main")))
	if r.count("#staff-signin") > 0 {
		r.staffLogin(url, home, officer, "contract-05-officer")
		r.do("the officer's contract page again", chromedp.Navigate(office))
	}
	r.do("the officer's turn", chromedp.WaitVisible(css("#officer-sign-go")))
	r.shot("contract-05-officer-turn")
	r.do("the officer signs", chromedp.Click(css("#officer-sign-go")), chromedp.WaitVisible(css("#sign-what")))
	signWith("the officer signs", "contract-06-officer-password")
	if got := r.attr("#contract", "data-state"); got != "signed" {
		t.Fatalf("after the officer's signature: %q\n%s", got, r.text("main"))
	}
	r.do("inspect", chromedp.SendKeys(css("#inspect-note"), "数量・外観とも仕様どおり"), chromedp.Click(css("#inspect-pass")),
		chromedp.WaitVisible(css("#sign-what")))
	signWith("the officer records the inspection", "contract-07-inspection-password")
	if got := r.attr("#contract", "data-steps"); got != "1" {
		t.Fatalf("after the inspection: %q steps\n%s", got, r.text("main"))
	}
	r.shot("contract-08-inspected")

	// 4. The agent accepts and invoices.
	agentPage(page, "#acceptance-form")
	r.do("accept", chromedp.SendKeys(css("#password"), signPW), chromedp.Click(css("#sign")),
		chromedp.WaitVisible(css("div.flash-ok")), chromedp.WaitVisible(css("#invoice-form")))
	r.shot("contract-09-accepted")
	r.do("invoice", chromedp.SetValue(css("#bank"), "デモ銀行 須坂支店 普通 1234567 カ）スザカテック"), chromedp.SendKeys(css("#password"), signPW))
	r.shot("contract-10-invoice")
	r.do("sign the invoice", chromedp.Click(css("#sign")), chromedp.WaitVisible(css("div.flash-ok")), chromedp.WaitVisible(css(`#contract[data-steps="3"]`)))
	r.shot("contract-11-complete")
	if got := r.text("#timeline"); !strings.Contains(got, "TOTAL_PASSED") || strings.Contains(got, "TOTAL_FAILED") {
		t.Errorf("the timeline: %q", got)
	}
	if got := r.text("#next"); got != "完了" {
		t.Errorf("next at the end: %q", got)
	}

	// 5. The PDF and the timeline file from the agent's page.
	fetch := func(path string) []byte {
		t.Helper()
		b64, err := chromedp.Run(r.ctx, chromedp.Evaluate[string](`(async () => {
			const r = await fetch(`+strconv.Quote(path)+`);
			const b = new Uint8Array(await r.arrayBuffer());
			let s = ''; for (const c of b) s += String.fromCharCode(c);
			return btoa(s);
		})()`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("fetch %s: %v", path, err)
		}
		b, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// Two signatures pdfsig calls valid, and the document time-stamp.
	pdfsig := testutil.NeedProgram(t, "pdfsig", "poppler-utils")
	out, _ := exec.Command(pdfsig, write("contract.pdf", fetch(page+"/contract.pdf"))).CombinedOutput()
	if n := bytes.Count(out, []byte("Signature Validation: Signature is Valid.")); n != 2 || !bytes.Contains(out, []byte("Signature #3")) {
		t.Errorf("pdfsig: %d valid signatures, want 2 and the document time-stamp:\n%s", n, out)
	}
	resp, err := http.Get(url + "/jpki/ca/sign.crt")
	if err != nil {
		t.Fatal(err)
	}
	ca, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	bundle := write(id+".zip", fetch(page+"/bundle"))
	out, err = exec.Command(bin, "verify", "--jpki-url", "http://127.0.0.1:1", "--jpki-ca", write("sign-ca.der", ca),
		"--tsa-root", filepath.Join(data, "tsa", "root.crt"), bundle).CombinedOutput()
	if err != nil || !strings.Contains(string(out), id+".zip: TOTAL_PASSED") {
		t.Errorf("mynaplat verify %s: %v\n%s", id+".zip", err, out)
	}
}
