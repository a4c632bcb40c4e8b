package townweb

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// fakeOP is a provider as small as the site's checks need: discovery,
// JWKS, a token endpoint that checks the client assertion (RFC 7523) and
// the PKCE verifier (RFC 7636) as the real one does, and UserInfo. mod
// changes the ID token's claims and the token response of the next
// exchange: how each check of the site is made to fail.
type fakeOP struct {
	t      *testing.T
	srv    *httptest.Server
	key    *ecdsa.PrivateKey
	client crypto.PublicKey // the town's key, as the operator registered it
	redir  string

	mu        sync.Mutex
	challenge string
	nonce     string
	jtis      map[string]bool
	scope     string
	mod       func(claims map[string]any)
	uiSub     string
}

const fakeSub = "pairwise-sub-43-characters-long-0123456789a"

func newFakeOP(t *testing.T) *fakeOP {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	op := &fakeOP{t: t, key: key, jtis: map[string]bool{}}
	mux := http.NewServeMux()
	op.srv = httptest.NewServer(mux)
	t.Cleanup(op.srv.Close)
	iss := op.srv.URL
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"issuer": iss, "authorization_endpoint": iss + "/auth", "token_endpoint": iss + "/token",
			"userinfo_endpoint": iss + "/userinfo", "jwks_uri": iss + "/certs", "end_session_endpoint": iss + "/logout",
			"id_token_signing_alg_values_supported": []string{"ES256"}})
	})
	mux.HandleFunc("GET /certs", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.Public(), KeyID: "op-1", Algorithm: "ES256", Use: "sig"}}})
	})
	mux.HandleFunc("POST /token", op.token)
	mux.HandleFunc("GET /userinfo", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer at-1" {
			http.Error(w, "invalid_token", http.StatusUnauthorized)
			return
		}
		op.mu.Lock()
		sub := op.uiSub
		op.mu.Unlock()
		json.NewEncoder(w).Encode(map[string]string{"sub": sub, "name": "須坂　花子"})
	})
	return op
}

func (op *fakeOP) refuse(w http.ResponseWriter, why string) {
	op.t.Errorf("the token request: %s", why)
	w.WriteHeader(http.StatusBadRequest)
	json.NewEncoder(w).Encode(map[string]string{"error": "invalid_client", "error_description": why})
}

// token checks the request as the provider's token endpoint does and
// answers with an ID token over the login's nonce.
func (op *fakeOP) token(w http.ResponseWriter, r *http.Request) {
	op.mu.Lock()
	defer op.mu.Unlock()
	r.ParseForm()
	f := r.PostForm
	if f.Get("client_secret") != "" || r.Header.Get("Authorization") != "" {
		op.refuse(w, "a secret or Basic authentication")
		return
	}
	if f.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" || f.Get("grant_type") != "authorization_code" || f.Get("code") != "code-1" ||
		f.Get("redirect_uri") != op.redir {
		op.refuse(w, "form "+f.Encode())
		return
	}
	jws, err := jose.ParseSignedCompact(f.Get("client_assertion"), []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		op.refuse(w, err.Error())
		return
	}
	payload, err := jws.Verify(op.client)
	if err != nil {
		op.refuse(w, "assertion signature: "+err.Error())
		return
	}
	tp, _ := (&jose.JSONWebKey{Key: op.client}).Thumbprint(crypto.SHA256)
	if jws.Signatures[0].Header.KeyID != base64.RawURLEncoding.EncodeToString(tp) {
		op.refuse(w, "kid "+jws.Signatures[0].Header.KeyID)
		return
	}
	var a struct {
		Iss, Sub, Aud, Jti string
		Exp                int64
	}
	json.Unmarshal(payload, &a)
	if a.Iss != "RP00000001" || a.Sub != a.Iss || a.Aud != op.srv.URL+"/token" || a.Jti == "" || op.jtis[a.Jti] ||
		a.Exp <= time.Now().Unix() || a.Exp > time.Now().Add(5*time.Minute).Unix() {
		op.refuse(w, "assertion claims "+string(payload))
		return
	}
	op.jtis[a.Jti] = true
	h := sha256.Sum256([]byte(f.Get("code_verifier")))
	if base64.RawURLEncoding.EncodeToString(h[:]) != op.challenge {
		op.refuse(w, "PKCE verifier")
		return
	}
	at := sha256.Sum256([]byte("at-1"))
	now := time.Now()
	claims := map[string]any{"iss": op.srv.URL, "sub": fakeSub, "aud": "RP00000001", "exp": now.Add(5 * time.Minute).Unix(),
		"iat": now.Unix(), "nonce": op.nonce, "at_hash": base64.RawURLEncoding.EncodeToString(at[:16]), "acr": "aal3"}
	if op.mod != nil {
		op.mod(claims)
	}
	s, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: op.key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "op-1"))
	b, _ := json.Marshal(claims)
	sig, _ := s.Sign(b)
	idt, _ := sig.CompactSerialize()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"access_token": "at-1", "token_type": "Bearer", "expires_in": 300, "id_token": idt, "scope": op.scope})
}

