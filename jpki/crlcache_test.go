package jpki

import (
	"context"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// crlSource is the centre's 署名用 CRL as a test can spoil it: down, or
// answering another CA's CRL, or a CRL whose signature was altered; it
// counts the fetches and the 304s.
type crlSource struct {
	client  *Client
	kind    Kind
	down    bool
	tamper  bool
	fetches int
	not304  int
}

func (s *crlSource) fetch(ctx context.Context, etag string) ([]byte, string, bool, error) {
	s.fetches++
	if s.down {
		return nil, "", false, httpapi.ErrUnavailable
	}
	der, newETag, notModified, err := s.client.CRL(ctx, s.kind, etag)
	if err == nil && !notModified {
		s.not304++
	}
	if err == nil && s.tamper && !notModified {
		der = append([]byte(nil), der...)
		der[len(der)-10] ^= 0xff // inside the signature value
	}
	return der, newETag, notModified, err
}

// TestSigningVerifierByCRL: a check that asks for the CRL (the OpenID
// Connect provider's acr_values=crl) reads the 署名用 CA's CRL from the
// centre, checked and cached; a stale, unavailable or badly signed CRL is
// ErrRevocationUnknown (INDETERMINATE), never a pass.
func TestSigningVerifierByCRL(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		signCert := func(is *IssuedCard) *x509.Certificate {
			t.Helper()
			c, err := x509.ParseCertificate(is.Sign.DER)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		_, good := e.newCard(t, adult)
		_, gone := e.newCard(t, adult)
		if err := e.c.Revoke(ctx, Sign, gone.Sign.Serial, KeyCompromise); err != nil {
			t.Fatal(err)
		}
		client := &Client{BaseURL: e.srv.URL}
		noOCSP := func(context.Context, []byte) ([]byte, error) {
			t.Error("a check by CRL asked OCSP")
			return nil, httpapi.ErrUnavailable
		}
		for _, tc := range []struct {
			name string
			cert *x509.Certificate
			// spoil runs after the first look at the CRL (src
			// unspoiled) and before the check.
			first bool
			spoil func(src *crlSource, v *SigningVerifier)
			want  error
		}{
			{name: "good", cert: signCert(good)},
			{name: "revoked", cert: signCert(gone), want: ErrCertRevoked},
			{name: "stale CRL: the centre down past MaxAge", cert: signCert(good), first: true,
				spoil: func(src *crlSource, v *SigningVerifier) { src.down = true; e.clock.advance(11 * time.Minute) }, want: ErrRevocationUnknown},
			{name: "bad CRL signature", cert: signCert(good),
				spoil: func(src *crlSource, v *SigningVerifier) { src.tamper = true }, want: ErrRevocationUnknown},
			{name: "another CA's CRL", cert: signCert(good),
				spoil: func(src *crlSource, v *SigningVerifier) { src.kind = Auth }, want: ErrRevocationUnknown},
			{name: "the centre down from the start", cert: signCert(good),
				spoil: func(src *crlSource, v *SigningVerifier) { src.down = true }, want: ErrRevocationUnknown},
			{name: "no CRL kept", cert: signCert(good),
				spoil: func(src *crlSource, v *SigningVerifier) { v.CRL = nil }, want: ErrRevocationUnknown},
		} {
			t.Run(tc.name, func(t *testing.T) {
				src := &crlSource{client: client, kind: Sign}
				v := &SigningVerifier{CA: e.c.CA(Sign), OCSP: noOCSP,
					CRL: &CRLCache{CA: e.c.CA(Sign), Fetch: src.fetch, MaxAge: 10 * time.Minute, Now: e.clock.now}}
				if tc.first {
					if err := v.CheckBy(ctx, tc.cert, e.clock.now(), ByCRL); err != nil {
						t.Fatalf("before it was spoilt: %v", err)
					}
				}
				if tc.spoil != nil {
					tc.spoil(src, v)
				}
				err := v.CheckBy(ctx, tc.cert, e.clock.now(), ByCRL)
				if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
					t.Fatalf("CheckBy(ByCRL) = %v, want %v", err, tc.want)
				}
				if tc.want == nil {
					st, err := v.RevocationBy(ctx, tc.cert, e.clock.now(), ByCRL)
					if err != nil || !strings.HasPrefix(st.Source, "CRL #") {
						t.Errorf("status %+v, %v; want one from the CRL", st, err)
					}
				}
			})
		}
	})
}

// TestCRLCacheRefresh: the copy is asked for again once RefreshEvery has
// passed, conditionally (a 304 while nothing changed); a revocation shows
// at the next refresh; while the centre is down it is asked at most once
// per RefreshEvery, and the copy serves until MaxAge.
func TestCRLCacheRefresh(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		_, is := e.newCard(t, adult)
		cert, err := x509.ParseCertificate(is.Sign.DER)
		if err != nil {
			t.Fatal(err)
		}
		src := &crlSource{client: &Client{BaseURL: e.srv.URL}, kind: Sign}
		c := &CRLCache{CA: e.c.CA(Sign), Fetch: src.fetch, MaxAge: 10 * time.Minute, RefreshEvery: time.Minute, Now: e.clock.now}
		for _, step := range []struct {
			name           string
			do             func()
			fetches, full  int // counted since the start
			revoked, fresh bool
		}{
			{"first check", func() {}, 1, 1, false, true},
			{"within RefreshEvery", func() { e.clock.advance(30 * time.Second) }, 1, 1, false, true},
			{"after RefreshEvery, unchanged: a 304", func() { e.clock.advance(31 * time.Second) }, 2, 1, false, true},
			{"revoked, not yet refreshed", func() {
				if err := e.c.Revoke(ctx, Sign, is.Sign.Serial, KeyCompromise); err != nil {
					t.Fatal(err)
				}
			}, 2, 1, false, true},
			{"the next refresh shows it", func() { e.clock.advance(time.Minute) }, 3, 2, true, true},
			{"centre down: the copy serves", func() { src.down = true; e.clock.advance(time.Minute) }, 4, 2, true, true},
			{"centre down: not asked again at once", func() { e.clock.advance(time.Second) }, 4, 2, true, true},
			{"centre down past MaxAge", func() { e.clock.advance(10 * time.Minute) }, 5, 2, false, false},
			{"centre back", func() { src.down = false; e.clock.advance(time.Minute) }, 6, 2, true, true},
		} {
			step.do()
			st, err := c.Revocation(ctx, cert, e.clock.now())
			if step.fresh != (err == nil) || (err != nil && !errors.Is(err, ErrRevocationUnknown)) {
				t.Fatalf("%s: %v, want fresh %v", step.name, err, step.fresh)
			}
			if st.Revoked != step.revoked || src.fetches != step.fetches || src.not304 != step.full {
				t.Errorf("%s: revoked %v after %d fetches (%d full), want %v after %d (%d)", step.name, st.Revoked, src.fetches, src.not304, step.revoked, step.fetches, step.full)
			}
		}
	})
}
