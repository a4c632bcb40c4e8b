package verify_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/cms"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/verify"
)

// signAgain has the card sign a PDF (signed or not) once more, as an
// approval or a certification.
func (f *fixture) signAgain(t testing.TB, in []byte, reason string, certify bool) []byte {
	t.Helper()
	var out []byte
	err := terminal.WithSigner(f.card, password, func(cert *x509.Certificate, s crypto.Signer) error {
		var err error
		out, err = cms.SignPDF(context.Background(), in, cms.PDFOptions{SignOptions: cms.SignOptions{Signer: s, Cert: cert, Stamper: f.stamper},
			Name: "Sakata Ichiro", Reason: reason, Location: "Sakata", When: f.now(), Certify: certify})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSeveralSignatures: a PDF with two signatures is reported signature by
// signature, in order, each with the revision it signs; the document's
// indication is the worst of them.
func TestSeveralSignatures(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	first := f.signAgain(t, onePage(t), "Issued", false)
	two := f.signAgain(t, first, "Approved", false)
	// The original file is revision 1: a signature signs the revision its
	// own incremental update ends. A byte of the third revision (its /Reason) changed: the second
	// signature no longer verifies, the first still covers its revision.
	at := len(first) + bytes.Index(two[len(first):], []byte("(Approved)")) + 1
	tampered := bytes.Clone(two)
	tampered[at] ^= 1
	certified := f.signAgain(t, onePage(t), "Issued", true)
	certApproved := f.signAgain(t, certified, "Approved", false)
	lta, err := f.policy.Extend(ctx, certified, f.stamper)
	if err != nil {
		t.Fatal(err)
	}

	type entry struct {
		Kind               string
		Revision           int
		Indication         verify.Indication
		SubIndication      verify.SubIndication
		HasNote, HasSigner bool
	}
	for _, tc := range []struct {
		name string
		data []byte
		want verify.Indication
		sub  verify.SubIndication
		rows []entry
	}{
		{"two approvals, both valid", two, verify.TotalPassed, "", []entry{
			{verify.KindApproval, 2, verify.TotalPassed, "", false, true},
			{verify.KindApproval, 3, verify.TotalPassed, "", false, true}}},
		{"two approvals, the second tampered", tampered, verify.TotalFailed, verify.HashFailure, []entry{
			{verify.KindApproval, 2, verify.TotalPassed, "", false, true},
			{verify.KindApproval, 3, verify.TotalFailed, verify.HashFailure, false, true}}},
		{"a certification (P=1), then an approval", certApproved, verify.Indeterminate, verify.SigConstraintsFailure, []entry{
			{verify.KindCertification, 2, verify.Indeterminate, verify.SigConstraintsFailure, true, true},
			{verify.KindApproval, 3, verify.TotalPassed, "", true, true}}},
		{"one certification, B-LTA", lta, verify.TotalPassed, "", []entry{
			{verify.KindCertification, 2, verify.TotalPassed, "", false, true},
			{verify.KindDocTimestamp, 4, verify.TotalPassed, "", false, false}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.policy.Validate(ctx, verify.Document{Name: "x.pdf", Format: verify.FormatPAdES, Data: tc.data})
			if r.Indication != tc.want || r.SubIndication != tc.sub {
				t.Errorf("%s/%s (%s), want %s/%s", r.Indication, r.SubIndication, r.MessageEN, tc.want, tc.sub)
			}
			var got []entry
			for i, e := range r.Signatures {
				if e.Index != i+1 || e.Revisions < e.Revision || e.CoveredBytes <= 0 {
					t.Errorf("entry %d: index %d, revision %d of %d, %d bytes", i, e.Index, e.Revision, e.Revisions, e.CoveredBytes)
				}
				got = append(got, entry{e.Kind, e.Revision, e.Indication, e.SubIndication, e.NoteEN != "", e.Signer != nil})
			}
			if diff := cmp.Diff(tc.rows, got); diff != "" {
				t.Errorf("signatures (-want +got):\n%s", diff)
			}
			var text bytes.Buffer
			r.WriteText(&text)
			if html := string(r.HTML()); !strings.Contains(text.String(), "signature 2") && len(tc.rows) > 1 ||
				!strings.Contains(html, "data-signature") {
				t.Errorf("the text or HTML names no signature:\n%s\n%s", text.String(), html)
			}
		})
	}
}

// TestExtendSeveral: Extend makes a PDF with two signatures B-LTA, with an
// OCSP answer for each signature in the DSS; the result validates with
// the responder down, and a tampered DSS or a third revision after the
// second signature is found.
func TestExtendSeveral(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	first := f.signAgain(t, onePage(t), "Agent", false)
	f.advance(time.Hour)
	two := f.signAgain(t, first, "Officer", false)
	f.advance(time.Minute)
	lta, err := f.policy.Extend(ctx, two, f.stamper)
	if err != nil {
		t.Fatal(err)
	}
	// One card signed both, an hour apart: the answer fetched for the
	// second signature (produced after both time-stamps) covers the first
	// too, so the DSS keeps one answer.
	if vd, err := cms.DSS(lta); err != nil || len(vd.OCSPs) != 1 {
		t.Fatalf("DSS: %v, %d OCSP answers, want 1", err, len(vd.OCSPs))
	}
	if _, err := f.policy.Extend(ctx, first[:len(first)-10], nil); err == nil {
		t.Error("Extend of a truncated PDF succeeded")
	}
	f.ocspOff.Store(true)
	r := f.policy.Validate(ctx, verify.Document{Name: "two.pdf", Format: verify.FormatPAdES, Data: lta})
	var got []string
	for _, e := range r.Signatures {
		got = append(got, e.Kind+"/"+string(e.Indication))
	}
	want := []string{"approval/TOTAL_PASSED", "approval/TOTAL_PASSED", "document-timestamp/TOTAL_PASSED"}
	if diff := cmp.Diff(want, got); diff != "" || !r.Passed() || r.Level != "B-LTA" {
		t.Errorf("%s/%s level %s (%s) (-want +got):\n%s", r.Indication, r.SubIndication, r.Level, r.MessageEN, diff)
	}
	// A renewal with the responder down keeps the answer.
	renewed, err := f.policy.Extend(ctx, lta, f.stamper)
	if err != nil {
		t.Fatalf("renewal: %v", err)
	}
	if r := f.policy.Validate(ctx, verify.Document{Format: verify.FormatPAdES, Data: renewed}); !r.Passed() {
		t.Errorf("renewed: %s/%s %s", r.Indication, r.SubIndication, r.MessageEN)
	}
	// Without the responder, a B-T PDF with two signatures cannot be made
	// long-term.
	if _, err := f.policy.Extend(ctx, two, f.stamper); err == nil {
		t.Error("Extend with the responder down made a B-LT PDF")
	}
}
