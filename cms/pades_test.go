package cms

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// pdfsigValid counts the signatures pdfsig calls valid, and its output.
func pdfsigValid(t *testing.T, pdf []byte) (int, string) {
	t.Helper()
	out, _ := pdfsig(t, pdf)
	return bytes.Count([]byte(out), []byte("Signature Validation: Signature is Valid.")), out
}

// sigState is what a test compares of each signature VerifyPDF found.
type sigState struct {
	SubFilter                 string
	WholeFile, OnlyLTVAfter   bool
	Certification             int
	DocTimeStamp, Stamped, OK bool
}

func states(sigs []PDFSignature) []sigState {
	var s []sigState
	for _, x := range sigs {
		s = append(s, sigState{x.SubFilter, x.WholeFile, x.OnlyLTVAfter, x.Certification, x.DocTimeStamp, x.Timestamp != nil, x.Err == nil})
	}
	return s
}

// TestCertificationInForce: the certification signature's DocMDP is in
// force (/Perms in the catalog) with valid dictionaries, and an approval
// signature after it leaves it valid.
func TestCertificationInForce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPKI(t, "RSA")
	stamper, tsaRoots, _ := testTSA(t, p.now)
	certified, err := SignPDF(ctx, samplePDF(t), PDFOptions{SignOptions: SignOptions{Signer: p.key, Cert: p.cert, Stamper: stamper},
		Name: "Kofu City", Reason: "Certificate", When: p.now, Certify: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, re := range []string{
		`/Perms << /DocMDP \d+ 0 R >>`,
		`/Reference \[<< /Type /SigRef /TransformMethod /DocMDP /TransformParams << /Type /TransformParams /P 1 /V /1.2 >> >>\]`,
		`/Version /1.7`,
	} {
		if !regexp.MustCompile(re).Match(certified) {
			t.Errorf("the certified PDF has no %s", re)
		}
	}
	if bytes.Contains(certified, []byte("/DigestMethod")) {
		t.Error("the certified PDF has a /DigestMethod, which PDF 1.7 does not define in a signature reference dictionary")
	}
	if n, out := pdfsigValid(t, certified); n != 1 {
		t.Errorf("pdfsig: %d valid signatures, want 1:\n%s", n, out)
	}
	sigs, err := VerifyPDF(certified, tsaRoots)
	if err != nil {
		t.Fatal(err)
	}
	want := []sigState{{"ETSI.CAdES.detached", true, true, 1, false, true, true}}
	if diff := cmp.Diff(want, states(sigs)); diff != "" {
		t.Errorf("certified -want +got:\n%s", diff)
	}

	t.Run("approval after", func(t *testing.T) {
		q := newPKI(t, "ECDSA")
		approved, err := SignPDF(ctx, certified, PDFOptions{SignOptions: SignOptions{Signer: q.key, Cert: q.cert, Stamper: stamper},
			Name: "Approver", When: p.now})
		if err != nil {
			t.Fatal(err)
		}
		if n, out := pdfsigValid(t, approved); n != 2 {
			t.Errorf("pdfsig: %d valid signatures, want 2:\n%s", n, out)
		}
		sigs, err := VerifyPDF(approved, tsaRoots)
		if err != nil {
			t.Fatal(err)
		}
		want := []sigState{
			{"ETSI.CAdES.detached", false, false, 1, false, true, true},
			{"ETSI.CAdES.detached", true, true, 0, false, true, true},
		}
		if diff := cmp.Diff(want, states(sigs)); diff != "" {
			t.Errorf("approved -want +got:\n%s", diff)
		}
	})
	t.Run("certified twice", func(t *testing.T) {
		if _, err := SignPDF(ctx, certified, PDFOptions{SignOptions: SignOptions{Signer: p.key, Cert: p.cert}, Certify: true}); err == nil {
			t.Error("SignPDF certified a certified document again")
		}
	})
}

// TestLTA makes a B-T signature B-LT (DSS) and B-LTA (document
// time-stamp), renews it, and checks that each tampering is found.
func TestLTA(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPKI(t, "RSA")
	stamper, tsaRoots, keys := testTSA(t, p.now)
	bt, err := SignPDF(ctx, samplePDF(t), PDFOptions{SignOptions: SignOptions{Signer: p.key, Cert: p.cert, Stamper: stamper},
		Name: "Kofu City", When: p.now, Certify: true})
	if err != nil {
		t.Fatal(err)
	}
	fakeOCSP := []byte("an OCSP answer (the DSS does not parse it)")
	vd := ValidationData{Certs: []*x509.Certificate{p.cert, p.root, keys.Cert, keys.Root}, OCSPs: [][]byte{fakeOCSP}}
	lt, err := AddDSS(bt, vd)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DSS(lt)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Certs) != 4 || !got.Certs[2].Equal(keys.Cert) || len(got.OCSPs) != 1 || !bytes.Equal(got.OCSPs[0], fakeOCSP) || len(got.CRLs) != 0 {
		t.Errorf("DSS: %d certs, %d OCSPs, %d CRLs", len(got.Certs), len(got.OCSPs), len(got.CRLs))
	}
	lta, err := AddDocTimeStamp(ctx, lt, stamper)
	if err != nil {
		t.Fatal(err)
	}
	sigs, err := VerifyPDF(lta, tsaRoots)
	if err != nil {
		t.Fatal(err)
	}
	want := []sigState{
		{"ETSI.CAdES.detached", false, true, 1, false, true, true},
		{"ETSI.RFC3161", true, true, 0, true, true, true},
	}
	if diff := cmp.Diff(want, states(sigs)); diff != "" {
		t.Errorf("B-LTA -want +got:\n%s", diff)
	}
	// Poppler 22.12 (Debian 12) lists a document time-stamp but cannot
	// check one ("Unable to validate this type of signature"): VerifyPDF
	// does. The signature before it must stay valid.
	if n, out := pdfsigValid(t, lta); n != 1 || !bytes.Contains([]byte(out), []byte(keys.Cert.Subject.CommonName)) {
		t.Errorf("pdfsig: %d valid signatures, want the signature valid and the document time-stamp listed:\n%s", n, out)
	}

	t.Run("renewed", func(t *testing.T) {
		// A new DSS (nothing new to add but the same certificates: no
		// duplicates) and a new document time-stamp.
		lt2, err := AddDSS(lta, vd)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := DSS(lt2); len(got.Certs) != 4 || len(got.OCSPs) != 1 {
			t.Errorf("renewed DSS: %d certs, %d OCSPs; want 4 and 1", len(got.Certs), len(got.OCSPs))
		}
		lta2, err := AddDocTimeStamp(ctx, lt2, stamper)
		if err != nil {
			t.Fatal(err)
		}
		sigs, err := VerifyPDF(lta2, tsaRoots)
		if err != nil {
			t.Fatal(err)
		}
		want := []sigState{
			{"ETSI.CAdES.detached", false, true, 1, false, true, true},
			{"ETSI.RFC3161", false, true, 0, true, true, true},
			{"ETSI.RFC3161", true, true, 0, true, true, true},
		}
		if diff := cmp.Diff(want, states(sigs)); diff != "" {
			t.Errorf("renewed -want +got:\n%s", diff)
		}
	})
	t.Run("DSS changed", func(t *testing.T) {
		tampered := bytes.Clone(lta)
		i := bytes.Index(tampered[len(bt):], fakeOCSP)
		if i < 0 {
			t.Fatal("no OCSP answer in the DSS")
		}
		tampered[len(bt)+i] ^= 1
		sigs, err := VerifyPDF(tampered, tsaRoots)
		if !errors.Is(err, ErrTimestamp) || len(sigs) != 2 || sigs[0].Err != nil || !errors.Is(sigs[1].Err, ErrTimestamp) {
			t.Errorf("VerifyPDF with a changed DSS: %v %+v, want the document time-stamp to fail", err, states(sigs))
		}
	})
	t.Run("time-stamp changed", func(t *testing.T) {
		tampered := bytes.Clone(lta)
		i := bytes.LastIndex(tampered, []byte("/Contents <"))
		// A hex digit inside the token, changed to another hex digit.
		at := i + len("/Contents <") + 200
		tampered[at] = "10"[min(1, int(tampered[at]-'0'))]
		sigs, err := VerifyPDF(tampered, tsaRoots)
		if !errors.Is(err, ErrTimestamp) && !errors.Is(err, ErrFormat) || len(sigs) != 2 || sigs[1].Err == nil {
			t.Errorf("VerifyPDF with a changed document time-stamp: %v, want a failure", err)
		}
	})
	t.Run("content changed", func(t *testing.T) {
		tampered := bytes.Clone(lta)
		i := bytes.Index(tampered, []byte("stream\n"))
		tampered[i+20] ^= 1
		sigs, err := VerifyPDF(tampered, tsaRoots)
		if !errors.Is(err, ErrHash) || len(sigs) != 2 || !errors.Is(sigs[1].Err, ErrTimestamp) {
			t.Errorf("VerifyPDF with changed content: %v, want ErrHash and the time-stamp failing", err)
		}
	})
	t.Run("other update after", func(t *testing.T) {
		q := newPKI(t, "ECDSA")
		more, err := SignPDF(ctx, lta, PDFOptions{SignOptions: SignOptions{Signer: q.key, Cert: q.cert}})
		if err != nil {
			t.Fatal(err)
		}
		sigs, err := VerifyPDF(more, tsaRoots)
		if err != nil || len(sigs) != 3 || sigs[0].OnlyLTVAfter || sigs[1].OnlyLTVAfter {
			t.Errorf("an approval after B-LTA: %v %+v, want the earlier ones not OnlyLTVAfter", err, states(sigs))
		}
	})
}
