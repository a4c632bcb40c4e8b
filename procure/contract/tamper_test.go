package contract_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/cms"
	"github.com/mynaplat/mynaplat/procure/contract"
	"github.com/mynaplat/mynaplat/verify"
)

// flip changes one byte of b at the first occurrence of marker.
func flip(t testing.TB, b []byte, marker string) []byte {
	t.Helper()
	i := bytes.Index(b, []byte(marker))
	if i < 0 {
		t.Fatalf("%q not found", marker)
	}
	c := bytes.Clone(b)
	c[i+1] ^= 1
	return c
}

// TestTamper: a changed byte in any element, a removed step, reordered
// steps, a step signed by the wrong party, a step out of order: each is
// not TOTAL_PASSED, and the report names the element and the reason. The
// responder is down (the validation data in the timeline is used).
func TestTamper(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	tl := f.timeline(t)
	with := func(fn func(c *contract.Timeline)) *contract.Timeline {
		c := &contract.Timeline{PDF: tl.PDF, Steps: slices.Clone(tl.Steps), OCSPs: slices.Clone(tl.OCSPs)}
		fn(c)
		return c
	}
	pass := func(k contract.Kind) elementResult { return elementResult{k, verify.TotalPassed, ""} }
	C, I, A, V := contract.KindContract, contract.KindInspection, contract.KindAcceptance, contract.KindInvoice

	// Timelines made wrongly but signed properly (the responder is up
	// while they are made).
	wrongInspector := &contract.Timeline{PDF: tl.PDF}
	wrongInspector.Steps = [][]byte{f.step(t, wrongInspector, f.stranger, I, wrongInspector.Previous())}
	agentInspects := &contract.Timeline{PDF: tl.PDF}
	agentInspects.Steps = [][]byte{f.step(t, agentInspects, f.agent, I, agentInspects.Previous())}
	officerInvoices := with(func(c *contract.Timeline) { c.Steps = c.Steps[:2] })
	officerInvoices.Steps = append(officerInvoices.Steps, f.step(t, officerInvoices, f.officer, V, officerInvoices.Previous()))
	skipped := with(func(c *contract.Timeline) { c.Steps = c.Steps[:1] })
	skipped.Steps = append(skipped.Steps, f.step(t, skipped, f.agent, V, skipped.Previous()))
	// An acceptance time-stamped before the inspection it names.
	early := with(func(c *contract.Timeline) { c.Steps = c.Steps[:1] })
	f.advance(-60 * time.Hour)
	early.Steps = append(early.Steps, f.step(t, early, f.agent, A, early.Previous()))
	f.advance(60 * time.Hour)
	for _, x := range []*contract.Timeline{wrongInspector, agentInspects, officerInvoices, skipped, early} {
		if err := x.AddValidationData(ctx, f.policy); err != nil {
			t.Fatal(err)
		}
	}
	f.ocspOff.Store(true)

	for _, tc := range []struct {
		name string
		tl   *contract.Timeline
		want verify.Indication
		rows []elementResult
	}{
		{"PDF content changed", with(func(c *contract.Timeline) { c.PDF = flip(t, c.PDF, "/MediaBox") }), verify.TotalFailed,
			[]elementResult{{C, verify.TotalFailed, ""}, {I, verify.TotalFailed, contract.ErrBrokenChain}, pass(A), pass(V)}},
		{"inspection changed", with(func(c *contract.Timeline) { c.Steps[0] = flip(t, c.Steps[0], `C-2026`) }), verify.TotalFailed,
			[]elementResult{pass(C), {I, verify.TotalFailed, ""}, {A, verify.TotalFailed, contract.ErrBrokenChain}, pass(V)}},
		{"acceptance changed", with(func(c *contract.Timeline) { c.Steps[1] = flip(t, c.Steps[1], `C-2026`) }), verify.TotalFailed,
			[]elementResult{pass(C), pass(I), {A, verify.TotalFailed, ""}, {V, verify.TotalFailed, contract.ErrBrokenChain}}},
		{"invoice changed", with(func(c *contract.Timeline) { c.Steps[2] = flip(t, c.Steps[2], `C-2026`) }), verify.TotalFailed,
			[]elementResult{pass(C), pass(I), pass(A), {V, verify.TotalFailed, ""}}},
		{"acceptance removed", with(func(c *contract.Timeline) { c.Steps = slices.Delete(c.Steps, 1, 2) }), verify.TotalFailed,
			[]elementResult{pass(C), pass(I), {V, verify.TotalFailed, contract.ErrBrokenChain}}},
		{"inspection removed", with(func(c *contract.Timeline) { c.Steps = c.Steps[1:] }), verify.TotalFailed,
			[]elementResult{pass(C), {A, verify.TotalFailed, contract.ErrBrokenChain}, pass(V)}},
		{"invoice removed", with(func(c *contract.Timeline) { c.Steps = c.Steps[:2] }), verify.Indeterminate,
			[]elementResult{pass(C), pass(I), pass(A)}},
		{"acceptance and invoice swapped", with(func(c *contract.Timeline) { c.Steps[1], c.Steps[2] = c.Steps[2], c.Steps[1] }), verify.TotalFailed,
			[]elementResult{pass(C), pass(I), {V, verify.TotalFailed, contract.ErrBrokenChain}, {A, verify.TotalFailed, contract.ErrBrokenChain}}},
		{"inspection signed by a stranger", wrongInspector, verify.Indeterminate,
			[]elementResult{pass(C), {I, verify.Indeterminate, contract.ErrWrongParty}}},
		{"inspection signed by the agent", agentInspects, verify.Indeterminate,
			[]elementResult{pass(C), {I, verify.Indeterminate, contract.ErrWrongParty}}},
		{"invoice signed by the officer", officerInvoices, verify.Indeterminate,
			[]elementResult{pass(C), pass(I), pass(A), {V, verify.Indeterminate, contract.ErrWrongParty}}},
		{"invoice right after the inspection", skipped, verify.Indeterminate,
			[]elementResult{pass(C), pass(I), {V, verify.Indeterminate, contract.ErrOutOfOrder}}},
		{"acceptance time-stamped before the inspection", early, verify.Indeterminate,
			[]elementResult{pass(C), pass(I), {A, verify.Indeterminate, contract.ErrOutOfOrder}}},
		{"validation data removed", with(func(c *contract.Timeline) { c.OCSPs = nil }), verify.Indeterminate,
			[]elementResult{pass(C), {I, verify.Indeterminate, ""}, {A, verify.Indeterminate, ""}, {V, verify.Indeterminate, ""}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.tl.Verify(ctx, f.policy, contract.Parties{})
			if diff := cmp.Diff(tc.rows, results(r)); diff != "" || r.Indication != tc.want {
				t.Errorf("%s %s: %s (-want +got):\n%s", r.Indication, r.SubIndication, r.MessageEN, diff)
			}
			if r.MessageJA == "" || r.MessageEN == "" {
				t.Error("no message")
			}
		})
	}

	t.Run("the body's party check", func(t *testing.T) {
		refuse := errors.New("not an officer of this body")
		r := tl.Verify(ctx, f.policy, contract.Parties{Officer: func(context.Context, contract.Kind, *x509.Certificate, time.Time) error { return refuse }})
		if r.Passed() || r.Reason != contract.ErrWrongParty {
			t.Errorf("%s %s, want ErrWrongParty", r.Indication, r.Reason)
		}
	})
}

