package main

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/demo"
	"github.com/mynaplat/mynaplat/internal/layout"
	"github.com/mynaplat/mynaplat/internal/testutil"
	"github.com/mynaplat/mynaplat/procure/body"
	"github.com/mynaplat/mynaplat/procure/contract"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/tsa"
)

// officerSignsContract goes on from an award of 関東地方整備局's tender in the
// demo (TestBidInBrowser), with officer signed in at the body's office:
// the officer prepares the contract on the tender's page; the agent
// 須坂 健太 signs it through the body's contract API (his card login at the
// company's PC, the register's terminal; his card signs, the TSA stamps);
// the officer signs it on the contract's page with his own card on the
// staff terminal's reader (the staff signing step, wired by serve: the
// desk's kit, the platform's linkage under the bodies' key) and records
// the passed inspection the same way. The final PDF carries both
// signatures, which pdfsig calls valid. Screenshots contract-*.
func officerSignsContract(r *flowRun, url, tender, officer string) {
	t := r.t
	t.Helper()
	ctx := t.Context()
	home := body.OfficeHome("kanto")
	r.do("prepare the contract", chromedp.Navigate(url+home+"tenders/"+tender), chromedp.WaitVisible(css("#contract-form")),
		chromedp.SetValue(css(`#contract-form input[name=delivery_date]`), time.Now().AddDate(0, 1, 0).Format(time.DateOnly)),
		chromedp.SendKeys(css(`#contract-form input[name=delivery_place]`), "関東地方整備局 本局 倉庫"),
		chromedp.Click(css("#contract-submit")), chromedp.WaitVisible(css("#timeline")))
	id := r.attr("#contract", "data-id")
	r.shot("contract-1-prepared")

	// The agent signs through the API, as his PC does.
	tcs, err := terminal.LoadConfigs(layout.TerminalsDir(r.tp.data))
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(tcs, func(c terminal.Config) bool { return c.ID == layout.ProcureTerminalID })
	if i < 0 {
		t.Fatalf("no terminal %s in the demo", layout.ProcureTerminalID)
	}
	pc, err := terminal.New(tcs[i], url, nil)
	if err != nil {
		t.Fatal(err)
	}
	cards, err := card.NewStore(layout.CardsDir(r.tp.data), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	agentCard, err := cards.Open(r.card(demo.ProcureAgent))
	if err != nil {
		t.Fatal(err)
	}
	login, err := pc.LoginFor(ctx, agentCard, "2345", "")
	if err != nil {
		t.Fatalf("the agent's card login: %v", err)
	}
	bc := &body.Client{BaseURL: url}
	pdf, err := bc.ContractPDF(ctx, login.Assertion, "kanto", id)
	if err != nil {
		t.Fatal(err)
	}
	var signed []byte
	if err := terminal.WithSigner(agentCard, "KENTA1978", func(cert *x509.Certificate, s crypto.Signer) error {
		var err error
		signed, err = contract.Sign(ctx, pdf, contract.Agent, contract.SignOptions{Signer: s, Cert: cert,
			Stamper: &tsa.Client{URL: url + "/tsa"}, When: time.Now()})
		return err
	}); err != nil {
		t.Fatalf("the agent signs: %v", err)
	}
	if _, err := bc.SignContract(ctx, login.Assertion, "kanto", id, signed); err != nil {
		t.Fatalf("the agent's signature: %v", err)
	}

	// The officer signs, then records the inspection, with his own card.
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
			chromedp.WaitVisible(css("#timeline")))
	}
	page := url + home + "contracts/" + id
	r.do("the officer's turn", chromedp.Navigate(page), chromedp.WaitVisible(css("#officer-sign-go")))
	r.shot("contract-2-officer-turn")
	r.do("sign", chromedp.Click(css("#officer-sign-go")), chromedp.WaitVisible(css("#sign-what")))
	signWith("the officer signs", "contract-3-officer-password")
	if got := r.attr("#contract", "data-state"); got != "signed" {
		t.Fatalf("after the officer's signature: %q\n%s", got, r.text("main"))
	}
	r.shot("contract-4-signed")
	r.do("inspect", chromedp.SendKeys(css("#inspect-note"), "数量・外観とも仕様どおり"), chromedp.Click(css("#inspect-pass")),
		chromedp.WaitVisible(css("#sign-what")))
	signWith("the officer records the inspection", "contract-5-inspection-password")
	if got := r.attr("#contract", "data-steps"); got != "1" {
		t.Fatalf("after the inspection: %q steps\n%s", got, r.text("main"))
	}
	if got := r.text("#next"); !strings.Contains(got, "受領") && !strings.Contains(got, "Acceptance") {
		t.Errorf("next after the inspection: %q", got)
	}
	r.shot("contract-6-inspected")

	// The final PDF, as the agent reads it: two signatures pdfsig calls
	// valid, and the document time-stamp.
	final, err := bc.ContractPDF(ctx, login.Assertion, "kanto", id)
	if err != nil {
		t.Fatal(err)
	}
	bin := testutil.NeedProgram(t, "pdfsig", "poppler-utils")
	path := filepath.Join(t.TempDir(), "contract.pdf")
	if err := os.WriteFile(path, final, 0o600); err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command(bin, path).CombinedOutput()
	if n := bytes.Count(out, []byte("Signature Validation: Signature is Valid.")); n != 2 || !bytes.Contains(out, []byte("Signature #3")) {
		t.Errorf("pdfsig: %d valid signatures, want 2 and the document time-stamp:\n%s", n, out)
	}
}
