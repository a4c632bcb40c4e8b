package townweb

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/mynaplat/mynaplat/web"
)

// The session keys of a login in flight and of a logged-in resident. The
// session is the site's (web.Site), server-side; these are the site's own
// keys in it.
const (
	keyState    = "townweb.state"
	keyNonce    = "townweb.nonce"
	keyVerifier = "townweb.verifier"
	keySub      = "townweb.sub"
	keyIDToken  = "townweb.id_token"
	keyName     = "townweb.name"
)

// ErrProvider is the provider not answering, or not as a provider should.
var ErrProvider = errors.New("townweb: the provider")

// keyAlg is the JWS algorithm of the site's key and its kid: the RFC 7638
// thumbprint, which is the kid the provider gives a key registered
// without one.
func keyAlg(k crypto.Signer) (jose.SignatureAlgorithm, string, error) {
	var alg jose.SignatureAlgorithm
	switch pub := k.Public().(type) {
	case *ecdsa.PublicKey:
		if pub.Curve != elliptic.P256() {
			return "", "", errors.New("townweb: an EC key must be on P-256")
		}
		alg = jose.ES256
	case *rsa.PublicKey:
		alg = jose.RS256
	default:
		return "", "", fmt.Errorf("townweb: a %T key: ECDSA P-256 or RSA only", pub)
	}
	tp, err := (&jose.JSONWebKey{Key: k.Public()}).Thumbprint(crypto.SHA256)
	if err != nil {
		return "", "", fmt.Errorf("townweb: key thumbprint: %w", err)
	}
	return alg, base64.RawURLEncoding.EncodeToString(tp), nil
}

// clientContext carries the site's HTTP client to x/oauth2 and go-oidc.
func (t *Town) clientContext(ctx context.Context) context.Context {
	return gooidc.ClientContext(context.WithValue(ctx, oauth2.HTTPClient, t.cfg.HTTP), t.cfg.HTTP)
}

// discover reads the provider's configuration at the first need and keeps
// it. A failure is retried no sooner than discoveryRetry later.
func (t *Town) discover(ctx context.Context) (*gooidc.Provider, providerEndpoints, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.provider != nil {
		return t.provider, t.endpoint, nil
	}
	if !t.failedAt.IsZero() && t.now().Sub(t.failedAt) < discoveryRetry {
		return nil, providerEndpoints{}, fmt.Errorf("%w: discovery failed a moment ago", ErrProvider)
	}
	// go-oidc keeps only the client of this context, not the context.
	p, err := gooidc.NewProvider(t.clientContext(ctx), t.cfg.Issuer)
	if err != nil {
		t.failedAt = t.now()
		return nil, providerEndpoints{}, fmt.Errorf("%w: discovery: %w", ErrProvider, err)
	}
	var ep providerEndpoints
	if err := p.Claims(&ep); err != nil {
		t.failedAt = t.now()
		return nil, providerEndpoints{}, fmt.Errorf("%w: discovery: %w", ErrProvider, err)
	}
	t.provider, t.endpoint = p, ep
	return p, ep, nil
}

// oauthConfig is the site's client configuration at p: no secret, the
// client authenticates with its assertion in the form (AuthStyleInParams).
func (t *Town) oauthConfig(p *gooidc.Provider) *oauth2.Config {
	ep := p.Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInParams
	return &oauth2.Config{ClientID: t.cfg.ClientID, Endpoint: ep, RedirectURL: t.RedirectURI(),
		Scopes: append([]string{gooidc.ScopeOpenID}, t.cfg.Scopes...)}
}

