package cms

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/smallstep/pkcs7"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/mynaplat/mynaplat/internal/testutil"
	"github.com/mynaplat/mynaplat/tsa"
)

const sampleContent = "電子委任状\n受任者 酒田 一郎\n権限 保険料控除証明書の受領\n"

// summary is what the round-trip tests compare of a Signature.
type summary struct {
	Content      string
	Signer       string
	Certificates int
	Stamped      bool
	StampTime    time.Time
	TSA          string
}

func summarize(s *Signature) summary {
	out := summary{Content: string(s.Content), Certificates: len(s.Certificates)}
	if s.Signer != nil {
		out.Signer = s.Signer.Subject.CommonName
	}
	if ts := s.Timestamp; ts != nil {
		out.Stamped, out.StampTime, out.TSA = true, ts.Time, ts.TSA.Subject.CommonName
	}
	return out
}

func TestSignVerifyRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pkis := map[string]*testPKI{"RSA": newPKI(t, "RSA"), "ECDSA": newPKI(t, "ECDSA")}
	now := pkis["RSA"].now
	stamper, tsaRoots, _ := testTSA(t, now)
	for _, alg := range []string{"RSA", "ECDSA"} {
		for _, wrap := range []bool{false, true} {
			for _, detached := range []bool{false, true} {
				for _, stamped := range []bool{false, true} {
					name := alg
					if wrap {
						name += "/opaque"
					}
					name += map[bool]string{false: "/enveloping", true: "/detached"}[detached]
					name += map[bool]string{false: "", true: "/time-stamped"}[stamped]
					t.Run(name, func(t *testing.T) {
						t.Parallel()
						p := pkis[alg]
						o := SignOptions{Signer: p.key, Cert: p.cert, Chain: []*x509.Certificate{p.root}, Detached: detached}
						if wrap {
							o.Signer = opaque{p.key}
						}
						if stamped {
							o.Stamper = stamper
						}
						der, err := Sign(ctx, []byte(sampleContent), o)
						if err != nil {
							t.Fatal(err)
						}
						var given []byte
						if detached {
							given = []byte(sampleContent)
						}
						sig, err := Verify(der, given, tsaRoots)
						if err != nil {
							t.Fatalf("Verify: %v", err)
						}
						want := summary{Content: sampleContent, Signer: "酒田 一郎 (signer)", Certificates: 2}
						if stamped {
							want.Stamped, want.StampTime, want.TSA = true, now, "Time-Stamping Unit 1 (test)"
						}
						if diff := cmp.Diff(want, summarize(sig)); diff != "" {
							t.Errorf("Verify -want +got:\n%s", diff)
						}
						if !sig.Signer.Equal(p.cert) {
							t.Error("the signer is not the signing certificate")
						}
						if stamped && (sig.Timestamp.Accuracy != time.Second || sig.Timestamp.Serial.Sign() <= 0) {
							t.Errorf("time-stamp accuracy %v, serial %v", sig.Timestamp.Accuracy, sig.Timestamp.Serial)
						}
					})
				}
			}
		}
	}
}

func TestSignRefuses(t *testing.T) {
	t.Parallel()
	p := newPKI(t, "ECDSA")
	other := newKey(t, "ECDSA")
	for _, tc := range []struct {
		name string
		o    SignOptions
	}{
		{"no signer", SignOptions{Cert: p.cert}},
		{"no certificate", SignOptions{Signer: p.key}},
		{"another key", SignOptions{Signer: other, Cert: p.cert}},
		{"a key that signs wrongly", SignOptions{Signer: badSigner{p.key.Public(), other}, Cert: p.cert}},
		{"stamper fails", SignOptions{Signer: p.key, Cert: p.cert, Stamper: failingStamper{}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if der, err := Sign(context.Background(), []byte("x"), tc.o); err == nil {
				t.Errorf("Sign succeeded: %x", der)
			}
		})
	}
}

