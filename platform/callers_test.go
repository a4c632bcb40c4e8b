package platform

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/internal/callerkey"
	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// TestCallerAPI: the caller API refuses a call without a key or with a key
// of no caller, answers a known caller as the platform itself does
// (attributes, signer, and the same ErrNotFound and ErrInvalid), and writes
// an audit row naming the caller that the holder sees.
func TestCallerAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db)
		cd, issued := w.issue(t)
		ar := w.auth(t, w.kiosk, answer(t, w.kiosk, cd))
		claims, err := VerifyAssertion(ar.Assertion, w.p.PublicKeys(), "https://platform.test", w.clock.now())
		if err != nil {
			t.Fatal(err)
		}
		cl := card.NewClient(cd)
		if err := cl.VerifyPIN(card.SignPIN, "SAKATA1975"); err != nil {
			t.Fatal(err)
		}
		der, err := cl.Certificate(card.Sign)
		cl.Logout()
		if err != nil {
			t.Fatal(err)
		}
		signCert, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}

		key := callerkey.New()
		mux := http.NewServeMux()
		w.p.CallerRoutes(mux, callerkey.Keys{}.Add("eligibility", key))
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)

		for _, tc := range []struct{ name, key string }{{"no key", ""}, {"wrong key", callerkey.New()}} {
			c := NewCallerClient(srv.URL, tc.key, nil)
			if _, err := c.PersonAttributes(ctx, claims.Subject); !errors.Is(err, callerkey.CodeUnauthorized) {
				t.Errorf("%s: attributes: %v, want %s", tc.name, err, callerkey.CodeUnauthorized)
			}
			if _, err := c.SignerPerson(ctx, signCert); !errors.Is(err, callerkey.CodeUnauthorized) {
				t.Errorf("%s: signer: %v, want %s", tc.name, err, callerkey.CodeUnauthorized)
			}
			if _, err := c.PersonCertificates(ctx, claims.Subject); !errors.Is(err, callerkey.CodeUnauthorized) {
				t.Errorf("%s: certificates: %v, want %s", tc.name, err, callerkey.CodeUnauthorized)
			}
		}

		c := NewCallerClient(srv.URL, key, nil)
		got, err := c.PersonAttributes(ctx, claims.Subject)
		if err != nil {
			t.Fatal(err)
		}
		want, err := w.p.PersonAttributes(ctx, claims.Subject)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != want.Name || !got.BirthDate.Equal(want.BirthDate) || got.Sex != want.Sex || got.Address != want.Address {
			t.Errorf("attributes over HTTP = %+v, want %+v", got, want)
		}
		if id, err := c.SignerPerson(ctx, signCert); err != nil || id != claims.Subject {
			t.Errorf("signer over HTTP = %q, %v; want %q", id, err, claims.Subject)
		}
		certs, err := c.PersonCertificates(ctx, claims.Subject)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(certs, func(r jpki.LinkageRef) bool {
			return r.Kind == jpki.Auth && r.Serial == issued.Auth.Serial
		}) {
			t.Errorf("certificates over HTTP = %+v, want the login's authentication certificate", certs)
		}
		if _, err := c.PersonCertificates(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
			t.Errorf("certificates of an unknown person: %v, want ErrNotFound", err)
		}
		if _, err := c.PersonAttributes(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown person: %v, want ErrNotFound", err)
		}
		if _, err := c.SignerPerson(ctx, &x509.Certificate{Raw: []byte("not a certificate")}); !errors.Is(err, ErrInvalid) {
			t.Errorf("garbage certificate: %v, want ErrInvalid", err)
		}

		entries, err := w.p.AuditFor(ctx, claims.Subject, "test", 50)
		if err != nil {
			t.Fatal(err)
		}
		var seen []string
		for _, e := range entries {
			if e.TerminalID == "caller:eligibility" {
				seen = append(seen, e.Action)
			}
		}
		slices.Sort(seen)
		if !slices.Equal(seen, []string{AuditCallerAttributes, AuditCallerCerts, AuditCallerSigner}) {
			t.Errorf("audit rows of the caller = %v", seen)
		}
	})
}

// TestKeyCache: the JWK set is fetched once per TTL, and the last copy
// serves on while the platform is down.
func TestKeyCache(t *testing.T) {
	var calls atomic.Int32
	var down atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		httpapi.WriteJSON(w, http.StatusOK, JWKS{Keys: []JWK{{Kid: "k1"}}})
	}))
	defer srv.Close()
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	kc := NewKeyCache(srv.URL, nil)
	kc.Now = func() time.Time { return now }
	kc.API.Retries = -1
	ctx := context.Background()
	for range 3 {
		if k, err := kc.Keys(ctx); err != nil || len(k.Keys) != 1 || k.Keys[0].Kid != "k1" {
			t.Fatalf("Keys = %+v, %v", k, err)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("fetches within TTL = %d, want 1", n)
	}
	now = now.Add(KeyPublishLead)
	down.Store(true)
	if k, err := kc.Keys(ctx); err != nil || len(k.Keys) != 1 {
		t.Errorf("stale copy while down: %+v, %v", k, err)
	}
	now = now.Add(2 * time.Hour)
	if _, err := kc.Keys(ctx); !errors.Is(err, httpapi.ErrUnavailable) {
		t.Errorf("past MaxStale: %v, want ErrUnavailable", err)
	}
}