// TestRelyingParty: the site's side of the code flow against a provider
// that checks what the real one checks — the authorization request's
// parameters, the assertion, PKCE — and the site's own checks of the
// answer: state, nonce, at_hash, acr, UserInfo's sub. A failed check logs
// no one in and keeps no account.
func TestRelyingParty(t *testing.T) {
	db := storetest.SQLite(t)
	op := newFakeOP(t)
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	tw := newTown(t, db, op.srv.URL, srv.URL, time.Now)
	op.client, op.redir = tw.PublicKey(), tw.RedirectURI()
	mux := http.NewServeMux()
	tw.site.Routes(mux)
	tw.Routes(mux)
	h = tw.site.Protect(mux)

	for _, tc := range []struct {
		name  string
		scope string
		mod   func(map[string]any)
		uiSub string
		// want is in the page the callback ends on; ok means logged in.
		want []string
		ok   bool
	}{
		{name: "openid only: greeted neutrally", scope: "openid", want: []string{"こんにちは。マイナンバーカードでログインしています。"}, ok: true},
		{name: "name granted: greeted by name", scope: "openid name", uiSub: fakeSub, want: []string{"須坂　花子 さん、こんにちは。"}, ok: true},
		{name: "nonce of another login", scope: "openid", mod: func(c map[string]any) { c["nonce"] = "other" }, want: []string{"token"}},
		{name: "ID token for another client", scope: "openid", mod: func(c map[string]any) { c["aud"] = "RP00000002" }, want: []string{"token"}},
		{name: "expired ID token", scope: "openid", mod: func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() }, want: []string{"token"}},
		{name: "another issuer", scope: "openid", mod: func(c map[string]any) { c["iss"] = "http://127.0.0.1:1" }, want: []string{"token"}},
		{name: "at_hash of another token", scope: "openid", mod: func(c map[string]any) { c["at_hash"] = "AAAAAAAAAAAAAAAAAAAAAA" }, want: []string{"token"}},
		{name: "no acr", scope: "openid", mod: func(c map[string]any) { delete(c, "acr") }, want: []string{"token"}},
		{name: "UserInfo of another sub", scope: "openid name", uiSub: "someone-else", want: []string{"token"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := webtest.New(t, srv.URL)
			r := c.Step(webtest.Step{Name: "log in", Path: Home + "login", WantStatus: http.StatusSeeOther})
			auth, _ := url.Parse(r.Location())
			q := auth.Query()
			for k, v := range map[string]string{"client_id": "RP00000001", "response_type": "code", "scope": "openid name", "acr_values": "aal3",
				"code_challenge_method": "S256", "redirect_uri": tw.RedirectURI()} {
				if q.Get(k) != v {
					t.Errorf("authorization request %s = %q, want %q", k, q.Get(k), v)
				}
			}
			if !strings.HasPrefix(auth.String(), op.srv.URL+"/auth?") || len(q.Get("state")) < 32 || len(q.Get("nonce")) < 32 {
				t.Errorf("authorization request %s", auth)
			}
			op.mu.Lock()
			op.challenge, op.nonce, op.scope, op.mod, op.uiSub = q.Get("code_challenge"), q.Get("nonce"), tc.scope, tc.mod, tc.uiSub
			op.mu.Unlock()
			cb := Home + CallbackPath + "?" + url.Values{"code": {"code-1"}, "state": {q.Get("state")}}.Encode()
			if tc.ok {
				c.Step(webtest.Step{Name: "the callback", Path: cb, WantStatus: http.StatusSeeOther, WantLocation: Home + "my"})
				c.Step(webtest.Step{Name: "my notices", Path: Home + "my", WantContains: tc.want})
			} else {
				c.Step(webtest.Step{Name: "the callback", Path: cb, WantStatus: http.StatusBadGateway, WantContains: tc.want})
				c.Step(webtest.Step{Name: "not logged in", Path: Home + "my", WantStatus: http.StatusSeeOther, WantLocation: Home})
			}
			c.Step(webtest.Step{Name: "the same answer again", Path: cb, WantStatus: http.StatusBadRequest, WantContains: []string{"state_mismatch"}})
		})
	}
	// The provider's refusal, shown in the person's language; the login's
	// state is spent all the same.
	t.Run("a revoked card, in English", func(t *testing.T) {
		c := webtest.New(t, srv.URL)
		c.Step(webtest.Step{Name: "English", Path: "/lang?to=en&back=" + Home, WantStatus: http.StatusSeeOther})
		r := c.Step(webtest.Step{Name: "log in", Path: Home + "login", WantStatus: http.StatusSeeOther})
		auth, _ := url.Parse(r.Location())
		if auth.Query().Get("ui_locales") != "en" {
			t.Errorf("ui_locales %q, want en", auth.Query().Get("ui_locales"))
		}
		cb := Home + CallbackPath + "?" + url.Values{"error": {"access_denied"}, "error_description": {"revoked"},
			"state": {auth.Query().Get("state")}}.Encode()
		c.Step(webtest.Step{Name: "the refusal", Path: cb, WantContains: []string{"The certificates of this card are revoked",
			"access_denied / revoked"}, WantNotContains: []string{`id="login"`}})
		c.Step(webtest.Step{Name: "the same answer again", Path: cb, WantStatus: http.StatusBadRequest})
	})
	audit, err := tw.Audit(t.Context(), 100)
	if err != nil {
		t.Fatal(err)
	}
	refused := 0
	for _, e := range audit {
		if e.Result == "refused" {
			refused++
			if e.Sub != "" {
				t.Errorf("a refused login's audit row names a sub: %+v", e)
			}
		}
	}
	// 7 failed checks and 1 refusal, and each login's replayed answer.
	if refused != 7+1+9+1 {
		t.Errorf("%d refused logins audited, want 18", refused)
	}
	var n int
	if err := db.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM townweb_accounts`).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d accounts (%v): only the good logins, all of one sub, make one", n, err)
	}
}