// randomString is n random bytes, base64url: the state and the nonce.
func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// clientAssertion is a private_key_jwt assertion (RFC 7523 §3): iss = sub =
// the client ID, aud = the token endpoint URL, a fresh jti, a short exp.
func (t *Town) clientAssertion(tokenURL string) (string, error) {
	now := t.now()
	claims := map[string]any{"iss": t.cfg.ClientID, "sub": t.cfg.ClientID, "aud": tokenURL, "jti": randomString(16),
		"iat": now.Unix(), "exp": now.Add(assertionTTL).Unix()}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: t.alg, Key: t.cfg.Key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", t.kid))
	if err != nil {
		return "", fmt.Errorf("townweb: assertion signer: %w", err)
	}
	b, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	jws, err := s.Sign(b)
	if err != nil {
		return "", fmt.Errorf("townweb: sign the assertion: %w", err)
	}
	return jws.CompactSerialize()
}

// startLogin sends the browser to the provider's authorization endpoint
// with a fresh state, nonce and PKCE verifier kept in the session.
func (t *Town) startLogin(w http.ResponseWriter, r *http.Request) {
	p, _, err := t.discover(r.Context())
	if err != nil {
		t.log.WarnContext(r.Context(), "townweb: login", "err", err)
		t.site.Error(w, r, problemProvider)
		return
	}
	ss, err := t.site.Session(w, r)
	if err != nil {
		t.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	state, nonce, verifier := randomString(24), randomString(24), oauth2.GenerateVerifier()
	ss.Set(keyState, state)
	ss.Set(keyNonce, nonce)
	ss.Set(keyVerifier, verifier)
	if err := ss.Save(r.Context()); err != nil {
		t.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier), gooidc.Nonce(nonce),
		oauth2.SetAuthURLParam("acr_values", "aal3")}
	if web.Lang(r) == "en" {
		opts = append(opts, oauth2.SetAuthURLParam("ui_locales", "en"))
	}
	http.Redirect(w, r, t.oauthConfig(p).AuthCodeURL(state, opts...), http.StatusSeeOther)
}

