package platform

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/internal/callerkey"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// TestPresentedPerson: a card's 利用者証明用 certificate read without its
// PIN maps to the holder's platform ID only when the caller names that ID;
// a holder not named, a card whose holder never used the platform and a
// certificate that is not the CA's are refused; the read is audited under
// the caller, and the platform ID is told only for a match.
func TestPresentedPerson(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db)
		cd, _ := w.issue(t)
		ar := w.auth(t, w.kiosk, answer(t, w.kiosk, cd))
		claims, err := VerifyAssertion(ar.Assertion, w.p.PublicKeys(), "https://platform.test", w.clock.now())
		if err != nil {
			t.Fatal(err)
		}
		// No PIN: the authentication certificate is readable as it is.
		der, err := card.NewClient(cd).Certificate(card.Auth)
		if err != nil {
			t.Fatal(err)
		}
		unused, _ := w.issue(t)
		derUnused, err := card.NewClient(unused).Certificate(card.Auth)
		if err != nil {
			t.Fatal(err)
		}

		key := callerkey.New()
		mux := http.NewServeMux()
		w.p.CallerRoutes(mux, callerkey.Keys{}.Add("gate", key))
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		c := NewCallerClient(srv.URL, key, nil)

		if id, err := c.PresentedPerson(ctx, der, []string{"someone", claims.Subject}); err != nil || id != claims.Subject {
			t.Errorf("named holder = %q, %v; want %q", id, err, claims.Subject)
		}
		for _, tc := range []struct {
			name  string
			der   []byte
			among []string
			want  error
		}{
			{"a holder not named", der, []string{"someone"}, ErrNotFound},
			{"nobody named", der, nil, ErrNotFound},
			{"a holder who never used the platform", derUnused, []string{claims.Subject}, ErrNotFound},
			{"not a certificate", []byte("junk"), []string{claims.Subject}, ErrInvalid},
		} {
			if id, err := c.PresentedPerson(ctx, tc.der, tc.among); !errors.Is(err, tc.want) || id != "" {
				t.Errorf("%s: %q, %v; want %v", tc.name, id, err, tc.want)
			}
		}
		if _, err := NewCallerClient(srv.URL, "", nil).PresentedPerson(ctx, der, []string{claims.Subject}); !errors.Is(err, callerkey.CodeUnauthorized) {
			t.Errorf("no key: %v", err)
		}

		entries, err := w.p.AuditFor(ctx, claims.Subject, "test", 50)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range entries {
			if e.TerminalID == "caller:gate" && e.Action == AuditCallerPresented {
				n++
			}
		}
		if n != 1 {
			t.Errorf("presence reads audited under the holder = %d, want 1 (the match; the refusals name no one)", n)
		}
	})
}