// badSigner answers with a signature by another key, like a card asked for
// the wrong key.
type badSigner struct {
	pub   crypto.PublicKey
	other crypto.Signer
}

func (b badSigner) Public() crypto.PublicKey { return b.pub }
func (b badSigner) Sign(r io.Reader, d []byte, o crypto.SignerOpts) ([]byte, error) {
	return b.other.Sign(r, d, o)
}

type failingStamper struct{}

func (failingStamper) Stamp(context.Context, crypto.Hash, []byte) ([]byte, error) {
	return nil, errors.New("TSA down")
}

// flip returns a copy of b with one byte of the first occurrence of part
// changed.
func flip(t *testing.T, b, part []byte, at int) []byte {
	t.Helper()
	i := bytes.Index(b, part)
	if i < 0 {
		t.Fatal("part not found")
	}
	c := bytes.Clone(b)
	c[i+at] ^= 0x01
	return c
}

func signatureValue(t *testing.T, der []byte) []byte {
	t.Helper()
	p7, err := pkcs7.Parse(der)
	if err != nil {
		t.Fatal(err)
	}
	return p7.Signers[0].EncryptedDigest
}

func TestVerifyFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPKI(t, "RSA")
	stamper, tsaRoots, _ := testTSA(t, p.now)
	_, otherTSARoots, _ := testTSA(t, p.now)
	content := []byte(sampleContent)
	sign := func(o SignOptions) []byte {
		t.Helper()
		o.Signer, o.Cert = p.key, p.cert
		der, err := Sign(ctx, content, o)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	enveloping := sign(SignOptions{Stamper: stamper})
	detached := sign(SignOptions{Detached: true})

	// A time-stamping unit whose certificate lacks the EKU timeStamping.
	noEKUKey := newKey(t, "ECDSA")
	noEKU := stamperFor(t, p, noEKUKey, p.issue(t, noEKUKey.Public(), 30, "no-EKU TSA"))
	// A SignedData without the signer's certificate.
	noCert, err := signedData(ctx, content, SignOptions{Signer: p.key, Cert: p.cert}, false)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		der      []byte
		detached []byte
		roots    *x509.CertPool
		want     error
		signer   bool // the answer names the signer anyway
	}{
		{"content changed (enveloping)", flip(t, enveloping, content, 3), nil, tsaRoots, ErrHash, true},
		{"content changed (detached)", detached, append(bytes.Clone(content), '!'), tsaRoots, ErrHash, true},
		{"signature value changed", flip(t, enveloping, signatureValue(t, enveloping), 100), nil, tsaRoots, ErrSignature, true},
		{"garbage", []byte("this is not a CMS"), nil, tsaRoots, ErrFormat, false},
		{"empty", nil, nil, tsaRoots, ErrFormat, false},
		{"truncated", enveloping[:len(enveloping)/2], nil, tsaRoots, ErrFormat, false},
		{"trailing data", append(bytes.Clone(enveloping), 0, 0), nil, tsaRoots, ErrFormat, false},
		{"detached CMS, no content given", detached, nil, tsaRoots, ErrFormat, true},
		{"enveloping CMS, content given too", enveloping, content, tsaRoots, ErrFormat, true},
		{"no signer certificate", noCert, nil, tsaRoots, ErrNoSigner, false},
		{"signing-certificate-v2 names another certificate", substituted(t, p, content), nil, tsaRoots, ErrNoSigner, true},
		{"token over another signature", sign(SignOptions{Stamper: lyingStamper{stamper}}), nil, tsaRoots, ErrTimestamp, true},
		{"TSA not in the roots", enveloping, nil, otherTSARoots, ErrTimestamp, true},
		{"no TSA roots", enveloping, nil, nil, ErrTimestamp, true},
		{"TSA certificate without EKU timeStamping", sign(SignOptions{Stamper: noEKU}), nil, p.roots(), ErrTimestamp, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sig, err := Verify(tc.der, tc.detached, tc.roots)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify: %v, want %v", err, tc.want)
			}
			t.Log(err)
			for _, other := range []error{ErrFormat, ErrNoSigner, ErrHash, ErrSignature, ErrTimestamp} {
				if other != tc.want && errors.Is(err, other) {
					t.Errorf("Verify: %v also wraps %v", err, other)
				}
			}
			if tc.signer && (sig == nil || sig.Signer == nil) {
				t.Errorf("the answer does not name the signer: %+v", sig)
			}
			if sig != nil && sig.Timestamp != nil {
				t.Errorf("a failed check reports a time-stamp: %+v", sig.Timestamp)
			}
		})
	}
}

