package oidcop

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"
	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// TestKnobsValidate: each knob of §3 takes its documented default, and a
// bad value stops Validate with a clear error.
func TestKnobsValidate(t *testing.T) {
	good := func() Config { return Config{BaseURL: "https://auth.example.jp"} }
	c := good()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	want := Config{BaseURL: c.BaseURL, AssertionAlgs: []jose.SignatureAlgorithm{jose.RS256, jose.ES256}, CCScopes: []string{"sign"},
		ACRUnknown: ACRIgnore, UnknownParams: ParamsIgnore, UnknownScopes: ScopesRefuse, CardError: "access_denied",
		SignDigestFields: []string{"digest", "hash"}, SignIDField: "sign_transaction_id", JWEAlg: jose.RSA_OAEP_256, JWEEnc: jose.A256GCM,
		AttributeSubsets: SubsetsAllow, SignResultFetches: FetchesMany, ResponseModes: []string{ModeQuery}}
	got := Config{BaseURL: c.BaseURL, AssertionAlgs: c.AssertionAlgs, CCScopes: c.CCScopes, ACRUnknown: c.ACRUnknown, UnknownParams: c.UnknownParams,
		UnknownScopes: c.UnknownScopes, CardError: c.CardError, SignDigestFields: c.SignDigestFields, SignIDField: c.SignIDField, JWEAlg: c.JWEAlg, JWEEnc: c.JWEEnc,
		AttributeSubsets: c.AttributeSubsets, SignResultFetches: c.SignResultFetches, ResponseModes: c.ResponseModes}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("defaults (-want +got):\n%s", d)
	}
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"assertion alg HS256", func(c *Config) { c.AssertionAlgs = []jose.SignatureAlgorithm{jose.HS256} }, "assertion algorithm"},
		{"no assertion alg", func(c *Config) { c.AssertionAlgs = []jose.SignatureAlgorithm{} }, "no assertion algorithm"},
		{"cc scope openid", func(c *Config) { c.CCScopes = []string{"openid"} }, "client-credentials scope"},
		{"acr-unknown", func(c *Config) { c.ACRUnknown = "maybe" }, "acr-unknown"},
		{"unknown-params", func(c *Config) { c.UnknownParams = "drop" }, "unknown-params"},
		{"unknown-scopes", func(c *Config) { c.UnknownScopes = "drop" }, "unknown-scopes"},
		{"card-error", func(c *Config) { c.CardError = "nope" }, "card-error"},
		{"sign digest field", func(c *Config) { c.SignDigestFields = []string{"di gest"} }, "sign field"},
		{"no sign digest field", func(c *Config) { c.SignDigestFields = []string{} }, "no sign digest field"},
		{"sign ID field", func(c *Config) { c.SignIDField = "id!" }, "sign field"},
		{"JWE alg", func(c *Config) { c.JWEAlg = jose.ECDH_ES }, "JWE algorithm"},
		{"JWE enc", func(c *Config) { c.JWEEnc = "A1GCM" }, "JWE encryption"},
		{"attribute subsets", func(c *Config) { c.AttributeSubsets = "some" }, "attribute-subsets"},
		{"sign result fetches", func(c *Config) { c.SignResultFetches = "twice" }, "sign-result-fetches"},
		{"response mode fragment", func(c *Config) { c.ResponseModes = []string{"query", "fragment"} }, "response mode"},
		{"form_post without query", func(c *Config) { c.ResponseModes = []string{"form_post"} }, "must include query"},
		{"extra endpoint", func(c *Config) { c.ExtraEndpoints = []string{"register"} }, "extra endpoint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good()
			tc.mod(&c)
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate: %v, want %q", err, tc.want)
			}
		})
	}
}

