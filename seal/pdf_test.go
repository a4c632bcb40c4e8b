package seal

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/tsa"
)

func TestSignPDFPdfsigValid(t *testing.T) {
	a := testAuthority(t)
	s, err := a.Seal(sakata)
	if err != nil {
		t.Fatal(err)
	}
	in := samplePDF(t, sampleContent, nil)
	signed, err := SignPDF(in, s.Signer, s.Cert, s.Chain, testNow)
	if err != nil {
		t.Fatal(err)
	}
	out, ok := pdfsig(t, signed)
	if !ok {
		t.Fatalf("pdfsig does not call the signature valid:\n%s", out)
	}
	if !strings.Contains(out, "ETSI.CAdES.detached") {
		t.Errorf("pdfsig does not report a PAdES signature:\n%s", out)
	}
	t.Logf("pdfsig:\n%s", out)

	rep, err := VerifyPDF(signed, a.Roots(), nil)
	if err != nil {
		t.Fatalf("VerifyPDF: %v", err)
	}
	if len(rep.Signatures) != 1 {
		t.Fatalf("%d signatures", len(rep.Signatures))
	}
	sig := rep.Signatures[0]
	if sig.SubFilter != "ETSI.CAdES.detached" || !sig.WholeFile || sig.Name != "Sakata City (062049)" ||
		!sig.SigningTime.Equal(testNow) || len(sig.Chain) != 2 || !sig.Signer.Equal(s.Cert) {
		t.Errorf("report: %+v", sig)
	}

	t.Run("other roots", func(t *testing.T) {
		other := testAuthority(t)
		if _, err := VerifyPDF(signed, other.Roots(), nil); !errors.Is(err, ErrUntrusted) {
			t.Errorf("VerifyPDF against another CA: %v, want ErrUntrusted", err)
		}
	})
	t.Run("unsigned", func(t *testing.T) {
		if _, err := VerifyPDF(in, a.Roots(), nil); !errors.Is(err, ErrNoSignature) {
			t.Errorf("VerifyPDF of an unsigned PDF: %v, want ErrNoSignature", err)
		}
	})
	t.Run("a byte changed", func(t *testing.T) {
		// A byte inside the first content stream: the file still parses, but
		// what was signed has changed.
		tampered := bytes.Clone(signed)
		i := bytes.Index(tampered, []byte("stream\n"))
		if i < 0 {
			t.Fatal("no stream")
		}
		tampered[i+20] ^= 0x01
		out, ok := pdfsig(t, tampered)
		if ok {
			t.Errorf("pdfsig calls a tampered PDF valid:\n%s", out)
		}
		if _, err := VerifyPDF(tampered, a.Roots(), nil); !errors.Is(err, ErrPDFSignature) {
			t.Errorf("VerifyPDF of a tampered PDF: %v, want ErrPDFSignature", err)
		}
	})
	t.Run("appended update", func(t *testing.T) {
		appended := append(bytes.Clone(signed), []byte("\n% an incremental update would go here\n")...)
		if _, err := VerifyPDF(appended, a.Roots(), nil); !errors.Is(err, ErrPDFSignature) {
			t.Errorf("VerifyPDF of an extended PDF: %v, want ErrPDFSignature", err)
		}
	})
	if dir := os.Getenv("SEAL_KEEP"); dir != "" {
		os.WriteFile(filepath.Join(dir, "signed.pdf"), signed, 0o644)
	}
}

func TestSealKeys(t *testing.T) {
	dir := t.TempDir()
	a, err := OpenAuthority(dir, func() time.Time { return testNow })
	if err != nil {
		t.Fatal(err)
	}
	s, err := a.Seal(sakata)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"ca.key", "m-062049/seal.key", "m-062049/qr.key"} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", f, st.Mode().Perm())
		}
	}
	if got := s.Cert.Subject.CommonName; got != "酒田市 公印 / Sakata City seal" {
		t.Errorf("CN %q", got)
	}
	if err := s.Cert.CheckSignatureFrom(a.Root()); err != nil {
		t.Error(err)
	}
	// Opened again, the same keys come back.
	b, err := OpenAuthority(dir, func() time.Time { return testNow })
	if err != nil {
		t.Fatal(err)
	}
	s2, err := b.Seal(sakata)
	if err != nil {
		t.Fatal(err)
	}
	if !s2.Cert.Equal(s.Cert) || !s2.QRSigner.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(s.QRSigner.Public()) {
		t.Error("reopened authority made new keys")
	}
	if _, err := b.Seal(Municipality{Code: "062049", NameJA: "酒田市", NameEN: "酒田"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("non-ASCII English name: %v", err)
	}
	if _, err := b.QRPublicKey("999999"); !errors.Is(err, ErrUnknownMunicipality) {
		t.Errorf("unknown municipality: %v", err)
	}
}