// callback takes the provider's answer: a refusal is shown as the site's
// refusal page; a code is exchanged, the ID token verified (signature,
// iss, aud, exp, nonce, at_hash, acr) and the resident logged in under its
// sub.
func (t *Town) callback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ss, err := t.site.Session(w, r)
	if err != nil {
		t.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	state, nonce, verifier := ss.Get(keyState), ss.Get(keyNonce), ss.Get(keyVerifier)
	q := r.URL.Query()
	if state == "" || q.Get("state") != state {
		// Not the answer to this browser's login: a stale tab, or someone
		// else's code pushed into this browser. It is not used.
		t.refused(ctx, "state_mismatch")
		t.showRefusal(w, r, http.StatusBadRequest, refusalFor("state_mismatch", ""))
		return
	}
	// A login's state, nonce and verifier are good once.
	ss.Delete(keyState)
	ss.Delete(keyNonce)
	ss.Delete(keyVerifier)
	if err := ss.Save(ctx); err != nil {
		t.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	if e := q.Get("error"); e != "" {
		desc := q.Get("error_description")
		t.refused(ctx, e+" "+desc)
		t.showRefusal(w, r, http.StatusOK, refusalFor(e, desc))
		return
	}
	sub, rawID, name, err := t.exchange(ctx, q.Get("code"), verifier, nonce)
	if err != nil {
		t.log.WarnContext(ctx, "townweb: login", "err", err)
		t.refused(ctx, "token")
		t.showRefusal(w, r, http.StatusBadGateway, refusalFor("token", ""))
		return
	}
	if err := t.login(ctx, sub); err != nil {
		t.log.ErrorContext(ctx, "townweb: login", "err", err)
		t.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	ss.Set(keySub, sub)
	ss.Set(keyIDToken, rawID)
	ss.Set(keyName, name)
	ss.SetFlash(web.Flash{Kind: "ok", JA: "マイナンバーカードでログインしました。", EN: "You are logged in with your My Number Card."})
	if err := ss.Save(ctx); err != nil {
		t.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	http.Redirect(w, r, Home+"my", http.StatusSeeOther)
}

// exchange redeems code at the token endpoint with the client assertion and
// the PKCE verifier, verifies the ID token and, when the provider granted
// the name scope, reads the name from UserInfo.
func (t *Town) exchange(ctx context.Context, code, verifier, nonce string) (sub, rawID, name string, err error) {
	p, _, err := t.discover(ctx)
	if err != nil {
		return "", "", "", err
	}
	conf := t.oauthConfig(p)
	assertion, err := t.clientAssertion(conf.Endpoint.TokenURL)
	if err != nil {
		return "", "", "", err
	}
	cctx := t.clientContext(ctx)
	tok, err := conf.Exchange(cctx, code, oauth2.VerifierOption(verifier),
		oauth2.SetAuthURLParam("client_assertion_type", assertionType), oauth2.SetAuthURLParam("client_assertion", assertion))
	if err != nil {
		return "", "", "", fmt.Errorf("%w: token: %w", ErrProvider, err)
	}
	rawID, _ = tok.Extra("id_token").(string)
	if rawID == "" {
		return "", "", "", fmt.Errorf("%w: no ID token", ErrProvider)
	}
	idt, err := p.Verifier(&gooidc.Config{ClientID: t.cfg.ClientID, Now: t.now}).Verify(cctx, rawID)
	if err != nil {
		return "", "", "", fmt.Errorf("%w: ID token: %w", ErrProvider, err)
	}
	if idt.Nonce != nonce {
		return "", "", "", fmt.Errorf("%w: ID token: the nonce is not this login's", ErrProvider)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		return "", "", "", fmt.Errorf("%w: ID token: %w", ErrProvider, err)
	}
	var claims struct {
		ACR string `json:"acr"`
	}
	if err := idt.Claims(&claims); err != nil || claims.ACR != "aal3" {
		return "", "", "", fmt.Errorf("%w: ID token: acr %q, want aal3", ErrProvider, claims.ACR)
	}
	// The granted scopes may be fewer than asked: the person consents per
	// attribute. Only a granted name is asked for.
	granted, _ := tok.Extra("scope").(string)
	if slices.Contains(strings.Fields(granted), "name") {
		ui, err := p.UserInfo(cctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			return "", "", "", fmt.Errorf("%w: userinfo: %w", ErrProvider, err)
		}
		if ui.Subject != idt.Subject {
			return "", "", "", fmt.Errorf("%w: userinfo of another sub", ErrProvider)
		}
		var uc struct {
			Name string `json:"name"`
		}
		if err := ui.Claims(&uc); err == nil {
			name = uc.Name
		}
	}
	return idt.Subject, rawID, name, nil
}

// logout ends the resident's session here, then asks the provider to end
// its own (RP-initiated logout) with the ID token as the hint and the
// registered post-logout URI.
func (t *Town) logout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ss, err := t.site.Session(w, r)
	if err != nil {
		t.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	sub, hint := ss.Get(keySub), ss.Get(keyIDToken)
	for _, k := range []string{keySub, keyIDToken, keyName} {
		ss.Delete(k)
	}
	if err := ss.Save(ctx); err != nil {
		t.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	if sub != "" {
		if _, err := t.db.Write(ctx, qInsertAudit, newID(), t.now().UnixMilli(), sub, "logout", "ok", ""); err != nil {
			t.log.ErrorContext(ctx, "townweb: audit logout", "err", err)
		}
	}
	_, ep, err := t.discover(ctx)
	if err != nil || ep.EndSession == "" || hint == "" {
		// Logged out here; the provider keeps no single sign-on session
		// anyway (every login is a card login).
		http.Redirect(w, r, Home+LoggedOutPath, http.StatusSeeOther)
		return
	}
	u, err := url.Parse(ep.EndSession)
	if err != nil {
		http.Redirect(w, r, Home+LoggedOutPath, http.StatusSeeOther)
		return
	}
	v := u.Query()
	v.Set("id_token_hint", hint)
	v.Set("post_logout_redirect_uri", t.PostLogoutURI())
	v.Set("client_id", t.cfg.ClientID)
	v.Set("state", randomString(16))
	u.RawQuery = v.Encode()
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}
