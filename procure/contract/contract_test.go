package contract_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/procure/contract"
	"github.com/mynaplat/mynaplat/verify"
)

type elementResult struct {
	Kind       contract.Kind
	Indication verify.Indication
	Reason     contract.Reason
}

func results(r *contract.Report) []elementResult {
	var out []elementResult
	for _, e := range r.Elements {
		out = append(out, elementResult{e.Kind, e.Indication, e.Reason})
	}
	return out
}

// TestHappyPath: the agent and the officer sign the contract (two B-T
// approvals, then B-LTA), three steps follow, and the whole timeline is
// TOTAL_PASSED with the OCSP responder down, also a year later, and after
// a round trip through the bundle.
func TestHappyPath(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	tl := f.timeline(t)
	f.ocspOff.Store(true)

	pdfReport := f.policy.Validate(ctx, verify.Document{Name: "contract.pdf", Format: verify.FormatPAdES, Data: tl.PDF})
	var kinds []string
	for _, s := range pdfReport.Signatures {
		kinds = append(kinds, s.Kind+"/"+string(s.Indication))
	}
	want := []string{"approval/TOTAL_PASSED", "approval/TOTAL_PASSED", "document-timestamp/TOTAL_PASSED"}
	if diff := cmp.Diff(want, kinds); diff != "" || pdfReport.Level != "B-LTA" || !pdfReport.Passed() {
		t.Errorf("the contract PDF: level %s, %s %s (-want +got):\n%s", pdfReport.Level, pdfReport.Indication, pdfReport.MessageEN, diff)
	}

	b, err := tl.Bundle()
	if err != nil {
		t.Fatal(err)
	}
	if !contract.IsBundle(b) {
		t.Fatal("IsBundle: false for a bundle")
	}
	b2, _ := tl.Bundle()
	if contract.Hash(b) != contract.Hash(b2) {
		t.Error("the bundle is not deterministic")
	}
	parsed, err := contract.ParseBundle(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tl, parsed); diff != "" {
		t.Errorf("bundle round trip (-want +got):\n%s", diff)
	}
	for _, later := range []time.Duration{0, 365 * 24 * time.Hour} {
		p := *f.policy
		p.Now = func() time.Time { return f.now().Add(later) }
		r := parsed.Verify(ctx, &p, contract.Parties{})
		wantRes := []elementResult{{contract.KindContract, verify.TotalPassed, ""}, {contract.KindInspection, verify.TotalPassed, ""},
			{contract.KindAcceptance, verify.TotalPassed, ""}, {contract.KindInvoice, verify.TotalPassed, ""}}
		if diff := cmp.Diff(wantRes, results(r)); diff != "" || !r.Passed() || !r.Complete || r.ContractID != "C-2026-0001" {
			t.Errorf("%v later: %s %s (-want +got):\n%s", later, r.Indication, r.MessageEN, diff)
		}
	}
}

// TestRenderDeterministic: the same terms give the same PDF; other terms
// another; wrong terms are refused.
func TestRenderDeterministic(t *testing.T) {
	f := newFixture(t)
	a, err := contract.Render(f.renderer, f.terms())
	if err != nil {
		t.Fatal(err)
	}
	b, err := contract.Render(f.renderer, f.terms())
	if err != nil {
		t.Fatal(err)
	}
	if contract.Hash(a) != contract.Hash(b) {
		t.Error("two renderings of the same terms differ")
	}
	other := f.terms()
	other.PriceYen++
	c, err := contract.Render(f.renderer, other)
	if err != nil || contract.Hash(a) == contract.Hash(c) {
		t.Errorf("another price: %v, same hash %v", err, contract.Hash(a) == contract.Hash(c))
	}
}

// TestReportForms: the timeline report as text, JSON and HTML names every
// element; a file that is not a bundle is TOTAL_FAILED/FORMAT_FAILURE.
func TestReportForms(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	tl := f.timeline(t)
	b, err := tl.Bundle()
	if err != nil {
		t.Fatal(err)
	}
	r := contract.VerifyBundle(ctx, "history.zip", b, f.policy, contract.Parties{})
	if !r.Passed() {
		t.Fatalf("%s %s", r.Indication, r.MessageEN)
	}
	var text, page bytes.Buffer
	r.WriteText(&text)
	if err := r.WritePage(&page); err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"element 4 steps/3.p7m", "history.zip: TOTAL_PASSED", "signature 2 (approval)"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text: no %q:\n%s", want, text.String())
		}
	}
	for _, want := range []string{`data-element="4" data-kind="invoice" data-indication="TOTAL_PASSED"`, "請求", "data-signature"} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("HTML: no %q", want)
		}
	}
	if !strings.Contains(string(js), `"kind":"inspection"`) {
		t.Errorf("JSON: %s", js)
	}
	bad := contract.VerifyBundle(ctx, "x.zip", b[:len(b)-30], f.policy, contract.Parties{})
	if bad.Indication != verify.TotalFailed || bad.SubIndication != verify.FormatFailure || bad.Reason != contract.ErrBundle {
		t.Errorf("a truncated bundle: %s %s %s", bad.Indication, bad.SubIndication, bad.Reason)
	}
}

// BenchmarkVerify measures validating a whole timeline offline (the PDF's
// two signatures and document time-stamp, three steps).
func BenchmarkVerify(b *testing.B) {
	f := newFixture(b)
	tl := f.timeline(b)
	f.ocspOff.Store(true)
	bundle, err := tl.Bundle()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if r := contract.VerifyBundle(context.Background(), "b.zip", bundle, f.policy, contract.Parties{}); !r.Passed() {
			b.Fatal(r.MessageEN)
		}
	}
	b.ReportMetric(float64(len(tl.PDF)), "pdf-bytes")
	b.ReportMetric(float64(len(bundle)), "bundle-bytes")
}
