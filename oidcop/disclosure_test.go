package oidcop

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// refusingPlatform is the platform's caller API that refuses every
// disclosure while refuse is set.
type refusingPlatform struct {
	PlatformCaller
	refuse *atomic.Bool
}

func (r refusingPlatform) Disclose(ctx context.Context, personID string, d platform.Disclosure) error {
	if r.refuse.Load() {
		return errors.New("the platform refuses the disclosure")
	}
	return r.PlatformCaller.Disclose(ctx, personID, d)
}

// TestIDTokenDisclosureRefused: under --oidc-attributes-in-id-token, a
// code whose ID-token disclosure the platform refuses answers
// temporarily_unavailable (503, JSON) and issues nothing: no grant, no
// token, and the code is not taken, so the RP posts it again and gets its
// tokens once the platform takes the disclosure; after that it is spent as
// ever. A refresh whose disclosure is refused likewise issues nothing and leaves
// its refresh token good.
func TestIDTokenDisclosureRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		var refuse atomic.Bool
		w := newWorldWith(t, db, func(c *Config) {
			c.AttributesInIDToken = true
			c.Platform = refusingPlatform{PlatformCaller: c.Platform, refuse: &refuse}
		})
		q := authParams(rp1, cb1, s256(verifier))
		q.Set("scope", "openid name")
		login := func(t *testing.T) string {
			cb := w.consentLogin(t, webtest.New(t, w.srv.URL), q, w.good, []string{"name"}, "SUZAKA1980")
			code := cb.Query().Get("code")
			if code == "" {
				t.Fatalf("no code: %s", cb)
			}
			return code
		}
		post := func(t *testing.T, code string) (int, map[string]any) {
			return w.token(t, w.rp1Auth(t, url.Values{"grant_type": {"authorization_code"}, "code": {code},
				"redirect_uri": {cb1}, "code_verifier": {verifier}}))
		}
		// issued counts the grant and tokens of code's request.
		issued := func(t *testing.T, code string) int {
			t.Helper()
			var n int
			if err := db.QueryRowContext(t.Context(), `SELECT
(SELECT COUNT(*) FROM oidc_grants g JOIN oidc_auth_requests a ON a.id = g.id WHERE a.code_hash = $1) +
(SELECT COUNT(*) FROM oidc_tokens k JOIN oidc_auth_requests a ON a.id = k.grant_id WHERE a.code_hash = $1)`, hashToken(code)).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}

		code := login(t)
		refuse.Store(true)
		st, body := post(t, code)
		if st != http.StatusServiceUnavailable || body["error"] != "temporarily_unavailable" ||
			!strings.HasPrefix(body["error_description"].(string), "disclosure_not_recorded") || !strings.Contains(body["error_description"].(string), "posted again") {
			t.Errorf("refused disclosure: %d %v, want 503 temporarily_unavailable disclosure_not_recorded", st, body)
		}
		if body["access_token"] != nil || body["id_token"] != nil {
			t.Errorf("tokens in a refusal: %v", body)
		}
		if n := issued(t, code); n != 0 {
			t.Errorf("%d grant and token rows for a refused code, want 0", n)
		}
		if ds := w.disclosures(t, w.goodPID); len(ds) != 0 {
			t.Errorf("disclosures %v, want none", ds)
		}
		// The same code again, the platform back: the tokens, once.
		refuse.Store(false)
		st, body = post(t, code)
		if st != http.StatusOK {
			t.Fatalf("the code posted again: %d %v", st, body)
		}
		refresh := body["refresh_token"].(string)
		if c := claimsOf(t, body["id_token"].(string)); c["name"] != "須坂　花子" {
			t.Errorf("ID token claims %v, want the name", c)
		}
		if n := len(w.disclosures(t, w.goodPID)); n != 1 {
			t.Errorf("%d disclosures, want 1", n)
		}
		// A refresh whose disclosure is refused: nothing issued, the
		// rotation undone; the same refresh token then works, once.
		tokens := func() int {
			var n int
			if err := db.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM oidc_tokens`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		before := tokens()
		refresh1 := func() (int, map[string]any) {
			return w.token(t, w.rp1Auth(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}))
		}
		refuse.Store(true)
		if st, body := refresh1(); st != http.StatusServiceUnavailable || body["error"] != "temporarily_unavailable" || body["refresh_token"] != nil {
			t.Errorf("refused refresh: %d %v", st, body)
		}
		if n := tokens(); n != before {
			t.Errorf("%d token rows after a refused refresh, want %d (none issued)", n, before)
		}
		refuse.Store(false)
		if st, body := refresh1(); st != http.StatusOK {
			t.Errorf("the refresh token presented again: %d %v", st, body)
		} else if c := claimsOf(t, body["id_token"].(string)); c["name"] != "須坂　花子" {
			t.Errorf("the refreshed ID token's claims %v, want the name", c)
		}
		if st, body := refresh1(); st != http.StatusBadRequest || body["error"] != "invalid_grant" {
			t.Errorf("the refresh token a third time: %d %v, want invalid_grant (reuse)", st, body)
		}

		if st, body = post(t, code); st != http.StatusBadRequest || body["error"] != "invalid_grant" {
			t.Errorf("a third post (a reuse: the grant revoked): %d %v, want invalid_grant", st, body)
		}
	})
}

// claimsOf is a JWT's claims, unverified.
func claimsOf(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %q", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