// TestSignPDFLongTerm: a seal signature with a time-stamp, a DSS holding the
// seal CA's CRL and the chains, and a document time-stamp (B-LTA), checked
// without asking anyone; a changed DSS or an untrusted TSA fails it.
func TestSignPDFLongTerm(t *testing.T) {
	ctx := context.Background()
	a := testAuthority(t)
	s, err := a.Seal(sakata)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := tsa.LoadOrCreate(t.TempDir(), func() time.Time { return testNow })
	if err != nil {
		t.Fatal(err)
	}
	stamper := tsa.New(keys, func() time.Time { return testNow }, nil)
	tsaRoots := x509.NewCertPool()
	tsaRoots.AddCert(keys.Root)
	crl, err := a.CRL()
	if err != nil {
		t.Fatal(err)
	}
	in := samplePDF(t, sampleContent, nil)
	for _, tc := range []struct {
		name    string
		archive bool
		level   string
		stamps  int
	}{
		{"B-LT", false, "B-LT", 0},
		{"B-LTA", true, "B-LTA", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			signed, err := SignPDFLongTerm(ctx, in, s.Signer, s.Cert, s.Chain, testNow,
				LongTerm{Stamper: stamper, TSARoots: tsaRoots, CRL: crl, Archive: tc.archive})
			if err != nil {
				t.Fatal(err)
			}
			if out, ok := pdfsig(t, signed); !ok {
				t.Errorf("pdfsig does not call the seal valid:\n%s", out)
			}
			rep, err := VerifyPDF(signed, a.Roots(), tsaRoots)
			if err != nil {
				t.Fatalf("VerifyPDF: %v", err)
			}
			if len(rep.Signatures) != 1 || rep.Level != tc.level || len(rep.DocTimestamps) != tc.stamps {
				t.Fatalf("report: %+v", rep)
			}
			sig := rep.Signatures[0]
			if sig.Certification != 1 || !sig.Timestamp.Equal(testNow) || !strings.HasPrefix(sig.Revocation, "good (CRL") || sig.WholeFile {
				t.Errorf("signature: %+v", sig)
			}

			t.Run("DSS changed", func(t *testing.T) {
				tampered := bytes.Clone(signed)
				i := bytes.Index(tampered, crl)
				tampered[i+len(crl)-20] ^= 1 // inside the CRL's signature
				rep, err := VerifyPDF(tampered, a.Roots(), tsaRoots)
				if tc.archive && !errors.Is(err, ErrPDFSignature) {
					t.Errorf("VerifyPDF with a changed DSS: %v, want the document time-stamp to fail", err)
				}
				if rep != nil && rep.Level == tc.level {
					t.Errorf("a changed CRL still makes %s", rep.Level)
				}
			})
			t.Run("TSA not trusted", func(t *testing.T) {
				if _, err := VerifyPDF(signed, a.Roots(), x509.NewCertPool()); !errors.Is(err, ErrPDFSignature) {
					t.Errorf("VerifyPDF with no TSA trusted: %v, want ErrPDFSignature", err)
				}
			})
		})
	}
}

// BenchmarkSignPDF is a kiosk certificate's seal at each PAdES level, the
// TSA in process; it reports the bytes the level adds.
func BenchmarkSignPDF(b *testing.B) {
	ctx := context.Background()
	a := testAuthority(b)
	s, err := a.Seal(sakata)
	if err != nil {
		b.Fatal(err)
	}
	keys, err := tsa.LoadOrCreate(b.TempDir(), func() time.Time { return testNow })
	if err != nil {
		b.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(keys.Root)
	stamper := tsa.New(keys, func() time.Time { return testNow }, nil)
	in := samplePDF(b, sampleContent, nil)
	for _, tc := range []struct {
		name string
		lt   func() LongTerm
	}{
		{"B-B", func() LongTerm { return LongTerm{} }},
		{"B-T", func() LongTerm { return LongTerm{Stamper: stamper, TSARoots: roots} }},
		{"B-LT", func() LongTerm {
			crl, _ := a.CRL()
			return LongTerm{Stamper: stamper, TSARoots: roots, CRL: crl}
		}},
		{"B-LTA", func() LongTerm {
			crl, _ := a.CRL()
			return LongTerm{Stamper: stamper, TSARoots: roots, CRL: crl, Archive: true}
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var out []byte
			for b.Loop() {
				if out, err = SignPDFLongTerm(ctx, in, s.Signer, s.Cert, s.Chain, testNow, tc.lt()); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(out)-len(in)), "added-bytes")
		})
	}
}