// TestKnobsAuthRequest: §3 rows 6, 7 and 23 under both settings; prompt=none
// is login_required under both.
func TestKnobsAuthRequest(t *testing.T) {
	def, alt := Config{BaseURL: "https://a.example.jp"}, Config{BaseURL: "https://a.example.jp", ACRUnknown: ACRRefuse, UnknownParams: ParamsRefuse, UnknownScopes: ScopesIgnore}
	for _, c := range []*Config{&def, &alt} {
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name     string
		mod      func(url.Values)
		def, alt string // the error, "" none
	}{
		{"good", func(url.Values) {}, "", ""},
		{"unknown scope (row 23)", func(q url.Values) { q.Set("scope", "openid email") }, "invalid_scope", ""},
		{"unknown acr value (row 6)", func(q url.Values) { q.Set("acr_values", "aal3 loa2") }, "", "invalid_request"},
		{"known acr values", func(q url.Values) { q.Set("acr_values", "aal3 crl") }, "", ""},
		{"max_age (row 7)", func(q url.Values) { q.Set("max_age", "0") }, "", "invalid_request"},
		{"login_hint (row 7)", func(q url.Values) { q.Set("login_hint", "x") }, "", "invalid_request"},
		{"ui_locales is acted on", func(q url.Values) { q.Set("ui_locales", "en") }, "", ""},
		{"prompt none", func(q url.Values) { q.Set("prompt", "none") }, "login_required", "login_required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := authParams(rp1, cb1, s256(verifier))
			tc.mod(q)
			r := &oidc.AuthRequest{ClientID: rp1, RedirectURI: cb1, ResponseType: oidc.ResponseTypeCode, Scopes: strings.Fields(q.Get("scope")),
				State: q.Get("state"), Nonce: q.Get("nonce"), CodeChallenge: q.Get("code_challenge"), CodeChallengeMethod: oidc.CodeChallengeMethodS256,
				ACRValues: strings.Fields(q.Get("acr_values"))}
			if q.Get("prompt") != "" {
				r.Prompt = oidc.SpaceDelimitedArray{q.Get("prompt")}
			}
			for _, x := range []struct {
				cfg  *Config
				want string
			}{{&def, tc.def}, {&alt, tc.alt}} {
				got := ""
				if e := checkAuthRequest(x.cfg, r, q); e != nil {
					got = string(e.ErrorType)
				}
				if got != x.want {
					t.Errorf("%+v: got %q, want %q", x.cfg.UnknownParams, got, x.want)
				}
			}
		})
	}
}

// TestKnobsAssertions: §3 rows 2 and 3, each case under the defaults and
// under RS256 only, strict assertions and a required client_id.
func TestKnobsAssertions(t *testing.T) { storetest.Each(t, knobsAssertions) }