// TestAppendRefusals: Append takes only the step that comes next, and
// leaves the timeline as it was otherwise.
func TestAppendRefusals(t *testing.T) {
	f := newFixture(t)
	tl := &contract.Timeline{PDF: f.signedContract(t)}
	for _, tc := range []struct {
		name string
		step func() []byte
		want error
	}{
		{"acceptance first", func() []byte { return f.step(t, tl, f.agent, contract.KindAcceptance, tl.Previous()) }, contract.ErrOutOfOrder},
		{"names another element", func() []byte {
			return f.step(t, tl, f.officer, contract.KindInspection, contract.Hash([]byte("x")))
		}, contract.ErrBrokenChain},
		{"not a step", func() []byte { return []byte("not CMS") }, contract.ErrBadStep},
		{"of another contract", func() []byte {
			var der []byte
			f.with(t, f.officer, func(o contract.SignOptions) error {
				var err error
				der, err = contract.SignStep(context.Background(), contract.Step{Kind: contract.KindInspection, ContractID: "C-OTHER",
					Previous: tl.Previous(), Result: contract.Passed, Time: f.now()}, o)
				return err
			})
			return der
		}, contract.ErrBrokenChain},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tl.Append(tc.step()); !errors.Is(err, tc.want) || len(tl.Steps) != 0 {
				t.Errorf("Append: %v, %d steps; want %v and none", err, len(tl.Steps), tc.want)
			}
		})
	}
	if err := tl.Append(f.step(t, tl, f.officer, contract.KindInspection, tl.Previous())); err != nil {
		t.Fatal(err)
	}
	if tl.Next() != contract.KindAcceptance {
		t.Errorf("Next: %s, want acceptance", tl.Next())
	}

	// After a failed inspection nothing is accepted: Append refuses it,
	// and Verify finds it in a timeline put together without Append.
	failed := &contract.Timeline{PDF: tl.PDF}
	var insp []byte
	f.with(t, f.officer, func(o contract.SignOptions) error {
		var err error
		insp, err = contract.SignStep(context.Background(), contract.Step{Kind: contract.KindInspection, ContractID: "C-2026-0001",
			Previous: failed.Previous(), Result: contract.Failed, Note: "脚部に傷", Time: f.now()}, o)
		return err
	})
	if err := failed.Append(insp); err != nil {
		t.Fatal(err)
	}
	f.advance(time.Hour)
	acc := f.step(t, failed, f.agent, contract.KindAcceptance, failed.Previous())
	if err := failed.Append(acc); !errors.Is(err, contract.ErrOutOfOrder) {
		t.Errorf("acceptance after a failed inspection: %v, want ErrOutOfOrder", err)
	}
	failed.Steps = append(failed.Steps, acc)
	r := failed.Verify(context.Background(), f.policy, contract.Parties{})
	if got := results(r); len(got) != 3 || got[2].Reason != contract.ErrOutOfOrder {
		t.Errorf("Verify: %+v, want the acceptance out of order", got)
	}
}

