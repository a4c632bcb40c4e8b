package platform

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/store/storetest"
)

// BenchmarkAuthenticate measures the platform's verification in process —
// challenge read, cached chain, validity, one RSA verification, CRL lookup,
// group commit of the challenge and audit row, ES256 assertion — without
// HTTP, next to the bare RSA-2048 verification it is measured against.
//
//	go test -run '^$' -bench . -benchtime 3s ./platform/
func BenchmarkAuthenticate(b *testing.B) {
	w := newWorld(b, storetest.SQLite(b))
	cd, _ := w.issue(b)
	ctx := context.Background()
	term, err := w.p.Terminal(ctx, "kiosk-sakata-1")
	if err != nil {
		b.Fatal(err)
	}
	// Answers are made before the clock starts: signing is the card's cost.
	reqs := make([]AuthRequest, b.N)
	for i := range reqs {
		ch, err := w.p.NewChallenge(ctx, term)
		if err != nil {
			b.Fatal(err)
		}
		reqs[i] = answerChallenge(b, ch, cd)
	}
	b.ResetTimer()
	var next atomic.Int64
	b.SetParallelism(32)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(next.Add(1) - 1)
			rep, _, err := w.p.Authenticate(ctx, term, reqs[i])
			if err != nil || rep.Result != Passed {
				b.Errorf("%v %+v", err, rep)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "auth/s")
}

func BenchmarkBareRSAVerify(b *testing.B) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	sum := sha256.Sum256([]byte("mynaplat"))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, sum[:], sig)
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verify/s")
}

func FuzzVerifyAssertion(f *testing.F) {
	f.Add("eyJhbGciOiJFUzI1NiJ9.e30.AAAA")
	f.Add("a.b.c")
	f.Add("")
	keys := JWKS{Keys: []JWK{{Kty: "EC", Crv: "P-256", Kid: "k", X: "AAAA", Y: "AAAA"}}}
	f.Fuzz(func(t *testing.T, token string) {
		if c, err := VerifyAssertion(token, keys, "", time.Now()); err == nil {
			t.Fatalf("accepted a token without a valid key: %+v", c)
		}
	})
}