// stamperFor is an in-process TSA whose unit is cert (issued by p's root).
func stamperFor(t *testing.T, p *testPKI, key crypto.Signer, cert *x509.Certificate) Stamper {
	t.Helper()
	return tsa.New(&tsa.Keys{Root: p.root, Cert: cert, Signer: key}, func() time.Time { return p.now }, nil)
}

// substituted is a SignedData signed with p's certificate whose
// certificates hold, instead, another certificate for the same key with the
// same issuer and serial: pkcs7 finds it, and the signature verifies with
// its key, but it is not the certificate that was signed.
func substituted(t *testing.T, p *testPKI, content []byte) []byte {
	t.Helper()
	twin := p.issue(t, p.key.Public(), p.cert.SerialNumber.Int64(), "someone else")
	digest := sha256.Sum256(content)
	attrs := signedAttributes(digest[:], p.cert)
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { b.AddBytes(attrs) })
	h := sha256.Sum256(b.BytesOrPanic())
	sig, err := p.key.Sign(rand.Reader, h[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	der, err := encodeSignedData(content, true, []*x509.Certificate{twin}, twin, attrs, oidRSAEncryption, sig, nil)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestOpenSSLVerifiesCMS has `openssl cms -verify` check our SignedData,
// enveloping and detached, RSA and ECDSA, time-stamped.
func TestOpenSSLVerifiesCMS(t *testing.T) {
	t.Parallel()
	bin := testutil.NeedProgram(t, "openssl", "openssl")
	ctx := context.Background()
	for _, alg := range []string{"RSA", "ECDSA"} {
		p := newPKI(t, alg)
		stamper, _, _ := testTSA(t, p.now)
		for _, detached := range []bool{false, true} {
			name := alg + map[bool]string{false: "/enveloping", true: "/detached"}[detached]
			t.Run(name, func(t *testing.T) {
				der, err := Sign(ctx, []byte(sampleContent), SignOptions{Signer: opaque{p.key}, Cert: p.cert,
					Detached: detached, Stamper: stamper})
				if err != nil {
					t.Fatal(err)
				}
				dir := t.TempDir()
				args := []string{"cms", "-verify", "-binary", "-inform", "DER", "-in", writeFile(t, dir, "sig.der", der),
					"-CAfile", writeFile(t, dir, "root.pem", certPEM(p.root)), "-purpose", "any",
					"-out", dir + "/out.bin"}
				if detached {
					args = append(args, "-content", writeFile(t, dir, "content.txt", []byte(sampleContent)))
				}
				out, err := exec.Command(bin, args...).CombinedOutput()
				if err != nil || !strings.Contains(string(out), "Verification successful") {
					t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
				}
				got, err := os.ReadFile(dir + "/out.bin")
				if err != nil || string(got) != sampleContent {
					t.Errorf("openssl's content %q, %v", got, err)
				}
				if detached {
					// and a changed content fails
					args[len(args)-1] = writeFile(t, dir, "other.txt", []byte(sampleContent+"!"))
					if out, err := exec.Command(bin, args...).CombinedOutput(); err == nil {
						t.Errorf("openssl accepts changed content:\n%s", out)
					}
				}
			})
		}
	}
}
