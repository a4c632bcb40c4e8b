// Package oidcrp is the client side of OpenID Connect that mynaplat's demo
// relying parties (townweb, nissayweb) share, written as an outside client
// of the real デジタル認証アプリ would be: golang.org/x/oauth2 and
// github.com/coreos/go-oidc/v3 over HTTP only. It does discovery from the
// issuer (OpenID Connect Discovery 1.0, lazily, retried no sooner than 10 s
// after a failure), the authorization request with state, nonce, PKCE S256
// (RFC 7636) and acr_values=aal3, private_key_jwt client authentication
// (RFC 7523 §2.2, OpenID Connect Core §9), the code exchange with the ID
// token checked (signature, iss, aud, exp, nonce, at_hash, acr), UserInfo,
// client-credentials tokens, and RP-initiated logout (OpenID Connect
// RP-Initiated Logout 1.0). It imports no package of the provider.
package oidcrp

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
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

const (
	assertionType  = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	assertionTTL   = time.Minute
	discoveryRetry = 10 * time.Second
)

// ErrProvider is the provider not answering, or not as a provider should.
var ErrProvider = errors.New("oidcrp: the provider")

// Config is what New needs.
type Config struct {
	// Issuer is the provider's issuer URL.
	Issuer string
	// ClientID is the RP's client ID at the provider.
	ClientID string
	// Key signs the client assertions: ECDSA P-256 (ES256) or RSA (RS256).
	Key crypto.Signer
	// RedirectURI is the RP's registered redirect URI.
	RedirectURI string
	// HTTP reaches the provider (it must have a timeout).
	HTTP *http.Client
	Now  func() time.Time
}

// Client is one RP's client of the provider.
type Client struct {
	cfg Config
	alg jose.SignatureAlgorithm
	kid string

	// mu guards the provider's discovered configuration, fetched at the
	// first need (the provider may start after the RP) and kept.
	mu         sync.Mutex
	provider   *gooidc.Provider
	endSession string
	failedAt   time.Time
}