// TestSignOrder: the officer cannot sign first, and nobody third.
func TestSignOrder(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	pdf, err := contract.Render(f.renderer, f.terms())
	if err != nil {
		t.Fatal(err)
	}
	f.with(t, f.officer, func(o contract.SignOptions) error {
		if _, err := contract.Sign(ctx, pdf, contract.Officer, o); !errors.Is(err, contract.ErrSignOrder) {
			t.Errorf("the officer first: %v, want ErrSignOrder", err)
		}
		return nil
	})
	var byAgent []byte
	f.with(t, f.agent, func(o contract.SignOptions) error {
		var err error
		byAgent, err = contract.Sign(ctx, pdf, contract.Agent, o)
		return err
	})
	f.with(t, f.agent, func(o contract.SignOptions) error {
		if _, err := contract.Sign(ctx, byAgent, contract.Officer, o); !errors.Is(err, contract.ErrWrongParty) {
			t.Errorf("the agent signs as the officer too: %v, want ErrWrongParty", err)
		}
		return nil
	})
	// The same card twice, signed without Sign: Verify finds it.
	f.with(t, f.agent, func(o contract.SignOptions) error {
		twice, err := cms.SignPDF(ctx, byAgent, cms.PDFOptions{SignOptions: cms.SignOptions{Signer: o.Signer, Cert: o.Cert, Stamper: o.Stamper}})
		if err != nil {
			return err
		}
		r := (&contract.Timeline{PDF: twice}).Verify(ctx, f.policy, contract.Parties{})
		if r.Elements[0].Reason != contract.ErrWrongParty {
			t.Errorf("one card as both parties: %s %s, want ErrWrongParty", r.Elements[0].Indication, r.Elements[0].Reason)
		}
		return nil
	})
	signed := f.signedContract(t)
	f.with(t, f.stranger, func(o contract.SignOptions) error {
		if _, err := contract.Sign(ctx, signed, contract.Officer, o); !errors.Is(err, contract.ErrSignOrder) {
			t.Errorf("a third signature: %v, want ErrSignOrder", err)
		}
		return nil
	})
	if _, err := contract.LongTerm(ctx, pdf, f.policy, f.stamper); !errors.Is(err, contract.ErrNotSigned) {
		t.Errorf("LongTerm of an unsigned contract: %v, want ErrNotSigned", err)
	}
	bad := f.terms()
	bad.CorporateNumber = "12345"
	if _, err := contract.Render(f.renderer, bad); !errors.Is(err, contract.ErrInvalid) {
		t.Errorf("Render with a short corporate number: %v, want ErrInvalid", err)
	}
}
