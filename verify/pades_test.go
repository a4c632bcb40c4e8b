package verify_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/cms"
	"github.com/mynaplat/mynaplat/seal"
	"github.com/mynaplat/mynaplat/verify"
)

// TestLongTermOffline validates a card-signed PDF from its DSS alone: the
// JPKI centre's OCSP responder and the TSA are off, at the signing time and
// a year later. Without a DSS the same PDF is INDETERMINATE, never PASSED,
// and every tampering is found.
func TestLongTermOffline(t *testing.T) {
	ctx := context.Background()
	type result struct {
		Indication verify.Indication
		Sub        verify.SubIndication
		Level      string
	}
	f := newFixture(t)
	bt := f.signPDF(t)
	signing := f.now()
	lt, err := f.policy.Extend(ctx, bt, nil)
	if err != nil {
		t.Fatal(err)
	}
	lta, err := f.policy.Extend(ctx, bt, f.stamper)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.policy.Extend(ctx, f.signPDFUnstamped(t), nil); !errors.Is(err, cms.ErrFormat) {
		t.Errorf("Extend of a B-B PDF: %v, want ErrFormat (B-T is needed)", err)
	}
	// From here on the OCSP responder is down, and nothing but a renewal
	// asks the TSA.
	f.ocspOff.Store(true)
	if _, err := f.policy.Extend(ctx, bt, f.stamper); err == nil {
		t.Error("Extend of a B-T PDF with the responder down made a B-LT one")
	}
	// A renewal needs no responder: the DSS has the answer already.
	f.advance(30 * 24 * time.Hour)
	renewed, err := f.policy.Extend(ctx, lta, f.stamper)
	if err != nil {
		t.Fatalf("renewal with the responder down: %v", err)
	}
	if vd, _ := cms.DSS(renewed); len(vd.OCSPs) != 1 {
		t.Errorf("the renewed DSS has %d OCSP answers, want the first one only", len(vd.OCSPs))
	}

	flip := func(b []byte, at int) []byte {
		c := bytes.Clone(b)
		c[at] ^= 1
		return c
	}
	contentAt := bytes.Index(bt, []byte("/MediaBox")) + 1
	dssAt := func(b []byte) int {
		vd, err := cms.DSS(b)
		if err != nil || len(vd.OCSPs) != 1 {
			t.Fatalf("DSS: %v, %d OCSP answers", err, len(vd.OCSPs))
		}
		return bytes.Index(b, vd.OCSPs[0]) + len(vd.OCSPs[0]) - 40 // inside the responder's signature
	}
	// A hex digit inside the token, changed to another hex digit.
	tokenAt := bytes.LastIndex(lta, []byte("/Contents <")) + len("/Contents <") + 300
	hexFlip := func(b []byte, at int) []byte {
		c := bytes.Clone(b)
		c[at] = "10"[min(1, int(c[at]-'0'))]
		return c
	}
	for _, tc := range []struct {
		name  string
		data  []byte
		later time.Duration
		want  result
	}{
		{"B-LT at the signing time", lt, 0, result{verify.TotalPassed, "", "B-LT"}},
		{"B-LT a year later", lt, 365 * 24 * time.Hour, result{verify.TotalPassed, "", "B-LT"}},
		{"B-LTA at the signing time", lta, 0, result{verify.TotalPassed, "", "B-LTA"}},
		{"B-LTA a year later", lta, 365 * 24 * time.Hour, result{verify.TotalPassed, "", "B-LTA"}},
		{"B-LTA renewed, a year later", renewed, 365 * 24 * time.Hour, result{verify.TotalPassed, "", "B-LTA"}},
		{"B-T only", bt, 0, result{verify.Indeterminate, verify.TryLater, "B-T"}},
		{"B-LT, content changed", flip(lt, contentAt), 0, result{verify.TotalFailed, verify.HashFailure, ""}},
		{"B-LT, DSS changed", flip(lt, dssAt(lt)), 0, result{verify.Indeterminate, verify.TryLater, "B-T"}},
		{"B-LTA, DSS changed", flip(lta, dssAt(lta)), 0, result{verify.Indeterminate, verify.NoPOE, ""}},
		{"B-LTA, document time-stamp changed", hexFlip(lta, tokenAt), 0, result{verify.Indeterminate, verify.NoPOE, ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := *f.policy
			p.Now = func() time.Time { return signing.Add(tc.later) }
			r := p.Validate(ctx, verify.Document{Name: "doc.pdf", Format: verify.FormatPAdES, Data: tc.data})
			if diff := cmp.Diff(tc.want, result{r.Indication, r.SubIndication, r.Level}); diff != "" {
				t.Errorf("-want +got:\n%s\n%+v", diff, r)
			}
			if r.Passed() && (r.Revocation == "" || r.SigningTime == nil) {
				t.Errorf("passed without revocation data or signing time: %+v", r)
			}
		})
	}

	t.Run("B-B, network off", func(t *testing.T) {
		bb := f.signPDFUnstamped(t)
		for _, require := range []bool{true, false} {
			p := *f.policy
			p.RequireTimestamp = require
			r := p.Validate(ctx, verify.Document{Format: verify.FormatPAdES, Data: bb})
			if r.Indication != verify.Indeterminate {
				t.Errorf("RequireTimestamp %v: %s/%s, want INDETERMINATE", require, r.Indication, r.SubIndication)
			}
		}
	})
	t.Run("TSA not trusted", func(t *testing.T) {
		p := *f.policy
		p.TSARoots = x509.NewCertPool()
		if r := p.Validate(ctx, verify.Document{Format: verify.FormatPAdES, Data: lta}); r.Passed() {
			t.Errorf("passed with no TSA trusted: %+v", r)
		}
	})
}

