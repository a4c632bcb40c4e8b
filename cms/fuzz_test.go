package cms

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
)

// FuzzVerify feeds Verify arbitrary bytes, enveloping or with detached
// content: it must never panic (not even a panic it recovers from itself),
// and always answers with a result or an error wrapping one of its
// sentinels.
func FuzzVerify(f *testing.F) {
	ctx := context.Background()
	content := []byte(sampleContent)
	rsaPKI, ecPKI := newPKI(f, "RSA"), newPKI(f, "ECDSA")
	stamper, tsaRoots, _ := testTSA(f, rsaPKI.now)
	for _, tc := range []struct {
		p        *testPKI
		detached bool
		stamped  bool
	}{{rsaPKI, false, true}, {rsaPKI, true, false}, {ecPKI, false, false}, {ecPKI, true, true}} {
		o := SignOptions{Signer: tc.p.key, Cert: tc.p.cert, Detached: tc.detached}
		if tc.stamped {
			o.Stamper = stamper
		}
		der, err := Sign(ctx, content, o)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(der, tc.detached)
		f.Add(der[:len(der)-7], tc.detached)
	}
	d := sha256.Sum256(content)
	tok, err := stamper.Stamp(ctx, crypto.SHA256, d[:])
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tok, false) // a SignedData of a TSTInfo
	f.Add([]byte{}, false)
	f.Add([]byte{0x30, 0x80, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02, 0xa0, 0x80, 0x00, 0x00, 0x00, 0x00}, false) // BER, indefinite lengths
	f.Add([]byte("garbage"), true)

	sentinels := []error{ErrFormat, ErrNoSigner, ErrHash, ErrSignature, ErrTimestamp}
	f.Fuzz(func(t *testing.T, der []byte, detached bool) {
		var given []byte
		if detached {
			given = content
		}
		sig, err := Verify(der, given, tsaRoots)
		if err == nil {
			if sig == nil || sig.Signer == nil {
				t.Fatalf("no error and no signer: %+v", sig)
			}
			return
		}
		if strings.Contains(err.Error(), "panic") {
			t.Fatalf("a parser panicked: %v", err)
		}
		known := false
		for _, s := range sentinels {
			known = known || errors.Is(err, s)
		}
		if !known {
			t.Fatalf("error wraps no sentinel: %v", err)
		}
	})
}

// FuzzVerifyPDF feeds VerifyPDF and DSS arbitrary files grown from a B-LTA
// PDF (a certification, a DSS, a document time-stamp): they never panic, a
// nil error means every signature verified, and every failure wraps one of
// the package's sentinels.
func FuzzVerifyPDF(f *testing.F) {
	ctx := context.Background()
	p := newPKI(f, "RSA")
	stamper, tsaRoots, keys := testTSA(f, p.now)
	bt, err := SignPDF(ctx, samplePDF(f), PDFOptions{SignOptions: SignOptions{Signer: p.key, Cert: p.cert, Stamper: stamper}, Certify: true})
	if err != nil {
		f.Fatal(err)
	}
	lt, err := AddDSS(bt, ValidationData{Certs: []*x509.Certificate{p.cert, p.root, keys.Cert, keys.Root}, OCSPs: [][]byte{[]byte("ocsp")}})
	if err != nil {
		f.Fatal(err)
	}
	lta, err := AddDocTimeStamp(ctx, lt, stamper)
	if err != nil {
		f.Fatal(err)
	}
	for _, b := range [][]byte{bt, lt, lta, lta[:len(lta)-10], append(bytes.Clone(lta), "\n%%EOF\n"...)} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = DSS(b)
		sigs, err := VerifyPDF(b, tsaRoots)
		for _, s := range sigs {
			if err == nil && s.Err != nil {
				t.Fatalf("nil error with a failing signature: %v", s.Err)
			}
			if s.Err != nil && !errors.Is(s.Err, ErrFormat) && !errors.Is(s.Err, ErrNoSigner) && !errors.Is(s.Err, ErrHash) &&
				!errors.Is(s.Err, ErrSignature) && !errors.Is(s.Err, ErrTimestamp) {
				t.Fatalf("a failure without a sentinel: %v", s.Err)
			}
			if s.WholeFile && !s.OnlyLTVAfter {
				t.Fatal("a signature over the whole file with something after it")
			}
		}
	})
}