func knobsAssertions(t *testing.T, db *store.DB) {
	clk := newClock()
	def := openProvider(t, db, "https://auth.example.jp", clk, nil)
	alt := openProvider(t, db, "https://auth.example.jp", clk, func(c *Config) {
		c.AssertionAlgs, c.StrictAssertions, c.RequireClientID = []jose.SignatureAlgorithm{jose.RS256}, true, true
	})
	for _, spec := range []ClientSpec{
		{ID: rp1, Name: "RSA", RedirectURIs: []string{"https://rp1.example.jp/cb"}, Keys: [][]byte{readTestdata(t, "rp-rsa.pub")}},
		{ID: rp2, Name: "EC", RedirectURIs: []string{"https://rp2.example.jp/cb"}, Keys: [][]byte{readTestdata(t, "rp-ec.pub")}},
	} {
		if _, err := def.AddClient(t.Context(), spec, ""); err != nil {
			t.Fatal(err)
		}
	}
	c1, _ := def.Client(t.Context(), rp1)
	kid := c1.Keys[0].KID
	rsaKey, rsaAlg := rpKey(t, "rp-rsa.key")
	ecKey, ecAlg := rpKey(t, "rp-ec.key")
	aud := def.Issuer() + TokenPath
	n := 0
	// sign makes a fresh assertion at the test clock's time.
	sign := func(ec bool, kid string, mod func(map[string]any)) string {
		n++
		key, alg, client := rsaKey, rsaAlg, rp1
		if ec {
			key, alg, client = ecKey, ecAlg, rp2
		}
		now := clk.Now()
		return assertion(t, key, alg, kid, client, aud, func(m map[string]any) {
			m["exp"], m["iat"], m["jti"] = now.Add(time.Minute).Unix(), now.Unix(), "j"+string(rune('a'+n%26))+time.Duration(n).String()
			if mod != nil {
				mod(m)
			}
		})
	}
	for _, tc := range []struct {
		name     string
		a        func() string
		clientID string
		def, alt bool // accepted
	}{
		{"RS256 with kid and client_id", func() string { return sign(false, kid, nil) }, rp1, true, true},
		{"ES256 (row 2: algs)", func() string { return sign(true, "", nil) }, rp2, true, false},
		{"no kid (row 2: strict)", func() string { return sign(false, "", nil) }, rp1, true, false},
		{"no iat (row 2: strict)", func() string { return sign(false, kid, func(m map[string]any) { delete(m, "iat") }) }, rp1, true, false},
		{"exp 10 min ahead (row 2: strict)", func() string {
			return sign(false, kid, func(m map[string]any) { m["exp"] = clk.Now().Add(10 * time.Minute).Unix() })
		}, rp1, true, false},
		{"no client_id (row 3)", func() string { return sign(false, kid, nil) }, "", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, x := range []struct {
				p    *Provider
				want bool
			}{{def, tc.def}, {alt, tc.alt}} {
				_, err := x.p.verifyAssertion(t.Context(), tc.a(), tc.clientID)
				if (err == nil) != x.want {
					t.Errorf("strict=%v: %v, want accepted %v", x.p.cfg.StrictAssertions, err, x.want)
				}
			}
		})
	}
}

// TestKnobsJWE: §3 row 16, the sign result's JWE header under the default
// and under RSA-OAEP + A128CBC-HS256; both decrypt with the PF key.
func TestKnobsJWE(t *testing.T) {
	db := storetest.SQLite(t)
	pf, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&pf.PublicKey)
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		alg  jose.KeyAlgorithm
		enc  jose.ContentEncryption
	}{
		{"default", nil, jose.RSA_OAEP_256, jose.A256GCM},
		{"RSA-OAEP A128CBC-HS256", func(c *Config) { c.JWEAlg, c.JWEEnc = jose.RSA_OAEP, jose.A128CBC_HS256 }, jose.RSA_OAEP, jose.A128CBC_HS256},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := openProvider(t, db, "https://auth.example.jp", newClock(), tc.mod)
			id := "RP" + strings.ToUpper(string(tc.enc[1:4]))
			if _, err := p.AddClient(t.Context(), ClientSpec{ID: id, Name: "PF", RedirectURIs: []string{"https://rp.example.jp/cb"},
				Keys: [][]byte{readTestdata(t, "rp-ec.pub")}, PFKey: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})}, ""); err != nil {
				t.Fatal(err)
			}
			s, err := p.sealResult(t.Context(), id, []byte(`{"x":1}`))
			if err != nil {
				t.Fatal(err)
			}
			jwe, err := jose.ParseEncryptedCompact(s, JWEAlgs, JWEEncs)
			if err != nil {
				t.Fatal(err)
			}
			if jwe.Header.Algorithm != string(tc.alg) || jwe.Header.ExtraHeaders["enc"] != string(tc.enc) {
				t.Errorf("header alg %s enc %v, want %s %s", jwe.Header.Algorithm, jwe.Header.ExtraHeaders["enc"], tc.alg, tc.enc)
			}
			if plain, err := jwe.Decrypt(pf); err != nil || string(plain) != `{"x":1}` {
				t.Errorf("decrypt: %q %v", plain, err)
			}
		})
	}
}

// TestKnobsFlow: the knobs of §3 rows 4, 5, 6 (acr claim), 9, 14 and 20
// through the HTTP flow, each case under the defaults and under the other
// setting.
func TestKnobsFlow(t *testing.T) {
	// Both worlds on one engine, each on a fresh database of its own.
	t.Run("sqlite", func(t *testing.T) { knobsFlow(t, storetest.SQLite) })
	t.Run("postgres", func(t *testing.T) { knobsFlow(t, storetest.Postgres) })
}

