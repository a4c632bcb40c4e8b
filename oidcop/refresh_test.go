package oidcop

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// rp1Auth is RP1's client authentication, a fresh assertion each time.
func (w *world) rp1Auth(t *testing.T, form url.Values) url.Values {
	t.Helper()
	key, alg := rpKey(t, "rp-rsa.key")
	form.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
	form.Set("client_assertion", assertion(t, key, alg, "", rp1, w.p.Issuer()+TokenPath, func(c map[string]any) { c["jti"] = randomToken(12) }))
	return form
}

// codeTokens logs the good card in at RP1 with q's changes and redeems
// the code.
func (w *world) codeTokens(t *testing.T, mod func(url.Values)) map[string]any {
	t.Helper()
	q := authParams(rp1, cb1, s256(verifier))
	if mod != nil {
		mod(q)
	}
	cb := w.login(t, q, w.good, "1234")
	st, body := w.token(t, w.rp1Auth(t, url.Values{"grant_type": {"authorization_code"}, "code": {cb.Query().Get("code")},
		"redirect_uri": {cb1}, "code_verifier": {verifier}}))
	if st != http.StatusOK {
		t.Fatalf("token: %d %v", st, body)
	}
	return body
}

// userinfo is UserInfo's status with an access token.
func (w *world) userinfo(t *testing.T, access string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, w.p.Issuer()+UserinfoPath, nil)
	req.Header.Set("Authorization", "Bearer "+access)
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	n, _ := resp.Body.Read(buf)
	b.Write(buf[:n])
	return resp.StatusCode, b.String()
}

// TestRefreshRotation: the code grant gives a refresh token with the
// Keycloak extras; each refresh rotates it; a used one presented again
// revokes the whole grant (§2.2, §3 rows 5 and 20).
func TestRefreshRotation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		first := w.codeTokens(t, nil)
		r1, _ := first["refresh_token"].(string)
		if r1 == "" || first["refresh_expires_in"] != float64(1800) || first["not-before-policy"] != float64(0) || first["session_state"] == "" {
			t.Fatalf("the code grant's answer: %v", first)
		}
		st, second := w.token(t, w.rp1Auth(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r1}}))
		if st != http.StatusOK {
			t.Fatalf("refresh: %d %v", st, second)
		}
		r2, _ := second["refresh_token"].(string)
		if r2 == "" || r2 == r1 || second["access_token"] == first["access_token"] || second["id_token"] == nil ||
			second["scope"] != "openid" || second["session_state"] != first["session_state"] {
			t.Fatalf("the refresh's answer: %v", second)
		}
		if st, _ := w.userinfo(t, second["access_token"].(string)); st != http.StatusOK {
			t.Fatalf("userinfo with the refreshed token: %d", st)
		}
		// Another client cannot use it; a wider scope is refused.
		key, alg := rpKey(t, "rp-ec.key")
		st, body := w.token(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r2},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
			"client_assertion":      {assertion(t, key, alg, "", rp2, w.p.Issuer()+TokenPath, func(c map[string]any) { c["jti"] = randomToken(12) })}})
		if st != http.StatusBadRequest || body["error"] != "invalid_grant" {
			t.Errorf("RP2 with RP1's refresh token: %d %v", st, body)
		}
		// The reuse of r1: invalid_grant, and every token of the grant dies.
		st, body = w.token(t, w.rp1Auth(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r1}}))
		if st != http.StatusBadRequest || body["error"] != "invalid_grant" {
			t.Fatalf("reuse: %d %v", st, body)
		}
		st, body = w.token(t, w.rp1Auth(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r2}}))
		if st != http.StatusBadRequest || body["error"] != "invalid_grant" {
			t.Errorf("the successor after the reuse: %d %v", st, body)
		}
		for _, tok := range []any{first["access_token"], second["access_token"]} {
			if st, _ := w.userinfo(t, tok.(string)); st != http.StatusUnauthorized {
				t.Errorf("an access token of the revoked grant: %d", st)
			}
		}
		var reason string
		db.QueryRowContext(t.Context(), `SELECT reason FROM oidc_audit WHERE reason LIKE 'refresh_reused%'`).Scan(&reason)
		if reason == "" {
			t.Error("no audit row of the reuse")
		}
	})
}

// TestLogout: RP-initiated logout with id_token_hint ends the grant and
// goes to the exact registered post-logout URI with the state; a
// post-logout URI not registered, or a hint of another client, is a page
// and revokes nothing.
func TestLogout(t *testing.T) {
	w := newWorld(t, storetest.SQLite(t))
	tok := w.codeTokens(t, nil)
	hint := tok["id_token"].(string)
	c := webtest.New(t, w.srv.URL)
	for _, tc := range []struct {
		name string
		q    url.Values
	}{
		{"a post-logout URI not registered", url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {bye1 + "/x"}}},
		{"a prefix of the registered URI", url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {"http://127.0.0.1:1/rp1/"}}},
		{"the hint is another client's", url.Values{"id_token_hint": {hint}, "client_id": {rp2}, "post_logout_redirect_uri": {bye1}}},
		{"a forged hint", url.Values{"id_token_hint": {hint[:len(hint)-4] + "AAAA"}, "post_logout_redirect_uri": {bye1}}},
		{"neither hint nor client", url.Values{"post_logout_redirect_uri": {bye1}}},
	} {
		c.Step(webtest.Step{Name: tc.name, Path: RealmPath + LogoutPath + "?" + tc.q.Encode(), WantStatus: http.StatusBadRequest,
			WantContains: []string{"ログアウトの依頼を受け付けられません"}})
	}
	if st, _ := w.userinfo(t, tok["access_token"].(string)); st != http.StatusOK {
		t.Fatalf("a refused logout revoked the grant: %d", st)
	}
	c.Step(webtest.Step{Name: "logout", Path: RealmPath + LogoutPath + "?" + url.Values{"id_token_hint": {hint}, "client_id": {rp1},
		"post_logout_redirect_uri": {bye1}, "state": {"bye-1"}}.Encode(), WantStatus: http.StatusFound, WantLocation: bye1 + "?state=bye-1"})
	if st, _ := w.userinfo(t, tok["access_token"].(string)); st != http.StatusUnauthorized {
		t.Errorf("the access token after logout: %d", st)
	}
	st, body := w.token(t, w.rp1Auth(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}}))
	if st != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Errorf("the refresh token after logout: %d %v", st, body)
	}
	// client_id alone: nothing to end, the redirect only; POST too.
	c.Step(webtest.Step{Name: "logout by client_id", Path: RealmPath + LogoutPath, Form: url.Values{"client_id": {rp1},
		"post_logout_redirect_uri": {bye1}}, WantStatus: http.StatusFound, WantLocation: bye1})
}
