package oidcop

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/internal/trace"
	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/wareki"
	"github.com/mynaplat/mynaplat/web"
)

// skewClock is real time plus an offset the test moves: the platform and
// the terminal keep the machine's time, the provider this one.
type skewClock struct {
	mu sync.Mutex
	d  time.Duration
}

func (c *skewClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return time.Now().Add(c.d) }
func (c *skewClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.d += d
}

// The test's clients: RP1 authenticates with RS256 (rp-rsa), RP2 with
// ES256 (rp-ec); both redirect to cbRSA/cbEC, which nothing serves.
const (
	rp1, rp2 = "RP00000001", "RP00000002"
	cb1, cb2 = "http://127.0.0.1:1/rp1/cb", "http://127.0.0.1:1/rp2/cb"
	bye1     = "http://127.0.0.1:1/rp1/bye"
)

// world is a JPKI centre, the platform, the provider and its card page on
// one HTTP server (as mynaplat serve runs them), with a card store and two
// registered clients.
type world struct {
	centre *jpki.Centre
	plat   *platform.Platform
	p      *Provider
	cards  *card.Store
	srv    *httptest.Server
	clk    *skewClock
	db     *store.DB
	// good and revoked are demo cards (PIN 1234): good's holder enrolled.
	good, revoked *card.Card
	goodPID       string
	// ocspDown takes the signing certificate's OCSP responder down; the
	// calls count the signing checks' questions.
	ocspDown            atomic.Bool
	ocspCalls, crlCalls atomic.Int32
	// signing is the card page's signing-certificate verifier.
	signing *jpki.SigningVerifier
}

// platCaller is the platform's caller API in one process, for caller oidc.
type platCaller struct{ p *platform.Platform }

func (c platCaller) SignerPerson(ctx context.Context, cert *x509.Certificate) (string, error) {
	return c.p.SignerPerson(ctx, cert)
}
func (c platCaller) Disclose(ctx context.Context, personID string, d platform.Disclosure) error {
	return c.p.Disclose(ctx, "oidc", personID, d)
}

func newWorld(t *testing.T, db *store.DB) *world {
	t.Helper()
	return newWorldWith(t, db, nil)
}

