package jpki

import (
	"context"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// TestSigningVerifierFreshness: the responder keeps a nonce-less answer for
// a quarter of the OCSP validity (an hour), longer than a verifier's
// freshness bound (ten minutes); the verifier must then still get a fresh
// answer, not call the status unknown.
func TestSigningVerifierFreshness(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		_, is := e.newCard(t, adult)
		cert, err := x509.ParseCertificate(is.Sign.DER)
		if err != nil {
			t.Fatal(err)
		}
		requests := 0
		v := &SigningVerifier{CA: e.c.CA(Sign), MaxAge: 10 * time.Minute, OCSP: func(ctx context.Context, req []byte) ([]byte, error) {
			requests++
			return e.c.Respond(ctx, req), nil
		}}
		for _, step := range []struct {
			after    time.Duration
			requests int // requests the check takes
		}{
			{0, 1},                // signed and cached now
			{5 * time.Minute, 1},  // the cached answer is fresh enough
			{10 * time.Minute, 2}, // 15 minutes old: asked again with a nonce
			{50 * time.Minute, 1}, // the cache has expired: a new answer
		} {
			e.clock.advance(step.after)
			requests = 0
			st, err := v.Revocation(ctx, cert, e.clock.now())
			if err != nil {
				t.Fatalf("after %v more: %v", step.after, err)
			}
			if st.Revoked || e.clock.now().Sub(st.ThisUpdate) > v.MaxAge || requests != step.requests {
				t.Errorf("after %v more: %+v at %v with %d requests, want good and fresh with %d", step.after, st, e.clock.now(), requests, step.requests)
			}
		}
		// An answer that does not echo the nonce is not taken.
		e.clock.advance(15 * time.Minute)
		stale := v.OCSP
		v.OCSP = func(ctx context.Context, req []byte) ([]byte, error) {
			return e.c.Respond(ctx, withoutNonce(t, req)), nil
		}
		if _, err := v.Revocation(ctx, cert, e.clock.now()); err == nil {
			t.Error("an answer without the nonce was taken")
		}
		v.OCSP = stale
	})
}

// withoutNonce drops the extensions of an OCSP request.
func withoutNonce(t testing.TB, der []byte) []byte {
	t.Helper()
	var req ocspRequest
	if _, err := asn1.Unmarshal(der, &req); err != nil {
		t.Fatal(err)
	}
	req.TBS.Extensions = nil
	return mustMarshal(req)
}

// TestArchivedRevocation: the answer kept for a signature is one produced
// after its time-stamp (asked again with a nonce when the responder's kept
// answer is older), and it settles the status later with no responder: for
// a revocation after the time-stamp too, which the caller then judges.
func TestArchivedRevocation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		_, is := e.newCard(t, adult)
		cert, err := x509.ParseCertificate(is.Sign.DER)
		if err != nil {
			t.Fatal(err)
		}
		v := &SigningVerifier{CA: e.c.CA(Sign), OCSP: func(ctx context.Context, req []byte) ([]byte, error) {
			return e.c.Respond(ctx, req), nil
		}}
		if _, err := v.Revocation(ctx, cert, e.clock.now()); err != nil { // the responder keeps this answer
			t.Fatal(err)
		}
		e.clock.advance(5 * time.Minute)
		poe := e.clock.now() // the signature's time-stamp
		answer, err := v.OCSPResponse(ctx, cert, poe)
		if err != nil {
			t.Fatal(err)
		}
		v.OCSP = nil // no responder from here on
		for _, tc := range []struct {
			name    string
			answers [][]byte
			poe     time.Time
			ok      bool
		}{
			{"the kept answer", [][]byte{answer}, poe, true},
			{"an answer before the time-stamp", [][]byte{answer}, poe.Add(time.Minute), false},
			{"garbage first", [][]byte{[]byte("not OCSP"), answer}, poe, true},
			{"none", nil, poe, false},
		} {
			st, err := v.ArchivedRevocation(cert, tc.answers, tc.poe)
			if tc.ok && (err != nil || st.Revoked || !st.Archived) {
				t.Errorf("%s: %+v %v, want good from the document", tc.name, st, err)
			}
			if !tc.ok && !errors.Is(err, ErrRevocationUnknown) {
				t.Errorf("%s: %+v %v, want ErrRevocationUnknown", tc.name, st, err)
			}
		}
		other := e.c.CA(Auth)
		if _, err := (&SigningVerifier{CA: other}).ArchivedRevocation(cert, [][]byte{answer}, poe); err == nil {
			t.Error("an answer was taken for a certificate of another CA")
		}
	})
}