func knobsFlow(t *testing.T, open func(testing.TB) *store.DB) {
	def := newWorld(t, open(t))
	alt := newWorldWith(t, open(t), func(c *Config) {
		c.CCScopes, c.NoRefreshRotation, c.NoACRClaim, c.CardError, c.NoKeycloakExtras = []string{}, true, true, "login_required", true
		c.SignDigestFields, c.SignIDField = []string{"hash"}, "id"
		c.AuthzIss, c.AttributeSubsets, c.AttributesInIDToken = true, SubsetsAllOrNone, true
		c.SignResultFetches, c.ResponseModes = FetchesOnce, []string{ModeQuery, ModeFormPost}
		c.ExtraEndpoints, c.UnknownScopes = []string{EndpointRevoke, EndpointIntrospect}, ScopesIgnore
	})
	// start starts a sign transaction in w with the body and answer fields
	// of its settings.
	start := func(t *testing.T, w *world) string {
		field, idField := "digest", "sign_transaction_id"
		if w == alt {
			field, idField = "hash", "id"
		}
		st, body := w.token(t, w.rp1Auth(t, url.Values{"grant_type": {"client_credentials"}}))
		if st != http.StatusOK {
			t.Fatalf("client_credentials: %d %v", st, body)
		}
		st, b := w.call(t, http.MethodPost, SignTransactionsPath, body["access_token"].(string),
			[]byte(`{"`+field+`":"`+base64.StdEncoding.EncodeToString(make([]byte, 32))+`"}`))
		var m map[string]string
		json.Unmarshal(b, &m)
		if st != http.StatusCreated {
			t.Fatalf("start: %d %s", st, b)
		}
		return m[idField]
	}
	claims := func(t *testing.T, idToken string) map[string]any {
		parts := strings.Split(idToken, ".")
		b, _ := base64.RawURLEncoding.DecodeString(parts[1])
		var m map[string]any
		json.Unmarshal(b, &m)
		return m
	}
	for _, tc := range []struct {
		name     string
		run      func(t *testing.T, w *world) string
		def, alt string
	}{
		{"cc scope sign (row 4)", func(t *testing.T, w *world) string {
			st, body := w.token(t, w.rp1Auth(t, url.Values{"grant_type": {"client_credentials"}, "scope": {"sign"}}))
			if st == http.StatusOK {
				return "ok"
			}
			return body["error"].(string)
		}, "ok", "invalid_scope"},
		{"refresh twice with the first token (row 5)", func(t *testing.T, w *world) string {
			first := w.codeTokens(t, nil)
			r1 := first["refresh_token"].(string)
			var out []string
			for range 2 {
				st, body := w.token(t, w.rp1Auth(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r1}}))
				out = append(out, http.StatusText(st))
				if st == http.StatusOK && body["refresh_token"] != r1 {
					out = append(out, "rotated")
				}
			}
			return strings.Join(out, " ")
		}, "OK rotated Bad Request", "OK OK"},
		{"acr claim (row 6)", func(t *testing.T, w *world) string {
			body := w.codeTokens(t, func(q url.Values) { q.Set("acr_values", "aal3") })
			acr, _ := claims(t, body["id_token"].(string))["acr"].(string)
			return acr
		}, "aal3", ""},
		{"revoked card (row 9)", func(t *testing.T, w *world) string {
			u := w.login(t, authParams(rp1, cb1, s256(verifier)), w.revoked, "1234")
			return u.Query().Get("error") + " " + u.Query().Get("error_description")
		}, "access_denied revoked", "login_required revoked"},
		{"iss in authorization responses (row 8)", func(t *testing.T, w *world) string {
			var out []string
			for _, u := range []*url.URL{
				w.login(t, authParams(rp1, cb1, s256(verifier)), w.good, "1234"),
				w.login(t, authParams(rp1, cb1, s256(verifier)), w.revoked, "1234"),
				w.login(t, func() url.Values {
					q := authParams(rp1, cb1, s256(verifier))
					q.Set("response_mode", "fragment")
					return q
				}(), w.good, "1234"),
			} {
				if !strings.HasPrefix(u.String(), cb1+"?") {
					t.Fatalf("not an answer to the RP: %s", u)
				}
				out = append(out, strings.Replace(u.Query().Get("iss"), w.p.Issuer(), "ISS", 1))
			}
			var d map[string]any
			resp, err := http.Get(w.p.Issuer() + "/.well-known/openid-configuration")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			json.NewDecoder(resp.Body).Decode(&d)
			return strings.Join(out, ",") + fmt.Sprintf(" %v", d["authorization_response_iss_parameter_supported"])
		}, ",, <nil>", "ISS,ISS,ISS true"},
		{"name ticked of name and birthdate (row 10)", func(t *testing.T, w *world) string {
			q := authParams(rp1, cb1, s256(verifier))
			q.Set("scope", "openid name birthdate")
			tok := w.redeem(t, w.consentLogin(t, webtest.New(t, w.srv.URL), q, w.good, []string{"name"}, "SUZAKA1980"))
			return tok["scope"].(string)
		}, "openid name", "openid name birthdate"},
		{"attributes in the ID token (row 11)", func(t *testing.T, w *world) string {
			q := authParams(rp1, cb1, s256(verifier))
			q.Set("scope", "openid name")
			before := len(w.disclosures(t, w.goodPID))
			tok := w.redeem(t, w.consentLogin(t, webtest.New(t, w.srv.URL), q, w.good, []string{"name"}, "SUZAKA1980"))
			name, _ := claims(t, tok["id_token"].(string))["name"].(string)
			return fmt.Sprintf("[%s], %d disclosed", name, len(w.disclosures(t, w.goodPID))-before)
		}, "[], 0 disclosed", "[須坂　花子], 1 disclosed"},
		{"sign result fetched twice (row 15)", func(t *testing.T, w *world) string {
			id := start(t, w)
			q := authParams(rp1, cb1, s256(verifier))
			q.Set("scope", "openid sign")
			q.Set("sign_transaction_id", id)
			tok := w.redeem(t, w.consentLogin(t, webtest.New(t, w.srv.URL), q, w.good, []string{}, "SUZAKA1980"))
			var out []string
			for range 2 {
				st, _ := w.call(t, http.MethodGet, SignTransactionsPath+"/"+id+"/result", tok["access_token"].(string), nil)
				out = append(out, http.StatusText(st))
			}
			return strings.Join(out, " ")
		}, "OK OK", "OK Gone"},
		{"response_mode form_post (row 24)", func(t *testing.T, w *world) string {
			q := authParams(rp1, cb1, s256(verifier))
			q.Set("response_mode", "form_post")
			c := webtest.New(t, w.srv.URL)
			r := c.Get(RealmPath + AuthPath + "?" + q.Encode())
			loc, _ := url.Parse(r.Location())
			if !strings.HasPrefix(loc.String(), w.srv.URL) {
				return "refused " + loc.Query().Get("error")
			}
			page := w.rel(t, loc.String())
			c.Step(webtest.Step{Name: "the card page", Path: page, WantContains: []string{"rp-name"}})
			c.Step(webtest.Step{Name: "place the card", Path: page + "place", Form: url.Values{"card": {w.good.ID()}}, WantStatus: http.StatusSeeOther})
			r = c.Step(webtest.Step{Name: "the PIN", Path: page + "pin", Form: url.Values{"pin": {"1234"}}, WantStatus: http.StatusSeeOther})
			r = c.Step(webtest.Step{Name: "the callback: a form to the RP", Path: w.rel(t, r.Location()), WantStatus: http.StatusOK,
				WantContains: []string{`action="` + cb1 + `"`, `name="code"`, `name="state" value="st-123 !~"`, `name="iss"`}})
			if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' http://127.0.0.1:1") {
				t.Errorf("CSP %q", csp)
			}
			return "form"
		}, "refused invalid_request", "form"},
		{"introspect and revoke (row 19)", func(t *testing.T, w *world) string {
			tok := w.codeTokens(t, nil)
			access, refresh := tok["access_token"].(string), tok["refresh_token"].(string)
			post := func(path string, form url.Values) string {
				resp, err := http.PostForm(w.p.Issuer()+path, w.rp1Auth(t, form))
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var m map[string]any
				json.NewDecoder(resp.Body).Decode(&m)
				if resp.StatusCode != http.StatusOK {
					return http.StatusText(resp.StatusCode)
				}
				if a, ok := m["active"]; ok {
					return fmt.Sprintf("active=%v", a)
				}
				return "OK"
			}
			out := []string{post(IntrospectPath, url.Values{"token": {access}}), post(IntrospectPath, url.Values{"token": {refresh}}),
				post(RevokePath, url.Values{"token": {refresh}}), post(IntrospectPath, url.Values{"token": {access}})}
			st, _ := w.userinfo(t, access)
			var d map[string]any
			resp, err := http.Get(w.p.Issuer() + "/.well-known/openid-configuration")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			json.NewDecoder(resp.Body).Decode(&d)
			return strings.Join(out, " ") + fmt.Sprintf(" userinfo %d; discovery %v %v", st, d["revocation_endpoint"] != nil, d["introspection_endpoint"] != nil)
		}, "Forbidden Forbidden Forbidden Forbidden userinfo 200; discovery false false", // not served: the site refuses a POST without its CSRF token
			"active=true active=true OK active=false userinfo 401; discovery true true"},
		{"scope openid email (row 23)", func(t *testing.T, w *world) string {
			q := authParams(rp1, cb1, s256(verifier))
			q.Set("scope", "openid email")
			u := w.login(t, q, w.good, "1234")
			if e := u.Query().Get("error"); e != "" {
				return e
			}
			st, body := w.token(t, w.rp1Auth(t, url.Values{"grant_type": {"authorization_code"}, "code": {u.Query().Get("code")},
				"redirect_uri": {cb1}, "code_verifier": {verifier}}))
			return fmt.Sprintf("%d %v", st, body["scope"])
		}, "invalid_scope", "200 openid"},
		{"keycloak extras (row 20)", func(t *testing.T, w *world) string {
			body := w.codeTokens(t, nil)
			var have []string
			for _, k := range []string{"refresh_expires_in", "not-before-policy", "session_state"} {
				if _, ok := body[k]; ok {
					have = append(have, k)
				}
			}
			return strings.Join(have, " ")
		}, "refresh_expires_in not-before-policy session_state", ""},
		{"sign body field hash, answer field (row 14)", func(t *testing.T, w *world) string {
			cc := def.ccToken(t)
			if w == alt {
				// alt allows no cc scope, but an empty scope is still good.
				st, body := w.token(t, w.rp1Auth(t, url.Values{"grant_type": {"client_credentials"}}))
				if st != http.StatusOK {
					t.Fatalf("client_credentials: %d %v", st, body)
				}
				cc = body["access_token"].(string)
			}
			d := base64.StdEncoding.EncodeToString(make([]byte, 32))
			var out []string
			for _, body := range []string{`{"digest":"` + d + `"}`, `{"hash":"` + d + `"}`} {
				st, b := w.call(t, http.MethodPost, SignTransactionsPath, cc, []byte(body))
				var m map[string]string
				json.Unmarshal(b, &m)
				for _, k := range slices.Sorted(maps.Keys(m)) {
					out = append(out, http.StatusText(st)+":"+k)
				}
			}
			return strings.Join(out, " ")
		}, "Created:sign_transaction_id Created:sign_transaction_id", "Bad Request:error Bad Request:error_description Created:id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, x := range []struct {
				w    *world
				want string
			}{{def, tc.def}, {alt, tc.alt}} {
				if got := tc.run(t, x.w); got != x.want {
					t.Errorf("alt=%v: got %q, want %q", x.w == alt, got, x.want)
				}
			}
		})
	}
}