// newWorldWith is newWorld with the provider's configuration changed by mod.
func newWorldWith(t *testing.T, db *store.DB, mod func(*Config)) *world {
	t.Helper()
	ctx := context.Background()
	mux := http.NewServeMux()
	var h http.Handler = mux
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { h.ServeHTTP(rw, r) }))
	t.Cleanup(srv.Close)
	centre, err := jpki.Open(ctx, jpki.Config{DB: db, Dir: t.TempDir(), BaseURL: srv.URL, Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	centre.Routes(mux)
	token, err := centre.AddOperator(ctx, "platform")
	if err != nil {
		t.Fatal(err)
	}
	plat, err := platform.Open(ctx, platform.Config{DB: db, Centre: &jpki.Client{BaseURL: srv.URL, Token: token},
		AuthCA: centre.CA(jpki.Auth), Issuer: srv.URL, RevocationMaxAge: time.Hour, Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	tc := terminal.Config{ID: "oidc-app-1", Kind: platform.App, Owner: "デジタル認証アプリ（mynaplat）", Name: "デジタル認証アプリ", Reader: "virtual"}
	if tc.Key, err = plat.RegisterTerminal(ctx, platform.Terminal{ID: tc.ID, Kind: tc.Kind, Owner: tc.Owner, Name: tc.Name}); err != nil {
		t.Fatal(err)
	}
	site, err := web.New(ctx, web.Options{DB: db, Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	cards, err := card.NewStore(t.TempDir(), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	clk := &skewClock{}
	w := &world{centre: centre, plat: plat, cards: cards, srv: srv, clk: clk, db: db}
	cfg := Config{DB: db, KeyDir: t.TempDir(), BaseURL: srv.URL, Now: clk.Now, Site: site, Platform: platCaller{plat}}
	if mod != nil {
		mod(&cfg)
	}
	p, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.EnsureKeys(ctx); err != nil {
		t.Fatal(err)
	}
	oh, err := p.Handler(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The signing certificate's checks: the centre's OCSP (which a test
	// may take down) and its CRL over HTTP, each counted.
	jc := &jpki.Client{BaseURL: srv.URL}
	crl := jc.CRLFetcher(jpki.Sign)
	signing := &jpki.SigningVerifier{CA: centre.CA(jpki.Sign), MaxAge: time.Hour,
		OCSP: func(ctx context.Context, req []byte) ([]byte, error) {
			w.ocspCalls.Add(1)
			if w.ocspDown.Load() {
				return nil, errors.New("the OCSP responder is down")
			}
			return centre.Respond(ctx, req), nil
		},
		CRL: &jpki.CRLCache{CA: centre.CA(jpki.Sign), Fetch: func(ctx context.Context, etag string) ([]byte, string, bool, error) {
			w.crlCalls.Add(1)
			return crl(ctx, etag)
		}}}
	w.signing = signing
	pages, err := p.Pages(PagesConfig{Site: site, Cards: cards, Terminal: tc, PlatformURL: srv.URL, Signing: signing})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range p.MachinePaths() {
		site.MachineAPI("POST " + RealmPath + path)
	}
	site.MachineAPI("POST " + SignTransactionsPath)
	p.SignRoutes(mux)
	plat.Routes(mux)
	site.Routes(mux)
	pages.Routes(mux)
	mux.Handle(RealmPath+"/", http.StripPrefix(RealmPath, oh))
	h = trace.Middleware(site.Protect(centre.Wrap(mux)))
	for _, c := range []ClientSpec{
		{ID: rp1, Name: "須坂市ウェブサイト", RedirectURIs: []string{cb1}, PostLogoutURIs: []string{bye1}, Dev: true, Keys: [][]byte{readTestdata(t, "rp-rsa.pub")}},
		{ID: rp2, Name: "日本生命", RedirectURIs: []string{cb2}, Dev: true, Keys: [][]byte{readTestdata(t, "rp-ec.pub")}},
	} {
		if _, err := p.AddClient(ctx, c, ""); err != nil {
			t.Fatal(err)
		}
	}
	w.p = p
	w.good, _, w.goodPID = w.card(t, "須坂　花子")
	var revokedIs *jpki.IssuedCard
	w.revoked, revokedIs, _ = w.card(t, "鳥海　誠")
	if err := centre.Revoke(ctx, jpki.Auth, revokedIs.Auth.Serial, jpki.KeyCompromise); err != nil {
		t.Fatal(err)
	}
	// The platform takes the new CRL now, not when its copy ages.
	if err := plat.RefreshCRL(ctx); err != nil {
		t.Fatal(err)
	}
	return w
}

// card issues a card (PIN 1234) and enrols its holder at the platform.
func (w *world) card(t *testing.T, name string) (*card.Card, *jpki.IssuedCard, string) {
	t.Helper()
	ctx := context.Background()
	birth := time.Date(1980, 2, 29, 0, 0, 0, 0, wareki.JST())
	cd, err := w.cards.Create(card.Spec{AuthPIN: "1234", SignPIN: "SUZAKA1980", TextPIN: "1234", MyNumber: "123456789018",
		Name: name, Address: "長野県須坂市大字須坂１２３４番地", BirthDate: birth.Format("20060102"), Sex: "2", Demo: true})
	if err != nil {
		t.Fatal(err)
	}
	is, err := w.centre.IssueCard(ctx, jpki.Resident{Name: name, Kana: "スザカ", BirthDate: birth, Sex: jpki.Female,
		Address: "長野県須坂市大字須坂１２３４番地", Municipality: "202070"}, cd)
	if err != nil {
		t.Fatal(err)
	}
	der, err := card.NewClient(cd).Certificate(card.Auth)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := w.plat.EnrolHolder(ctx, cert)
	if err != nil {
		t.Fatal(err)
	}
	return cd, is, pid
}

// authParams are a good authorization request of client to its callback.
func authParams(client, cb, challenge string) url.Values {
	return url.Values{"client_id": {client}, "redirect_uri": {cb}, "response_type": {"code"}, "scope": {"openid"},
		"state": {"st-123 !~"}, "nonce": {"n-0S6_WzA2Mj"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
}

const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk" // RFC 7636 appendix B

// rel is an absolute URL of the world's server as a path for webtest.
func (w *world) rel(t *testing.T, abs string) string {
	t.Helper()
	if !strings.HasPrefix(abs, w.srv.URL) {
		t.Fatalf("%s is not on the server %s", abs, w.srv.URL)
	}
	return strings.TrimPrefix(abs, w.srv.URL)
}

// login runs the card page with cd and pin for the authorization request
// of q and returns where it ends: the RP's callback URL.
func (w *world) login(t *testing.T, q url.Values, cd *card.Card, pin string) *url.URL {
	t.Helper()
	c := webtest.New(t, w.srv.URL)
	r := c.Get(RealmPath + AuthPath + "?" + q.Encode())
	if r.Status != http.StatusFound && r.Status != http.StatusSeeOther {
		t.Fatalf("authorize: %d %s", r.Status, r.Body)
	}
	loc, _ := url.Parse(r.Location())
	if !strings.HasPrefix(loc.String(), w.srv.URL) {
		return loc // an error sent to the RP at once
	}
	page := w.rel(t, loc.String())
	c.Step(webtest.Step{Name: "the card page", Path: page, WantContains: []string{"term-phone", "rp-name"}})
	// The card page's one post: the card and its PIN.
	r = c.Step(webtest.Step{Name: "the card and its PIN", Path: page + "place-pin", Form: url.Values{"card": {cd.ID()}, "pin": {pin}}, WantStatus: http.StatusSeeOther})
	next := r.Location()
	if strings.HasSuffix(next, page) {
		// Refused: the page shows why, and 「サービスに戻る」.
		c.Step(webtest.Step{Name: "the refusal", Path: page, WantContains: []string{"サービスに戻る"}})
		r = c.Step(webtest.Step{Name: "back to the service", Path: page + "back", Form: url.Values{}, WantStatus: http.StatusSeeOther})
		u, _ := url.Parse(r.Location())
		return u
	}
	r = c.Step(webtest.Step{Name: "the callback", Path: w.rel(t, next), WantStatus: http.StatusFound})
	u, err := url.Parse(r.Location())
	if err != nil {
		t.Fatal(err)
	}
	// The callback gives its code once.
	c.Step(webtest.Step{Name: "the callback again", Path: w.rel(t, next), WantStatus: http.StatusNotFound})
	return u
}

// rpKey is a test RP's private key (testdata) with its alg.
func rpKey(t *testing.T, name string) (crypto.Signer, jose.SignatureAlgorithm) {
	t.Helper()
	p, _ := pem.Decode(readTestdata(t, name))
	k, err := x509.ParsePKCS8PrivateKey(p.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(name, "rsa") {
		return k.(crypto.Signer), jose.RS256
	}
	return k.(crypto.Signer), jose.ES256
}

// assertion is a client assertion of client, signed with key (kid "" for
// none), with claims changed by mod.
func assertion(t *testing.T, key crypto.Signer, alg jose.SignatureAlgorithm, kid, client string, aud any, mod func(map[string]any)) string {
	t.Helper()
	now := time.Now()
	c := map[string]any{"iss": client, "sub": client, "aud": aud, "exp": now.Add(time.Minute).Unix(), "iat": now.Unix(),
		"jti": base64.RawURLEncoding.EncodeToString([]byte(now.String() + client + kid))}
	if mod != nil {
		mod(c)
	}
	opts := &jose.SignerOptions{}
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts.WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(c)
	jws, err := s.Sign(b)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := jws.CompactSerialize()
	return out
}

// token posts a token request and decodes the answer.
func (w *world) token(t *testing.T, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(w.p.Issuer()+TokenPath, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// TestRPCodeFlow: an RP written with x/oauth2 and coreos/go-oidc logs a
// person in with PKCE S256 and private_key_jwt (RS256 with kid), checks
// the nonce, at_hash and an aud that is a JSON string; a second RP uses
// an IM-style kid-less ES256 assertion with aud = the token URL.
func TestRPCodeFlow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		ctx := gooidc.ClientContext(context.Background(), w.srv.Client())
		prov, err := gooidc.NewProvider(ctx, w.p.Issuer())
		if err != nil {
			t.Fatal(err)
		}
		ep := prov.Endpoint()
		ep.AuthStyle = oauth2.AuthStyleInParams
		conf := oauth2.Config{ClientID: rp1, Endpoint: ep, RedirectURL: cb1, Scopes: []string{gooidc.ScopeOpenID}}
		authURL, err := url.Parse(conf.AuthCodeURL("st-1", oauth2.S256ChallengeOption(verifier), gooidc.Nonce("nonce-1")))
		if err != nil {
			t.Fatal(err)
		}
		cb := w.login(t, authURL.Query(), w.good, "1234")
		if cb.Query().Get("state") != "st-1" || cb.Query().Get("code") == "" || cb.Query().Get("session_state") == "" {
			t.Fatalf("callback %s", cb)
		}
		key, alg := rpKey(t, "rp-rsa.key")
		c1, _ := w.p.Client(t.Context(), rp1)
		tok, err := conf.Exchange(ctx, cb.Query().Get("code"), oauth2.VerifierOption(verifier),
			oauth2.SetAuthURLParam("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
			oauth2.SetAuthURLParam("client_assertion", assertion(t, key, alg, c1.Keys[0].KID, rp1, w.p.Issuer(), nil)))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := tok.Extra("id_token").(string)
		idt, err := prov.Verifier(&gooidc.Config{ClientID: rp1}).Verify(ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		if idt.Nonce != "nonce-1" {
			t.Errorf("nonce %q", idt.Nonce)
		}
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			t.Errorf("at_hash: %v", err)
		}
		var claims map[string]any
		idt.Claims(&claims)
		if aud, ok := claims["aud"].(string); !ok || aud != rp1 {
			t.Errorf("aud is %#v, want the JSON string %q", claims["aud"], rp1)
		}
		if len(idt.Subject) != 43 || strings.Contains(idt.Subject, w.goodPID) || claims["typ"] != "ID" || claims["azp"] != rp1 {
			t.Errorf("claims %v", claims)
		}
		if tok.Extra("scope") != "openid" || tok.Extra("session_state") != cb.Query().Get("session_state") {
			t.Errorf("scope %v session_state %v", tok.Extra("scope"), tok.Extra("session_state"))
		}
		ui, err := prov.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil || ui.Subject != idt.Subject {
			t.Errorf("userinfo %+v %v", ui, err)
		}

		// The second RP: ES256 without kid, aud the token URL (IM's way).
		q := authParams(rp2, cb2, s256(verifier))
		q.Set("acr_values", "aal3 crl")
		cb = w.login(t, q, w.good, "1234")
		key, alg = rpKey(t, "rp-ec.key")
		st, body := w.token(t, url.Values{"grant_type": {"authorization_code"}, "code": {cb.Query().Get("code")}, "redirect_uri": {cb2},
			"code_verifier": {verifier}, "client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
			"client_assertion": {assertion(t, key, alg, "", rp2, w.p.Issuer()+TokenPath, func(c map[string]any) {
				c["exp"] = time.Now().Add(24 * time.Hour).Unix()
				delete(c, "iat")
			})}})
		if st != http.StatusOK {
			t.Fatalf("token: %d %v", st, body)
		}
		idt2, err := prov.Verifier(&gooidc.Config{ClientID: rp2}).Verify(ctx, body["id_token"].(string))
		if err != nil {
			t.Fatal(err)
		}
		if idt2.Subject == idt.Subject {
			t.Error("two clients (sectors) got the same sub")
		}
		var claims2 map[string]any
		idt2.Claims(&claims2)
		if claims2["acr"] != "aal3" || claims["acr"] != nil {
			t.Errorf("acr: %v when aal3 was asked, %v when not", claims2["acr"], claims["acr"])
		}
	})
}

// TestAuthRequestRules: each request that breaks a rule of §2.1 is
// refused with its error — shown here when the client or the redirect URI
// is wrong, sent to the RP with the state otherwise — and nothing is
// stored.
func TestAuthRequestRules(t *testing.T) {
	w := newWorld(t, storetest.SQLite(t))
	for _, tc := range []struct {
		name string
		mod  func(url.Values)
		// shown means the refusal is a page here, never a redirect.
		shown bool
		want  string
	}{
		{"unknown client", func(q url.Values) { q.Set("client_id", "RP99") }, true, "invalid_request"},
		{"client ID with a hyphen", func(q url.Values) { q.Set("client_id", "RP-1") }, true, "invalid_request"},
		{"unregistered redirect URI", func(q url.Values) { q.Set("redirect_uri", "http://127.0.0.1:1/evil") }, true, "invalid_request"},
		{"prefix of the redirect URI", func(q url.Values) { q.Set("redirect_uri", cb1+"/more") }, true, "invalid_request"},
		{"no redirect URI", func(q url.Values) { q.Del("redirect_uri") }, true, "invalid_request"},
		{"response_type token", func(q url.Values) { q.Set("response_type", "id_token") }, false, "unsupported_response_type"},
		{"no response_type", func(q url.Values) { q.Del("response_type") }, false, "invalid_request"},
		{"no PKCE", func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") }, false, "invalid_request"},
		{"no PKCE method", func(q url.Values) { q.Del("code_challenge_method") }, false, "invalid_request"},
		{"plain PKCE", func(q url.Values) { q.Set("code_challenge_method", "plain") }, false, "invalid_request"},
		{"challenge with a bad character", func(q url.Values) { q.Set("code_challenge", "abc+def") }, false, "invalid_request"},
		{"no state", func(q url.Values) { q.Del("state") }, false, "invalid_request"},
		{"state over 255", func(q url.Values) { q.Set("state", strings.Repeat("s", 256)) }, false, "invalid_request"},
		{"state with a control character", func(q url.Values) { q.Set("state", "a\tb") }, false, "invalid_request"},
		{"no nonce", func(q url.Values) { q.Del("nonce") }, false, "invalid_request"},
		{"unknown scope", func(q url.Values) { q.Set("scope", "openid email") }, false, "invalid_scope"},
		{"no openid", func(q url.Values) { q.Set("scope", "name") }, false, "invalid_scope"},
		{"sign without a transaction", func(q url.Values) { q.Set("scope", "openid sign") }, false, "invalid_request"},
		{"a transaction without sign", func(q url.Values) { q.Set("sign_transaction_id", "0b8e4b8a-4f5a-4c55-9b0e-6d1f0e2a9c11") }, false, "invalid_request"},
		{"response_mode fragment", func(q url.Values) { q.Set("response_mode", "fragment") }, false, "invalid_request"},
		{"request object", func(q url.Values) { q.Set("request", "eyJhbGciOiJub25lIn0.e30.") }, false, "request_not_supported"},
		{"prompt none", func(q url.Values) { q.Set("prompt", "none") }, false, "login_required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := authParams(rp1, cb1, s256(verifier))
			tc.mod(q)
			resp, err := w.srv.Client().Transport.RoundTrip(httptest.NewRequest(http.MethodGet, w.p.Issuer()+AuthPath+"?"+q.Encode(), nil).WithContext(t.Context()))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if tc.shown {
				b, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" ||
					!strings.Contains(string(b), "このログインの依頼は受け付けられません") {
					t.Errorf("got %d Location %q, want the error page here:\n%s", resp.StatusCode, resp.Header.Get("Location"), b)
				}
			} else {
				loc, _ := url.Parse(resp.Header.Get("Location"))
				if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc.String(), cb1+"?") || loc.Query().Get("error") != tc.want ||
					loc.Query().Get("state") != q.Get("state") {
					t.Errorf("got %d Location %q, want %s sent to the RP with the state", resp.StatusCode, loc, tc.want)
				}
			}
			if n := count(t, w.db, "oidc_auth_requests"); n != 0 {
				t.Errorf("%d authorization requests stored", n)
			}
		})
	}
}

// TestTokenRules: each token request that breaks a rule of §2.2 is
// refused with its error and issues nothing; a reused code revokes what
// the first redemption gave.
func TestTokenRules(t *testing.T) {
	w := newWorld(t, storetest.SQLite(t))
	rsa, rsaAlg := rpKey(t, "rp-rsa.key")
	ec, ecAlg := rpKey(t, "rp-ec.key")
	tokenURL := w.p.Issuer() + TokenPath
	code := func(client, cb string) string {
		u := w.login(t, authParams(client, cb, s256(verifier)), w.good, "1234")
		if u.Query().Get("code") == "" {
			t.Fatalf("no code: %s", u)
		}
		return u.Query().Get("code")
	}
	form := func(code, cb, v, assertion string) url.Values {
		return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {cb}, "code_verifier": {v},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion}}
	}
	good1 := func(mod func(map[string]any)) string { return assertion(t, rsa, rsaAlg, "", rp1, tokenURL, mod) }
	tokens := func() int { return count(t, w.db, "oidc_tokens") }
	for _, tc := range []struct {
		name   string
		form   func() url.Values
		status int
		want   string
	}{
		{"wrong verifier", func() url.Values { return form(code(rp1, cb1), cb1, strings.Repeat("a", 43), good1(nil)) }, 400, "invalid_grant"},
		{"no verifier", func() url.Values { return form(code(rp1, cb1), cb1, "", good1(nil)) }, 400, "invalid_grant"},
		{"short verifier", func() url.Values { return form(code(rp1, cb1), cb1, verifier[:42], good1(nil)) }, 400, "invalid_grant"},
		{"other redirect URI", func() url.Values { return form(code(rp1, cb1), cb2, verifier, good1(nil)) }, 400, "invalid_grant"},
		{"code of another client", func() url.Values {
			return form(code(rp2, cb2), cb2, verifier, good1(nil))
		}, 400, "invalid_grant"},
		{"expired code", func() url.Values {
			c := code(rp1, cb1)
			w.clk.Add(DefaultCodeTTL)
			return form(c, cb1, verifier, good1(func(m map[string]any) { m["exp"] = time.Now().Add(DefaultCodeTTL + time.Minute).Unix() }))
		}, 400, "invalid_grant"},
		{"unknown code", func() url.Values { return form("nope", cb1, verifier, good1(nil)) }, 400, "invalid_grant"},
		{"no assertion", func() url.Values {
			f := form(code(rp1, cb1), cb1, verifier, "")
			f.Del("client_assertion")
			f.Del("client_assertion_type")
			f.Set("client_id", rp1)
			return f
		}, 401, "invalid_client"},
		{"a secret", func() url.Values {
			f := form(code(rp1, cb1), cb1, verifier, "")
			f.Del("client_assertion")
			f.Del("client_assertion_type")
			f.Set("client_id", rp1)
			f.Set("client_secret", "s")
			return f
		}, 401, "invalid_client"},
		{"expired assertion", func() url.Values {
			return form(code(rp1, cb1), cb1, verifier, good1(func(m map[string]any) { m["exp"] = time.Now().Add(-2 * time.Minute).Unix() }))
		}, 401, "invalid_client"},
		{"assertion too far ahead", func() url.Values {
			return form(code(rp1, cb1), cb1, verifier, good1(func(m map[string]any) { m["exp"] = time.Now().Add(25 * time.Hour).Unix() }))
		}, 401, "invalid_client"},
		{"assertion without jti", func() url.Values {
			return form(code(rp1, cb1), cb1, verifier, good1(func(m map[string]any) { delete(m, "jti") }))
		}, 401, "invalid_client"},
		{"assertion for another audience", func() url.Values {
			return form(code(rp1, cb1), cb1, verifier, assertion(t, rsa, rsaAlg, "", rp1, "https://elsewhere.example/token", nil))
		}, 401, "invalid_client"},
		{"assertion with iss not sub", func() url.Values {
			return form(code(rp1, cb1), cb1, verifier, good1(func(m map[string]any) { m["sub"] = rp2 }))
		}, 401, "invalid_client"},
		{"assertion signed by another client's key", func() url.Values {
			return form(code(rp1, cb1), cb1, verifier, assertion(t, ec, ecAlg, "", rp1, tokenURL, nil))
		}, 401, "invalid_client"},
		{"alg none", func() url.Values {
			h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`))
			b, _ := json.Marshal(map[string]any{"iss": rp1, "sub": rp1, "aud": tokenURL, "exp": time.Now().Add(time.Minute).Unix(), "jti": "none-1"})
			return form(code(rp1, cb1), cb1, verifier, h+"."+base64.RawURLEncoding.EncodeToString(b)+".")
		}, 401, "invalid_client"},
		{"HS256", func() url.Values {
			s, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte("0123456789abcdef0123456789abcdef")}, nil)
			b, _ := json.Marshal(map[string]any{"iss": rp1, "sub": rp1, "aud": tokenURL, "exp": time.Now().Add(time.Minute).Unix(), "jti": "hs-1"})
			jws, _ := s.Sign(b)
			a, _ := jws.CompactSerialize()
			return form(code(rp1, cb1), cb1, verifier, a)
		}, 401, "invalid_client"},
		{"replayed assertion", func() url.Values {
			a := good1(func(m map[string]any) { m["jti"] = "replayed-1" })
			if st, body := w.token(t, form(code(rp1, cb1), cb1, verifier, a)); st != http.StatusOK {
				t.Fatalf("first use: %d %v", st, body)
			}
			return form(code(rp1, cb1), cb1, verifier, a)
		}, 401, "invalid_client"},
		{"client_id not the assertion's", func() url.Values {
			f := form(code(rp1, cb1), cb1, verifier, good1(nil))
			f.Set("client_id", rp2)
			return f
		}, 401, "invalid_client"},
		{"unsupported grant", func() url.Values {
			f := form("", cb1, verifier, good1(nil))
			f.Set("grant_type", "password")
			return f
		}, 400, "unsupported_grant_type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.form()
			before := tokens()
			st, body := w.token(t, f)
			if st != tc.status || body["error"] != tc.want {
				t.Errorf("got %d %v, want %d %s", st, body, tc.status, tc.want)
			}
			if body["access_token"] != nil || body["id_token"] != nil || tokens() != before {
				t.Errorf("tokens issued: %v", body)
			}
		})
	}

	t.Run("reused code", func(t *testing.T) {
		c := code(rp1, cb1)
		st, body := w.token(t, form(c, cb1, verifier, good1(nil)))
		if st != http.StatusOK {
			t.Fatalf("first redemption: %d %v", st, body)
		}
		at := body["access_token"].(string)
		userinfo := func() int {
			req, _ := http.NewRequest(http.MethodGet, w.p.Issuer()+UserinfoPath, nil)
			req.Header.Set("Authorization", "Bearer "+at)
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		if s := userinfo(); s != http.StatusOK {
			t.Fatalf("userinfo before the reuse: %d", s)
		}
		st, body = w.token(t, form(c, cb1, verifier, good1(nil)))
		if st != http.StatusBadRequest || body["error"] != "invalid_grant" {
			t.Errorf("second redemption: %d %v", st, body)
		}
		if s := userinfo(); s != http.StatusUnauthorized {
			t.Errorf("userinfo with the first redemption's token after the reuse: %d, want 401", s)
		}
	})
}

// TestRevokedCard: a card whose certificate is revoked is refused on the
// card page, and 「サービスに戻る」 sends access_denied with the kit's
// outcome code to the RP, with no code.
func TestRevokedCard(t *testing.T) {
	w := newWorld(t, storetest.SQLite(t))
	{
		u := w.login(t, authParams(rp1, cb1, s256(verifier)), w.revoked, "1234")
		if u.Query().Get("error") != "access_denied" || u.Query().Get("error_description") != "revoked" || u.Query().Get("code") != "" ||
			!strings.HasPrefix(u.String(), cb1) {
			t.Errorf("a revoked card: %s", u)
		}
	}
}

// TestDisabledClient: disabling a client stops its tokens at once (UserInfo
// 401 with WWW-Authenticate) and its new authorizations (the error page);
// token answers are never cached; Maintain clears what has ended.
func TestDisabledClient(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		rsa, alg := rpKey(t, "rp-rsa.key")
		u := w.login(t, authParams(rp1, cb1, s256(verifier)), w.good, "1234")
		f := url.Values{"grant_type": {"authorization_code"}, "code": {u.Query().Get("code")}, "redirect_uri": {cb1}, "code_verifier": {verifier},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
			"client_assertion":      {assertion(t, rsa, alg, "", rp1, w.p.Issuer(), nil)}}
		resp, err := http.PostForm(w.p.Issuer()+TokenPath, f)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("token: %d %v Cache-Control %q", resp.StatusCode, body, resp.Header.Get("Cache-Control"))
		}
		userinfo := func() *http.Response {
			req, _ := http.NewRequest(http.MethodGet, w.p.Issuer()+UserinfoPath, nil)
			req.Header.Set("Authorization", "Bearer "+body["access_token"].(string))
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp
		}
		if r := userinfo(); r.StatusCode != http.StatusOK {
			t.Fatalf("userinfo: %d", r.StatusCode)
		}
		if err := w.p.DisableClient(t.Context(), rp1, "P-01"); err != nil {
			t.Fatal(err)
		}
		if r := userinfo(); r.StatusCode != http.StatusUnauthorized || r.Header.Get("WWW-Authenticate") != `Bearer error="invalid_token"` {
			t.Errorf("userinfo of a disabled client: %d %q", r.StatusCode, r.Header.Get("WWW-Authenticate"))
		}
		resp, err = w.srv.Client().Transport.RoundTrip(httptest.NewRequest(http.MethodGet,
			w.p.Issuer()+AuthPath+"?"+authParams(rp1, cb1, s256(verifier)).Encode(), nil))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
			t.Errorf("authorize at a disabled client: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		st, body := w.token(t, f)
		if st != http.StatusUnauthorized || body["error"] != "invalid_client" {
			t.Errorf("token of a disabled client: %d %v", st, body)
		}

		w.clk.Add(2 * time.Hour)
		if err := w.p.Maintain(t.Context()); err != nil {
			t.Fatal(err)
		}
		for _, table := range []string{"oidc_assertion_jtis", "oidc_auth_requests", "oidc_tokens", "oidc_grants"} {
			if n := count(t, db, table); n != 0 {
				t.Errorf("%d rows left in %s", n, table)
			}
		}
	})
}

// TestWrongPIN: a wrong PIN is no error to the RP: the page stays with the
// tries left, and the right PIN then logs in.
func TestWrongPIN(t *testing.T) {
	w := newWorld(t, storetest.SQLite(t))
	c := webtest.New(t, w.srv.URL)
	r := c.Get(RealmPath + AuthPath + "?" + authParams(rp1, cb1, s256(verifier)).Encode())
	page := w.rel(t, r.Location())
	c.Step(webtest.Step{Name: "the card page", Path: page})
	c.Step(webtest.Step{Name: "the card page: one form, the card and the PIN", Path: page,
		WantContains: []string{`action="` + w.srv.URL + page + `place-pin"`, `name="card"`, `name="pin"`}})
	c.Step(webtest.Step{Name: "the card and a wrong PIN", Path: page + "place-pin", Form: url.Values{"card": {w.good.ID()}, "pin": {"9999"}},
		WantStatus: http.StatusSeeOther, WantLocation: w.srv.URL + page})
	// The card stays placed: the PIN pad of the placed card, as in two steps.
	c.Step(webtest.Step{Name: "the tries left", Path: page, WantContains: []string{`id="tries-left">2<`, "暗証番号", `action="` + w.srv.URL + page + `pin"`}})
	r = c.Step(webtest.Step{Name: "the right PIN", Path: page + "pin", Form: url.Values{"pin": {"1234"}}, WantStatus: http.StatusSeeOther})
	r = c.Step(webtest.Step{Name: "the callback", Path: w.rel(t, r.Location()), WantStatus: http.StatusFound})
	if u, _ := url.Parse(r.Location()); u.Query().Get("code") == "" {
		t.Errorf("no code after the right PIN: %s", u)
	}
}

// TestPlacePINLastTry: the one post does not send the PIN to a card at its
// last try; the card stays placed and the PIN pad asks again under the
// last-try warning, where the PIN then goes to the card.
func TestPlacePINLastTry(t *testing.T) {
	w := newWorld(t, storetest.SQLite(t))
	c := webtest.New(t, w.srv.URL)
	r := c.Get(RealmPath + AuthPath + "?" + authParams(rp1, cb1, s256(verifier)).Encode())
	page := w.rel(t, r.Location())
	c.Step(webtest.Step{Name: "the card page", Path: page})
	for i := range 2 {
		c.Step(webtest.Step{Name: fmt.Sprintf("wrong PIN %d", i+1), Path: page + "place-pin", Form: url.Values{"card": {w.good.ID()}, "pin": {"9999"}},
			WantStatus: http.StatusSeeOther, WantLocation: w.srv.URL + page})
	}
	c.Step(webtest.Step{Name: "the right PIN at the last try: not sent", Path: page + "place-pin", Form: url.Values{"card": {w.good.ID()}, "pin": {"1234"}},
		WantStatus: http.StatusSeeOther, WantLocation: w.srv.URL + page})
	c.Step(webtest.Step{Name: "the warning", Path: page, WantContains: []string{`id="tries-left">1<`, `id="last-try"`, "あと1回間違えるとロックされます"}})
	r = c.Step(webtest.Step{Name: "the PIN under the warning", Path: page + "pin", Form: url.Values{"pin": {"1234"}}, WantStatus: http.StatusSeeOther})
	r = c.Step(webtest.Step{Name: "the callback", Path: w.rel(t, r.Location()), WantStatus: http.StatusFound})
	if u, _ := url.Parse(r.Location()); u.Query().Get("code") == "" {
		t.Errorf("no code after the PIN under the warning: %s", u)
	}
}

// TestUILocales: ui_locales=en picks the English card page (§3 row 7)
// through the site's language switch, once.
func TestUILocales(t *testing.T) {
	w := newWorld(t, storetest.SQLite(t))
	c := webtest.New(t, w.srv.URL)
	q := authParams(rp1, cb1, s256(verifier))
	q.Set("ui_locales", "en ja")
	page := w.rel(t, c.Get(RealmPath+AuthPath+"?"+q.Encode()).Location())
	r := c.Step(webtest.Step{Name: "the card page", Path: page, WantStatus: http.StatusSeeOther})
	if !strings.HasPrefix(r.Location(), "/lang?") {
		t.Fatalf("to %q, want the language switch", r.Location())
	}
	c.Step(webtest.Step{Name: "the switch", Path: r.Location(), WantStatus: http.StatusSeeOther, WantLocation: page})
	c.Step(webtest.Step{Name: "in English", Path: page, WantContains: []string{"Log in with your My Number Card", "place your My Number Card on the card reader"}})
}

// TestCallbackOnlyForTheBrowser: the code goes to the browser whose card
// login completed the request, which its row names, not to another
// browser that opened the same card page; and the PIN post that completes
// it writes no session (the card page wrote it once).
func TestCallbackOnlyForTheBrowser(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		c, other := webtest.New(t, w.srv.URL), webtest.New(t, w.srv.URL)
		r := c.Get(RealmPath + AuthPath + "?" + authParams(rp1, cb1, s256(verifier)).Encode())
		page := w.rel(t, r.Location())
		other.Step(webtest.Step{Name: "another browser at the card page", Path: page})
		c.Step(webtest.Step{Name: "the card page", Path: page})
		sessions := func() (n int, last int64) {
			t.Helper()
			if err := db.QueryRow(`SELECT count(*), COALESCE(max(seen_ms), 0) FROM web_sessions`).Scan(&n, &last); err != nil {
				t.Fatal(err)
			}
			return n, last
		}
		n0, seen := sessions()
		r = c.Step(webtest.Step{Name: "the card and its PIN", Path: page + "place-pin", Form: url.Values{"card": {w.good.ID()}, "pin": {"1234"}}, WantStatus: http.StatusSeeOther})
		if n, last := sessions(); n != n0 || last != seen {
			t.Errorf("the PIN post wrote a session: %d rows last seen %d, before %d rows last seen %d", n, last, n0, seen)
		}
		cb := w.rel(t, r.Location())
		other.Step(webtest.Step{Name: "the callback from the other browser", Path: cb, WantStatus: http.StatusNotFound})
		r = c.Step(webtest.Step{Name: "the callback", Path: cb, WantStatus: http.StatusFound})
		if u, _ := url.Parse(r.Location()); u.Query().Get("code") == "" {
			t.Errorf("no code for the browser that logged in: %s", u)
		}
	})
}

// TestPlacePINOutcomes: the card page's one post shows every outcome the
// card's state or the form gives before the platform is asked: a refusal
// the person can retry comes back as the page's message with the card
// step; one they cannot stops the flow, and 「サービスに戻る」 sends its code.
func TestPlacePINOutcomes(t *testing.T) {
	w := newWorld(t, storetest.SQLite(t))
	noCert, err := w.cards.Create(card.Spec{AuthPIN: "1234", SignPIN: "SUZAKA1980", TextPIN: "1234", MyNumber: "123456789018",
		Name: "証明書　なし", Address: "長野県須坂市大字須坂１２３４番地", BirthDate: "19800229", Sex: "2", Demo: true})
	if err != nil {
		t.Fatal(err)
	}
	blocked, _, _ := w.card(t, "暗証番号　ロック")
	for range 3 {
		if err := card.NewClient(blocked).VerifyPIN(card.AuthPIN, "9999"); err == nil {
			t.Fatal("a wrong PIN verified")
		}
	}
	for _, tc := range []struct {
		name, card, pin string
		// want is what the card page says: the outcome's element when it
		// stops the flow (stop; the RP then gets desc), the message shown
		// once (the flash) when the person can retry.
		want, desc string
		stop       bool
	}{
		{"no card chosen", "", "1234", "カードを読み取れませんでした。", "", false},
		{"a PIN of the wrong format", w.good.ID(), "12", "暗証番号は数字4桁です。", "", false},
		{"a wrong PIN", w.good.ID(), "9999", "暗証番号が違います。", "", false},
		{"no authentication certificate", noCert.ID(), "1234", `id="no-cert"`, "no_auth_certificate", true},
		{"a blocked PIN", blocked.ID(), "1234", `id="blocked"`, "pin_blocked", true},
		{"a revoked card", w.revoked.ID(), "1234", `id="refused"`, "revoked", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := webtest.New(t, w.srv.URL)
			r := c.Get(RealmPath + AuthPath + "?" + authParams(rp1, cb1, s256(verifier)).Encode())
			page := w.rel(t, r.Location())
			c.Step(webtest.Step{Name: "the card page", Path: page})
			c.Step(webtest.Step{Name: "the card and the PIN", Path: page + "place-pin", Form: url.Values{"card": {tc.card}, "pin": {tc.pin}},
				WantStatus: http.StatusSeeOther, WantLocation: w.srv.URL + page})
			if !tc.stop {
				c.Step(webtest.Step{Name: "the message", Path: page, WantContains: []string{`class="flash flash-error"`, tc.want}})
				return
			}
			c.Step(webtest.Step{Name: "the outcome", Path: page, WantContains: []string{tc.want, "サービスに戻る"}})
			r = c.Step(webtest.Step{Name: "back to the service", Path: page + "back", Form: url.Values{}, WantStatus: http.StatusSeeOther})
			u, _ := url.Parse(r.Location())
			if u.Query().Get("error") != "access_denied" || u.Query().Get("error_description") != tc.desc || u.Query().Get("code") != "" {
				t.Errorf("at the RP: %s, want access_denied %s", u, tc.desc)
			}
		})
	}
}