// New checks cfg.
func New(cfg Config) (*Client, error) {
	if cfg.Key == nil || cfg.HTTP == nil || cfg.ClientID == "" {
		return nil, errors.New("oidcrp: Key, HTTP and ClientID are required")
	}
	for name, s := range map[string]string{"issuer": cfg.Issuer, "redirect URI": cfg.RedirectURI} {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("oidcrp: the %s %q is not an absolute http(s) URL", name, s)
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	alg, kid, err := keyAlg(cfg.Key)
	if err != nil {
		return nil, err
	}
	return &Client{cfg: cfg, alg: alg, kid: kid}, nil
}

// keyAlg is the JWS algorithm of the key and its kid: the RFC 7638
// thumbprint, which is the kid the provider gives a key registered
// without one.
func keyAlg(k crypto.Signer) (jose.SignatureAlgorithm, string, error) {
	var alg jose.SignatureAlgorithm
	switch pub := k.Public().(type) {
	case *ecdsa.PublicKey:
		if pub.Curve != elliptic.P256() {
			return "", "", errors.New("oidcrp: an EC key must be on P-256")
		}
		alg = jose.ES256
	case *rsa.PublicKey:
		alg = jose.RS256
	default:
		return "", "", fmt.Errorf("oidcrp: a %T key: ECDSA P-256 or RSA only", pub)
	}
	tp, err := (&jose.JSONWebKey{Key: k.Public()}).Thumbprint(crypto.SHA256)
	if err != nil {
		return "", "", fmt.Errorf("oidcrp: key thumbprint: %w", err)
	}
	return alg, base64.RawURLEncoding.EncodeToString(tp), nil
}

// RandomString is n random bytes, base64url: states and nonces.
func RandomString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// clientContext carries the RP's HTTP client to x/oauth2 and go-oidc.
func (c *Client) clientContext(ctx context.Context) context.Context {
	return gooidc.ClientContext(context.WithValue(ctx, oauth2.HTTPClient, c.cfg.HTTP), c.cfg.HTTP)
}

// Discover reads the provider's configuration at the first need and keeps
// it. A failure is retried no sooner than 10 s later.
func (c *Client) Discover(ctx context.Context) (*gooidc.Provider, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.provider != nil {
		return c.provider, nil
	}
	if !c.failedAt.IsZero() && c.cfg.Now().Sub(c.failedAt) < discoveryRetry {
		return nil, fmt.Errorf("%w: discovery failed a moment ago", ErrProvider)
	}
	// go-oidc keeps only the client of this context, not the context.
	p, err := gooidc.NewProvider(c.clientContext(ctx), c.cfg.Issuer)
	if err != nil {
		c.failedAt = c.cfg.Now()
		return nil, fmt.Errorf("%w: discovery: %w", ErrProvider, err)
	}
	var ep struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := p.Claims(&ep); err != nil {
		c.failedAt = c.cfg.Now()
		return nil, fmt.Errorf("%w: discovery: %w", ErrProvider, err)
	}
	c.provider, c.endSession = p, ep.EndSession
	return p, nil
}

// EndSession is the discovered end_session_endpoint ("" when none).
func (c *Client) EndSession(ctx context.Context) (string, error) {
	if _, err := c.Discover(ctx); err != nil {
		return "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.endSession, nil
}

// LogoutURL is the RP-initiated logout request (OpenID Connect
// RP-Initiated Logout 1.0 §2) for the login whose ID token is idTokenHint:
// the discovered end_session_endpoint with id_token_hint, client_id,
// post_logout_redirect_uri (registered with the client) and a fresh state.
// It is "" when there is no hint or the provider has no end-session
// endpoint.
func (c *Client) LogoutURL(ctx context.Context, idTokenHint, postLogoutURI string) (string, error) {
	if idTokenHint == "" {
		return "", nil
	}
	end, err := c.EndSession(ctx)
	if err != nil || end == "" {
		return "", err
	}
	u, err := url.Parse(end)
	if err != nil {
		return "", fmt.Errorf("%w: end_session_endpoint %q: %w", ErrProvider, end, err)
	}
	v := u.Query()
	v.Set("id_token_hint", idTokenHint)
	v.Set("post_logout_redirect_uri", postLogoutURI)
	v.Set("client_id", c.cfg.ClientID)
	v.Set("state", RandomString(16))
	u.RawQuery = v.Encode()
	return u.String(), nil
}

// RedirectLogout sends the browser on to the provider's logout
// (LogoutURL), or to loggedOut, the RP's own page, when there is no hint,
// no end-session endpoint or no provider to ask. The RP ends its own
// session first: the person is logged out there whatever the provider
// does.
func (c *Client) RedirectLogout(w http.ResponseWriter, r *http.Request, idTokenHint, postLogoutURI, loggedOut string) {
	u, err := c.LogoutURL(r.Context(), idTokenHint, postLogoutURI)
	if err != nil || u == "" {
		http.Redirect(w, r, loggedOut, http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, u, http.StatusSeeOther)
}

// oauthConfig has no secret: the client authenticates with its assertion
// in the form (AuthStyleInParams).
func (c *Client) oauthConfig(p *gooidc.Provider, scopes []string) *oauth2.Config {
	ep := p.Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInParams
	return &oauth2.Config{ClientID: c.cfg.ClientID, Endpoint: ep, RedirectURL: c.cfg.RedirectURI,
		Scopes: append([]string{gooidc.ScopeOpenID}, scopes...)}
}

// Assertion is a private_key_jwt assertion (RFC 7523 §3): iss = sub = the
// client ID, aud = the token endpoint URL, a fresh jti, a short exp.
func (c *Client) Assertion(tokenURL string) (string, error) {
	now := c.cfg.Now()
	claims := map[string]any{"iss": c.cfg.ClientID, "sub": c.cfg.ClientID, "aud": tokenURL, "jti": RandomString(16),
		"iat": now.Unix(), "exp": now.Add(assertionTTL).Unix()}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: c.alg, Key: c.cfg.Key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", c.kid))
	if err != nil {
		return "", fmt.Errorf("oidcrp: assertion signer: %w", err)
	}
	b, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	jws, err := s.Sign(b)
	if err != nil {
		return "", fmt.Errorf("oidcrp: sign the assertion: %w", err)
	}
	return jws.CompactSerialize()
}

// Flow is an authorization request in flight: what the RP keeps (in its
// server-side session) to check the answer.
type Flow struct {
	URL, State, Nonce, Verifier string
}

// Start is an authorization request for scopes (openid is added) with a
// fresh state, nonce and PKCE verifier, acr_values=aal3, and ui_locales=en
// when en; extra adds parameters (e.g. sign_transaction_id).
func (c *Client) Start(ctx context.Context, scopes []string, en bool, extra url.Values) (Flow, error) {
	p, err := c.Discover(ctx)
	if err != nil {
		return Flow{}, err
	}
	f := Flow{State: RandomString(24), Nonce: RandomString(24), Verifier: oauth2.GenerateVerifier()}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(f.Verifier), gooidc.Nonce(f.Nonce),
		oauth2.SetAuthURLParam("acr_values", "aal3")}
	if en {
		opts = append(opts, oauth2.SetAuthURLParam("ui_locales", "en"))
	}
	for k, vs := range extra {
		for _, v := range vs {
			opts = append(opts, oauth2.SetAuthURLParam(k, v))
		}
	}
	f.URL = c.oauthConfig(p, scopes).AuthCodeURL(f.State, opts...)
	return f, nil
}

// Login is what a code exchange gave: the verified sub and ID token, the
// token, the scopes granted, and UserInfo when an attribute was granted.
type Login struct {
	Sub, RawIDToken string
	Token           *oauth2.Token
	Granted         []string
	UserInfo        *gooidc.UserInfo
}

// attributeScopes are the scopes whose values UserInfo gives.
var attributeScopes = []string{"name", "address", "birthdate", "gender"}

// Exchange redeems code with the assertion and the PKCE verifier, verifies
// the ID token (signature, iss, aud, exp, nonce, at_hash, acr = aal3) and,
// when the provider granted an attribute scope (the person consents per
// attribute, so fewer may be granted than asked), reads UserInfo, whose
// sub must be the ID token's.
func (c *Client) Exchange(ctx context.Context, code, verifier, nonce string) (*Login, error) {
	p, err := c.Discover(ctx)
	if err != nil {
		return nil, err
	}
	conf := c.oauthConfig(p, nil)
	assertion, err := c.Assertion(conf.Endpoint.TokenURL)
	if err != nil {
		return nil, err
	}
	cctx := c.clientContext(ctx)
	tok, err := conf.Exchange(cctx, code, oauth2.VerifierOption(verifier),
		oauth2.SetAuthURLParam("client_assertion_type", assertionType), oauth2.SetAuthURLParam("client_assertion", assertion))
	if err != nil {
		return nil, fmt.Errorf("%w: token: %w", ErrProvider, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, fmt.Errorf("%w: no ID token", ErrProvider)
	}
	idt, err := p.Verifier(&gooidc.Config{ClientID: c.cfg.ClientID, Now: c.cfg.Now}).Verify(cctx, raw)
	if err != nil {
		return nil, fmt.Errorf("%w: ID token: %w", ErrProvider, err)
	}
	if idt.Nonce != nonce {
		return nil, fmt.Errorf("%w: ID token: the nonce is not this login's", ErrProvider)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		return nil, fmt.Errorf("%w: ID token: %w", ErrProvider, err)
	}
	var claims struct {
		ACR string `json:"acr"`
	}
	if err := idt.Claims(&claims); err != nil || claims.ACR != "aal3" {
		return nil, fmt.Errorf("%w: ID token: acr %q, want aal3", ErrProvider, claims.ACR)
	}
	l := &Login{Sub: idt.Subject, RawIDToken: raw, Token: tok}
	granted, _ := tok.Extra("scope").(string)
	l.Granted = strings.Fields(granted)
	if slices.ContainsFunc(l.Granted, func(s string) bool { return slices.Contains(attributeScopes, s) }) {
		ui, err := p.UserInfo(cctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			return nil, fmt.Errorf("%w: userinfo: %w", ErrProvider, err)
		}
		if ui.Subject != idt.Subject {
			return nil, fmt.Errorf("%w: userinfo of another sub", ErrProvider)
		}
		l.UserInfo = ui
	}
	return l, nil
}

// ClientCredentials is a client-credentials token for scopes (RFC 6749
// §4.4), the client authenticated by its assertion.
func (c *Client) ClientCredentials(ctx context.Context, scopes ...string) (*oauth2.Token, error) {
	p, err := c.Discover(ctx)
	if err != nil {
		return nil, err
	}
	tokenURL := p.Endpoint().TokenURL
	assertion, err := c.Assertion(tokenURL)
	if err != nil {
		return nil, err
	}
	cc := clientcredentials.Config{ClientID: c.cfg.ClientID, TokenURL: tokenURL, Scopes: scopes, AuthStyle: oauth2.AuthStyleInParams,
		EndpointParams: url.Values{"client_assertion_type": {assertionType}, "client_assertion": {assertion}}}
	tok, err := cc.Token(c.clientContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("%w: client credentials: %w", ErrProvider, err)
	}
	return tok, nil
}
