package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/municipal"
	"github.com/mynaplat/mynaplat/procure/contract"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/tsa"
	"github.com/mynaplat/mynaplat/verify"
	"github.com/mynaplat/mynaplat/wareki"
)

// TestVerifyContractTimeline: "mynaplat verify" takes a contract timeline
// bundle (the agent's and the officer's B-LTA contract, inspection,
// acceptance, invoice) and reports it element by element, with the JPKI
// centre and the TSA out of reach (anchors as files): exit 0, as text,
// JSON and HTML. A bundle with a changed step, or without the
// acceptance, exits 1 and names the element and the reason.
func TestVerifyContractTimeline(t *testing.T) {
	ctx := t.Context()
	centre, err := jpki.Open(ctx, jpki.Config{DB: storetest.SQLite(t), Dir: t.TempDir(), BaseURL: "http://jpki.test", Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	cards, err := card.NewStore(t.TempDir(), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	issue := func(name, kana, number string) *card.Card {
		c, err := cards.Create(card.Spec{AuthPIN: "1111", SignPIN: "ABCD1234", TextPIN: "1111", MyNumber: number,
			Name: name, Address: "長野県須坂市大字須坂１５２８番地の１", BirthDate: "19800401", Sex: "1"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := centre.IssueCard(ctx, jpki.Resident{Name: name, Kana: kana, BirthDate: time.Date(1980, 4, 1, 0, 0, 0, 0, wareki.JST()),
			Sex: jpki.Male, Address: "長野県須坂市大字須坂１５２８番地の１", Municipality: "202070"}, c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	agent, officer := issue("須坂　太郎", "スザカ　タロウ", "123456789018"), issue("長野　次郎", "ナガノ　ジロウ", "234567890123")
	keys, err := tsa.LoadOrCreate(t.TempDir(), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	stamper := tsa.New(keys, time.Now, nil)
	roots := x509.NewCertPool()
	roots.AddCert(keys.Root)
	policy := &verify.Policy{TSARoots: roots, RequireTimestamp: true, Signing: &jpki.SigningVerifier{CA: centre.CA(jpki.Sign),
		MaxAge: 10 * time.Minute, OCSP: func(ctx context.Context, req []byte) ([]byte, error) { return centre.Respond(ctx, req), nil }}}
	with := func(c *card.Card, fn func(o contract.SignOptions) error) {
		t.Helper()
		if err := terminal.WithSigner(c, "ABCD1234", func(cert *x509.Certificate, s crypto.Signer) error {
			return fn(contract.SignOptions{Signer: s, Cert: cert, Stamper: stamper, When: time.Now()})
		}); err != nil {
			t.Fatal(err)
		}
	}
	r, err := municipal.NewRenderer("")
	if err != nil {
		t.Fatal(err)
	}
	day := time.Now().In(wareki.JST()).Truncate(24 * time.Hour)
	pdf, err := contract.Render(r, contract.Terms{ID: "C-1", Body: "須坂市", TenderID: "T-1", Item: "事務机 20台", Winner: "株式会社須坂事務機",
		CorporateNumber: "1234567890123", Agent: "須坂　太郎", PriceYen: 1_980_000, DeliveryDate: day.AddDate(0, 1, 0),
		DeliveryPlace: "須坂市役所", PaymentTerms: "検査合格後30日以内", Date: day})
	if err != nil {
		t.Fatal(err)
	}
	with(agent, func(o contract.SignOptions) error { pdf, err = contract.Sign(ctx, pdf, contract.Agent, o); return err })
	with(officer, func(o contract.SignOptions) error {
		pdf, err = contract.Sign(ctx, pdf, contract.Officer, o)
		return err
	})
	if pdf, err = contract.LongTerm(ctx, pdf, policy, stamper); err != nil {
		t.Fatal(err)
	}
	tl := &contract.Timeline{PDF: pdf}
	for _, s := range []struct {
		step contract.Step
		card *card.Card
	}{
		{contract.Step{Kind: contract.KindInspection, Result: contract.Passed}, officer},
		{contract.Step{Kind: contract.KindAcceptance, AcceptedDate: day.Format(time.DateOnly)}, agent},
		{contract.Step{Kind: contract.KindInvoice, AmountYen: 1_980_000, Bank: "デモ銀行 須坂支店 普通 1234567"}, agent},
	} {
		st := s.step
		st.ContractID, st.Previous, st.Time = "C-1", tl.Previous(), time.Now()
		var der []byte
		with(s.card, func(o contract.SignOptions) error { der, err = contract.SignStep(ctx, st, o); return err })
		if err := tl.Append(der); err != nil {
			t.Fatal(err)
		}
	}
	if err := tl.AddValidationData(ctx, policy); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	write := func(name string, b []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	bundle := func(tl *contract.Timeline) []byte {
		b, err := tl.Bundle()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	caPath, rootPath := write("ca.der", centre.CA(jpki.Sign).Raw), write("tsa.der", keys.Root.Raw)
	// Nothing listens there: the centre and the TSA are out of reach.
	args := func(extra ...string) []string {
		return append([]string{"verify", "--jpki-url", "http://127.0.0.1:1", "--jpki-ca", caPath, "--tsa-root", rootPath}, extra...)
	}
	good := write("history.zip", bundle(tl))
	out, errOut, code := runArgs(ctx, args(good)...)
	if code != 0 || !strings.Contains(out, "history.zip: TOTAL_PASSED") || !strings.Contains(out, "element 4 steps/3.p7m") {
		t.Fatalf("verify: exit %d\n%s\n%s", code, out, errOut)
	}
	if out, _, code := runArgs(ctx, args("--json", good)...); code != 0 || !strings.Contains(out, `"indication": "TOTAL_PASSED"`) {
		t.Errorf("--json: exit %d\n%s", code, out)
	}
	if out, _, code := runArgs(ctx, args("--html", good)...); code != 0 || !strings.Contains(out, `data-kind="acceptance"`) {
		t.Errorf("--html: exit %d", code)
	}
	if _, _, code := runArgs(ctx, args("--extend", good)...); code == 0 {
		t.Error("--extend on a timeline succeeded")
	}
	// The /verify page's upload reports the same, element by element.
	page := string(uploadReporter(func(context.Context) *verify.Policy { return policy })(ctx, "history.zip", bundle(tl), nil))
	if !strings.Contains(page, `data-kind="invoice" data-indication="TOTAL_PASSED"`) {
		t.Errorf("/verify upload: no invoice passed:\n%s", page)
	}
	changed := &contract.Timeline{PDF: tl.PDF, Steps: append([][]byte(nil), tl.Steps...), OCSPs: tl.OCSPs}
	changed.Steps[2] = bytes.Replace(changed.Steps[2], []byte("1234567"), []byte("7654321"), 1)
	removed := &contract.Timeline{PDF: tl.PDF, Steps: [][]byte{tl.Steps[0], tl.Steps[2]}, OCSPs: tl.OCSPs}
	for _, tc := range []struct {
		name, want string
	}{
		{write("changed.zip", bundle(changed)), "element 4 steps/3.p7m (請求 / Invoice): TOTAL_FAILED / HASH_FAILURE"},
		{write("removed.zip", bundle(removed)), "(broken_chain)"},
		{write("notzip.zip", []byte("PK\x03\x04 not a bundle")), ""},
	} {
		out, errOut, code := runArgs(ctx, args(tc.name)...)
		if code == 0 || !strings.Contains(out, tc.want) {
			t.Errorf("%s: exit %d, want 1 and %q:\n%s\n%s", tc.name, code, tc.want, out, errOut)
		}
	}
}
