package cms

import (
	"context"
	"crypto"
	"crypto/sha256"
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
