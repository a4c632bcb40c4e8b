package delegation

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"testing"
	"time"
)

// FuzzPower feeds arbitrary bytes to the parsing path of Register and
// Check: the canonical JSON of powers and revocations, and the CMS through
// the verifier into ParsePower. Nothing may panic (the CMS parser included:
// open would turn its panic into "forged", which the fuzz reports rather
// than hides), errors must be the package's, and whatever parses must be
// canonical: its re-encoding is the input.
func FuzzPower(f *testing.F) {
	k := newKey(f)
	sig := &signer{key: k, cert: issue(f, pkix.Name{CommonName: "fuzz signer"}, k, nil, false)}
	canon, err := samplePower().Canonical()
	if err != nil {
		f.Fatal(err)
	}
	der := signCMS(f, canon, sig, time.Now())
	rev, err := Revocation{PowerID: samplePower().ID, CorporateNumber: numberA}.Canonical()
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range [][]byte{canon, der, rev, signCMS(f, rev, sig, time.Now()), flipLast(der), der[:len(der)/2], []byte("{}")} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if p, err := ParsePower(b); err == nil {
			if again, err := p.Canonical(); err != nil || !bytes.Equal(again, b) {
				t.Fatalf("a parsed power is not canonical: %v\n%s\n%s", err, b, again)
			}
		} else if !errors.Is(err, ErrInvalid) {
			t.Fatalf("ParsePower: %v", err)
		}
		if r, err := ParseRevocation(b); err == nil {
			if again, err := r.Canonical(); err != nil || !bytes.Equal(again, b) {
				t.Fatalf("a parsed revocation is not canonical: %v", err)
			}
		} else if !errors.Is(err, ErrInvalid) {
			t.Fatalf("ParseRevocation: %v", err)
		}
		var panicked any
		s := &Service{logger: discard(), verify: func(der []byte) ([]byte, *x509.Certificate, time.Time, error) {
			defer func() {
				if panicked = recover(); panicked != nil {
					panic(panicked)
				}
			}()
			return verifyCMS(der)
		}}
		sg, err := s.open(b)
		if panicked != nil {
			t.Fatalf("the CMS parser panicked: %v", panicked)
		}
		switch {
		case err == nil:
			if again, err := sg.power.Canonical(); err != nil || !bytes.Equal(again, sg.content) {
				t.Fatalf("an opened power is not canonical: %v", err)
			}
		case !errors.Is(err, ErrForged) && !errors.Is(err, ErrInvalid):
			t.Fatalf("open: %v", err)
		}
	})
}