// TestSealedOffline: a kiosk certificate sealed B-LTA validates from its
// DSS (the seal CA's CRL) with nothing reachable, today and years later;
// sealed B-B it is INDETERMINATE, and a changed byte fails.
func TestSealedOffline(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.ocspOff.Store(true)
	auth, err := seal.OpenAuthority(t.TempDir(), f.now)
	if err != nil {
		t.Fatal(err)
	}
	s, err := auth.Seal(seal.Municipality{Code: "062049", NameJA: "酒田市", NameEN: "Sakata City"})
	if err != nil {
		t.Fatal(err)
	}
	crl, err := auth.CRL()
	if err != nil {
		t.Fatal(err)
	}
	in := onePage(t)
	lta, err := seal.SignPDFLongTerm(ctx, in, s.Signer, s.Cert, s.Chain, f.now(), seal.LongTerm{Stamper: f.stamper, TSARoots: f.policy.TSARoots, CRL: crl, Archive: true})
	if err != nil {
		t.Fatal(err)
	}
	bb, err := seal.SignPDF(in, s.Signer, s.Cert, s.Chain, f.now())
	if err != nil {
		t.Fatal(err)
	}
	policy := *f.policy
	policy.SealRoots = auth.Roots()
	type result struct {
		Indication verify.Indication
		Sub        verify.SubIndication
		Level      string
	}
	tampered := bytes.Clone(lta)
	tampered[bytes.Index(tampered, []byte("/MediaBox"))+1] = 'm'
	signing := f.now()
	for _, tc := range []struct {
		name  string
		data  []byte
		later time.Duration
		want  result
	}{
		{"B-LTA", lta, 0, result{verify.TotalPassed, "", "B-LTA"}},
		{"B-LTA ten years later", lta, 10 * 365 * 24 * time.Hour, result{verify.TotalPassed, "", "B-LTA"}},
		{"B-B", bb, 0, result{verify.Indeterminate, verify.NoPOE, "B-B"}},
		{"B-LTA, content changed", tampered, 0, result{verify.TotalFailed, verify.HashFailure, ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := policy
			p.Now = func() time.Time { return signing.Add(tc.later) }
			r := p.Validate(ctx, verify.Document{Format: verify.FormatPAdES, Data: tc.data})
			if diff := cmp.Diff(tc.want, result{r.Indication, r.SubIndication, r.Level}); diff != "" {
				t.Errorf("-want +got:\n%s\n%+v", diff, r)
			}
			// The report says the status came from the DSS's CRL, and when
			// that CRL was issued; the chain is the seal's.
			if r.Passed() && (r.RevocationData == nil || r.RevocationData.Source != verify.SourceDSSCRL ||
				r.RevocationData.Time.IsZero() || len(r.Chain) != 2 || r.Certification == nil) {
				t.Errorf("report detail: revocation %+v, chain %d, certification %+v", r.RevocationData, len(r.Chain), r.Certification)
			}
		})
	}
	t.Run("B-B without RequireTimestamp", func(t *testing.T) {
		p := policy
		p.RequireTimestamp = false
		if r := p.Validate(ctx, verify.Document{Format: verify.FormatPAdES, Data: bb}); r.Indication != verify.Indeterminate || r.SubIndication != verify.TryLater {
			t.Errorf("%s/%s, want INDETERMINATE/TRY_LATER", r.Indication, r.SubIndication)
		}
	})
}
