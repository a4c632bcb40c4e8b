package cms

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/signintech/gopdf"

	"github.com/mynaplat/mynaplat/internal/testutil"
)

// samplePDF is a one-page PDF with a few shapes and no text, so that it
// needs no font.
func samplePDF(t testing.TB) []byte {
	t.Helper()
	var p gopdf.GoPdf
	p.Start(gopdf.Config{PageSize: *gopdf.PageSizeA4})
	p.AddPage()
	p.SetLineWidth(2)
	for y := 60.0; y < 800; y += 40 {
		p.Line(50, y, 545, y)
	}
	p.RectFromUpperLeftWithStyle(100, 100, 200, 120, "D")
	b, err := p.GetBytesPdfReturnErr()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pdfsig runs poppler's pdfsig and returns its output and whether it calls
// the signature valid.
func pdfsig(t *testing.T, pdf []byte) (string, bool) {
	t.Helper()
	bin := testutil.NeedProgram(t, "pdfsig", "poppler-utils")
	out, _ := exec.Command(bin, writeFile(t, t.TempDir(), "signed.pdf", pdf)).CombinedOutput()
	return string(out), bytes.Contains(out, []byte("Signature Validation: Signature is Valid."))
}

func TestSignPDF(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	in := samplePDF(t)
	when := time.Date(2026, 11, 24, 10, 0, 0, 0, time.FixedZone("JST", 9*3600))
	type got struct {
		SubFilter, Name, Location, Reason string
		SigningTime                       time.Time
		WholeFile                         bool
		Signer                            string
		Stamped                           bool
		StampTime                         time.Time
	}
	for _, tc := range []struct {
		name    string
		alg     string
		certify bool
		stamped bool
	}{
		{"RSA certification, time-stamped (B-T)", "RSA", true, true},
		{"ECDSA approval, time-stamped (B-T)", "ECDSA", false, true},
		{"RSA approval, no time-stamp (B-B)", "RSA", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := newPKI(t, tc.alg)
			stamper, tsaRoots, _ := testTSA(t, p.now)
			o := PDFOptions{
				SignOptions: SignOptions{Signer: opaque{p.key}, Cert: p.cert},
				Name:        "Sakata Ichiro", Location: "Sakata, Japan", Reason: "Power of attorney (test)",
				When: when, Certify: tc.certify,
			}
			if tc.stamped {
				o.Stamper = stamper
			}
			signed, err := SignPDF(ctx, in, o)
			if err != nil {
				t.Fatal(err)
			}
			if out, ok := pdfsig(t, signed); !ok {
				t.Errorf("pdfsig does not call the signature valid:\n%s", out)
			} else {
				t.Logf("pdfsig:\n%s", out)
			}
			sigs, err := VerifyPDF(signed, tsaRoots)
			if err != nil || len(sigs) != 1 {
				t.Fatalf("VerifyPDF: %d signatures, %v", len(sigs), err)
			}
			s := sigs[0]
			want := got{"ETSI.CAdES.detached", o.Name, o.Location, o.Reason, when, true, "酒田 一郎 (signer)", false, time.Time{}}
			if tc.stamped {
				want.Stamped, want.StampTime = true, p.now
			}
			g := got{s.SubFilter, s.Name, s.Location, s.Reason, s.SigningTime, s.WholeFile, s.Signer.Subject.CommonName, s.Timestamp != nil, time.Time{}}
			if s.Timestamp != nil {
				g.StampTime = s.Timestamp.Time
			}
			if diff := cmp.Diff(want, g, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
				t.Errorf("VerifyPDF -want +got:\n%s", diff)
			}
			if dir := os.Getenv("CMS_KEEP"); dir != "" {
				os.WriteFile(dir+"/"+tc.alg+".pdf", signed, 0o644)
			}

			t.Run("a byte changed", func(t *testing.T) {
				tampered := bytes.Clone(signed)
				i := bytes.Index(tampered, []byte("stream\n"))
				if i < 0 {
					t.Fatal("no stream")
				}
				tampered[i+20] ^= 0x01
				sigs, err := VerifyPDF(tampered, tsaRoots)
				if !errors.Is(err, ErrHash) || len(sigs) != 1 || !errors.Is(sigs[0].Err, ErrHash) {
					t.Errorf("VerifyPDF of a changed PDF: %v, want ErrHash", err)
				}
				if out, ok := pdfsig(t, tampered); ok {
					t.Errorf("pdfsig calls a changed PDF valid:\n%s", out)
				}
			})
			t.Run("appended", func(t *testing.T) {
				sigs, err := VerifyPDF(append(bytes.Clone(signed), "\n% appended\n"...), tsaRoots)
				if err != nil || len(sigs) != 1 || sigs[0].WholeFile {
					t.Errorf("VerifyPDF of an extended PDF: %v, %+v; want valid, not WholeFile", err, sigs)
				}
			})
			if tc.stamped {
				t.Run("TSA not trusted", func(t *testing.T) {
					_, otherRoots, _ := testTSA(t, p.now)
					if _, err := VerifyPDF(signed, otherRoots); !errors.Is(err, ErrTimestamp) {
						t.Errorf("VerifyPDF with other TSA roots: %v, want ErrTimestamp", err)
					}
				})
			}
		})
	}
}

func TestPDFRefusals(t *testing.T) {
	t.Parallel()
	in := samplePDF(t)
	p := newPKI(t, "ECDSA")
	if _, err := SignPDF(context.Background(), in, PDFOptions{SignOptions: SignOptions{Signer: p.key, Cert: p.cert},
		Name: "酒田 一郎"}); err == nil {
		t.Error("SignPDF took a non-ASCII /Name")
	}
	if _, err := SignPDF(context.Background(), []byte("%PDF-1.7 not really"), PDFOptions{SignOptions: SignOptions{Signer: p.key, Cert: p.cert}}); err == nil {
		t.Error("SignPDF signed something that is not a PDF")
	}
	if _, err := VerifyPDF(in, p.roots()); !errors.Is(err, ErrNoSignature) {
		t.Errorf("VerifyPDF of an unsigned PDF: %v, want ErrNoSignature", err)
	}
	if _, err := VerifyPDF([]byte("garbage"), p.roots()); !errors.Is(err, ErrNoSignature) || !errors.Is(err, ErrFormat) {
		t.Errorf("VerifyPDF of garbage: %v, want ErrNoSignature and ErrFormat", err)
	}
}
