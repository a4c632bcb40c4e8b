package main

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/corpreg"
	"github.com/mynaplat/mynaplat/delegation"
	"github.com/mynaplat/mynaplat/demo"
	"github.com/mynaplat/mynaplat/internal/browsertest"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/municipal"
	"github.com/mynaplat/mynaplat/procure"
	"github.com/mynaplat/mynaplat/procure/body"
	"github.com/mynaplat/mynaplat/procure/contract"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/tsa"
	"github.com/mynaplat/mynaplat/verify"
)

// contractInBrowser goes on from TestBidInBrowser's award
// (docs/procurement.md §5.7): 関東地方整備局's officer 利根 正樹 prepares
// the contract on the awarded tender's office page; the demo agent 須坂 健太
// finds it on his contract page, reads it and signs it with his card (the
// signing password); the officer's signature and the inspection are made
// with 利根 正樹's demo card through the body's service in this test (the
// officers' pages do not sign yet); then the agent accepts and invoices,
// each signed with his card, and the timeline shows TOTAL_PASSED. The PDF
// from his page has both signatures valid for pdfsig, and the timeline
// file from his page passes `mynaplat verify FILE` (exit 0) with the JPKI
// centre and the TSA out of reach. Screenshots of each step.
func contractInBrowser(t *testing.T, r *flowRun, url, bin, data, tender string) {
	t.Helper()
	const signPW = "KENTA1978"
	officer := "利根　正樹"
	home := body.OfficeHome("kanto")

	// 1. The officer (signed in last) prepares the contract.
	r.do("the awarded tender", chromedp.Navigate(url+home+"tenders/"+tender), chromedp.WaitVisible(css("#contract-form")))
	r.do("prepare the contract",
		chromedp.SetValue(css(`#contract-form input[name=delivery_date]`), time.Now().AddDate(0, 1, 0).Format(time.DateOnly)),
		chromedp.SendKeys(css(`#contract-form input[name=delivery_place]`), "関東地方整備局 本局 倉庫"),
		chromedp.Click(css("#contract-submit")), chromedp.WaitVisible(css("#timeline")))
	r.shot("contract-01-prepared")
	id := r.attr("#contract", "data-id")

	// 2. The agent's contract page, logged in again with his card when
	// his login has expired meanwhile.
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
	r.shot("contract-03-sign")
	r.do("sign the contract", chromedp.Click(css("#sign")), chromedp.WaitVisible(css("div.flash-ok")), chromedp.WaitVisible(css(`#contract[data-state="agent_signed"]`)))
	r.shot("contract-04-signed")

	// 3. The officer's signature and the inspection, with his demo card,
	// through the body's service on the demo's database.
	officerSignsAndInspects(t, url, data, officer, id)

	// 4. The agent accepts and invoices.
	agentPage(page, "#acceptance-form")
	r.do("accept", chromedp.SendKeys(css("#password"), signPW), chromedp.Click(css("#sign")),
		chromedp.WaitVisible(css("div.flash-ok")), chromedp.WaitVisible(css("#invoice-form")))
	r.shot("contract-05-accepted")
	r.do("invoice", chromedp.SetValue(css("#bank"), "デモ銀行 須坂支店 普通 1234567 カ）スザカテック"), chromedp.SendKeys(css("#password"), signPW))
	r.shot("contract-06-invoice")
	r.do("sign the invoice", chromedp.Click(css("#sign")), chromedp.WaitVisible(css("div.flash-ok")), chromedp.WaitVisible(css(`#contract[data-steps="3"]`)))
	r.shot("contract-07-complete")
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
	pdfPath := write("contract.pdf", fetch(page+"/contract.pdf"))
	if out, err := exec.Command("pdfsig", pdfPath).CombinedOutput(); err != nil || strings.Count(string(out), "Signature is Valid.") < 2 {
		t.Errorf("pdfsig: %v\n%s", err, out)
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
	out, err := exec.Command(bin, "verify", "--jpki-url", "http://127.0.0.1:1", "--jpki-ca", write("sign-ca.der", ca),
		"--tsa-root", filepath.Join(data, "tsa", "root.crt"), bundle).CombinedOutput()
	if err != nil || !strings.Contains(string(out), id+".zip: TOTAL_PASSED") {
		t.Errorf("mynaplat verify %s: %v\n%s", id+".zip", err, out)
	}
}

// officerSignsAndInspects is the officer's side of the contract, done with
// the demo officer's card in a body service of this test on the demo's
// data directory (its database and the bodies' keys), reaching the JPKI
// centre, the TSA and the registers of the running server: the officer's
// signature (the service makes the contract B-LTA), then the inspection.
// Whose card signed is answered by the card's own certificate (the
// platform's caller keys of a demo live in the server's memory only).
func officerSignsAndInspects(t *testing.T, url, data, officer, id string) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, store.Options{DataDir: data, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	jc := &jpki.Client{BaseURL: url}
	signCA, err := jc.CACertificate(ctx, jpki.Sign)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(url + tsaRootPath)
	if err != nil {
		t.Fatal(err)
	}
	root, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	rootCert, err := x509.ParseCertificate(root)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(rootCert)
	stamper := &tsa.Client{URL: url + "/tsa"}
	dc := &delegation.Client{BaseURL: url}
	policy := &verify.Policy{Signing: &jpki.SigningVerifier{CA: signCA, OCSP: jc.OCSP, MaxAge: 10 * time.Minute}, TSARoots: roots,
		Delegation: delegation.Checker(dc.Check), RequireTimestamp: true, Now: time.Now}

	cards, err := card.NewStore(filepath.Join(data, "cards"), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	var cd *card.Card
	infos, err := cards.List()
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range infos {
		if in.Holder == officer {
			if cd, err = cards.Open(in.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	if cd == nil {
		t.Fatalf("no demo card of %s", officer)
	}
	var pin string
	for _, sp := range demo.Staff {
		if sp.Name == officer {
			pin = sp.SignPIN
		}
	}
	var officerCert *x509.Certificate
	var officerID string
	with := func(fn func(o contract.SignOptions) error) {
		t.Helper()
		if err := terminal.WithSigner(cd, pin, func(cert *x509.Certificate, s crypto.Signer) error {
			officerCert = cert
			return fn(contract.SignOptions{Signer: s, Cert: cert, Stamper: stamper, When: time.Now()})
		}); err != nil {
			t.Fatal(err)
		}
	}
	renderer, err := municipal.NewRenderer("")
	if err != nil {
		t.Fatal(err)
	}
	svc, err := body.New(ctx, body.Config{DB: db, Bodies: demoBodies, KeyDir: filepath.Join(data, "bodies"),
		Register: &procure.Client{BaseURL: url}, Stamper: stamper, Now: time.Now,
		// This service opens nothing: the opening's parts are there
		// because the contracts come with them.
		Opening: &body.OpeningConfig{Verify: delegation.VerifyCMS(roots), Powers: dc, Corporations: &corpreg.Client{BaseURL: url},
			Status: func(context.Context, *x509.Certificate) (bool, time.Time, error) { return false, time.Time{}, nil }},
		Contracts: &body.ContractConfig{Renderer: renderer, Policy: policy, Stamper: stamper,
			SignerPerson: func(_ context.Context, c *x509.Certificate) (string, error) {
				if officerCert != nil && c.Equal(officerCert) {
					return officerID, nil
				}
				return "", delegation.ErrUnknownSigner
			}}})
	if err != nil {
		t.Fatal(err)
	}
	officers, err := svc.Officers(ctx, "kanto")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range officers {
		if o.Name == officer {
			officerID = o.ID
		}
	}
	if officerID == "" {
		t.Fatalf("%s is no officer of kanto (%+v)", officer, officers)
	}
	c, err := svc.Contract(ctx, "kanto", id)
	if err != nil {
		t.Fatal(err)
	}
	tl, err := svc.Timeline(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	pdf := tl.PDF
	with(func(o contract.SignOptions) error {
		pdf, err = contract.Sign(ctx, pdf, contract.Officer, o)
		return err
	})
	if c, err = svc.OfficerSign(ctx, "kanto", id, officerID, pdf); err != nil {
		t.Fatalf("the officer's signature: %v", err)
	}
	if tl, err = svc.Timeline(ctx, c); err != nil {
		t.Fatal(err)
	}
	var der []byte
	with(func(o contract.SignOptions) error {
		der, err = contract.SignStep(ctx, contract.Step{Kind: contract.KindInspection, ContractID: id, Previous: tl.Previous(),
			Result: contract.Passed, Note: "数量・外観とも仕様どおり", Time: time.Now()}, o)
		return err
	})
	if _, err := svc.Inspect(ctx, "kanto", id, officerID, der); err != nil {
		t.Fatalf("the inspection: %v", err)
	}
}
