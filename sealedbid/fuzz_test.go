package sealedbid

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"testing"

	"github.com/smallstep/pkcs7"
)

// FuzzParseSealedShare: Parse never panics, and what it accepts has one
// byte form: Marshal gives back exactly the input.
func FuzzParseSealedShare(f *testing.F) {
	pub, _, _ := fixture(f)
	for i := range pub.Shares {
		f.Add(pub.Shares[i].Marshal())
	}
	f.Add([]byte(magic))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSealedShare(b)
		if err != nil {
			return
		}
		if !bytes.Equal(s.Marshal(), b) {
			t.Fatalf("Parse/Marshal not stable")
		}
	})
}

// FuzzDecrypt: Decrypt never panics on any envelope, and refuses with one
// of the package's errors.
func FuzzDecrypt(f *testing.F) {
	pub, offs, cert := fixture(f)
	o, err := Open(pub.Certificate, pub.Shares, passphrases(offs, 0, 1))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { o.Close() })
	env, err := Seal([]byte("bid"), cert)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(env)
	f.Add(env[:len(env)/2])
	f.Add([]byte{0x30, 0x80, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, err := o.Decrypt(b)
		if err == nil {
			return
		}
		if _, _, ok := Messages(err); !ok {
			t.Fatalf("an error with no message: %v", err)
		}
	})
}

// The opening target (issue 19 §5): 1,000 bids in ≤ 5 s on 2 cores,
// including the signature checks. BenchmarkDecrypt is the part of it this
// package owns; BenchmarkDecryptAndVerify adds the CMS signature check of
// the bid (no time-stamp or power checks).
func BenchmarkSeal(b *testing.B) {
	_, _, cert := fixture(b)
	bid := signedBid(b, "1000000")
	b.SetBytes(int64(len(bid)))
	for b.Loop() {
		if _, err := Seal(bid, cert); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecrypt(b *testing.B) {
	pub, offs, cert := fixture(b)
	o, err := Open(pub.Certificate, pub.Shares, passphrases(offs, 0, 1))
	if err != nil {
		b.Fatal(err)
	}
	defer o.Close()
	bid := signedBid(b, "1000000")
	env, _ := Seal(bid, cert)
	b.SetBytes(int64(len(bid)))
	for b.Loop() {
		if _, err := o.Decrypt(env); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecryptAndVerify(b *testing.B) {
	pub, offs, cert := fixture(b)
	o, err := Open(pub.Certificate, pub.Shares, passphrases(offs, 0, 1))
	if err != nil {
		b.Fatal(err)
	}
	defer o.Close()
	env, _ := Seal(signedBid(b, "1000000"), cert)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			got, err := o.Decrypt(env)
			if err != nil {
				b.Fatal(err)
			}
			p7, err := pkcs7.Parse(got)
			if err != nil || p7.Verify() != nil {
				b.Fatal("signature")
			}
		}
	})
}

// BenchmarkOAEPDecrypt3072 is the cost a 3072-bit opening key would add,
// for the choice of KeyBits.
func BenchmarkOAEPDecrypt3072(b *testing.B) {
	for _, bits := range []int{2048, 3072} {
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			b.Fatal(err)
		}
		ct, _ := rsa.EncryptOAEP(sha256.New(), rand.Reader, &k.PublicKey, make([]byte, 32), nil)
		b.Run(map[int]string{2048: "2048", 3072: "3072"}[bits], func(b *testing.B) {
			for b.Loop() {
				if _, err := rsa.DecryptOAEP(sha256.New(), nil, k, ct, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
