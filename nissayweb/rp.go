package nissayweb

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// ErrProvider is the provider not answering, or not as a provider should.
var ErrProvider = errors.New("nissayweb: the provider")

// ErrBadSignature is a signing result that does not prove the customer
// signed this page's document.
var ErrBadSignature = errors.New("nissayweb: the signature")

// keyAlg is the JWS algorithm of the key and its kid, the RFC 7638
// thumbprint (the kid the provider gives a key registered without one).
func keyAlg(k crypto.Signer) (jose.SignatureAlgorithm, string, error) {
	var alg jose.SignatureAlgorithm
	switch pub := k.Public().(type) {
	case *ecdsa.PublicKey:
		if pub.Curve != elliptic.P256() {
			return "", "", errors.New("nissayweb: an EC key must be on P-256")
		}
		alg = jose.ES256
	case *rsa.PublicKey:
		alg = jose.RS256
	default:
		return "", "", fmt.Errorf("nissayweb: a %T key: ECDSA P-256 or RSA only", pub)
	}
	tp, err := (&jose.JSONWebKey{Key: k.Public()}).Thumbprint(crypto.SHA256)
	if err != nil {
		return "", "", fmt.Errorf("nissayweb: key thumbprint: %w", err)
	}
	return alg, base64.RawURLEncoding.EncodeToString(tp), nil
}

func (p *Page) clientContext(ctx context.Context) context.Context {
	return gooidc.ClientContext(context.WithValue(ctx, oauth2.HTTPClient, p.cfg.HTTP), p.cfg.HTTP)
}

// discover reads the provider's configuration at the first need and keeps
// it; a failure is retried no sooner than discoveryRetry later.
func (p *Page) discover(ctx context.Context) (*gooidc.Provider, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.provider != nil {
		return p.provider, nil
	}
	if !p.failedAt.IsZero() && p.now().Sub(p.failedAt) < discoveryRetry {
		return nil, fmt.Errorf("%w: discovery failed a moment ago", ErrProvider)
	}
	pr, err := gooidc.NewProvider(p.clientContext(ctx), p.cfg.Issuer)
	if err != nil {
		p.failedAt = p.now()
		return nil, fmt.Errorf("%w: discovery: %w", ErrProvider, err)
	}
	p.provider = pr
	return pr, nil
}

func (p *Page) oauthConfig(pr *gooidc.Provider, scopes ...string) *oauth2.Config {
	ep := pr.Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInParams
	return &oauth2.Config{ClientID: p.cfg.ClientID, Endpoint: ep, RedirectURL: p.RedirectURI(),
		Scopes: append([]string{gooidc.ScopeOpenID}, scopes...)}
}

func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// clientAssertion is a private_key_jwt assertion (RFC 7523 §3).
func (p *Page) clientAssertion(tokenURL string) (string, error) {
	now := p.now()
	claims := map[string]any{"iss": p.cfg.ClientID, "sub": p.cfg.ClientID, "aud": tokenURL, "jti": randomString(16),
		"iat": now.Unix(), "exp": now.Add(assertionTTL).Unix()}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: p.alg, Key: p.cfg.Key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", p.kid))
	if err != nil {
		return "", fmt.Errorf("nissayweb: assertion signer: %w", err)
	}
	b, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	jws, err := s.Sign(b)
	if err != nil {
		return "", fmt.Errorf("nissayweb: sign the assertion: %w", err)
	}
	return jws.CompactSerialize()
}

// authURL is the authorization request with a fresh PKCE verifier, state
// and nonce (returned for the session).
func (p *Page) authURL(pr *gooidc.Provider, en bool, scopes []string, extra ...oauth2.AuthCodeOption) (u, state, nonce, verifier string) {
	state, nonce, verifier = randomString(24), randomString(24), oauth2.GenerateVerifier()
	opts := append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier), gooidc.Nonce(nonce),
		oauth2.SetAuthURLParam("acr_values", "aal3")}, extra...)
	if en {
		opts = append(opts, oauth2.SetAuthURLParam("ui_locales", "en"))
	}
	return p.oauthConfig(pr, scopes...).AuthCodeURL(state, opts...), state, nonce, verifier
}

// login is what a code exchange gave: the verified sub, the token and the
// UserInfo attributes granted.
type login struct {
	Sub, RawID string
	Token      *oauth2.Token
	Granted    []string
	Claims     struct {
		Name      string `json:"name"`
		Address   string `json:"address"`
		Birthdate string `json:"birthdate"`
	}
}

// exchange redeems code with the assertion and the PKCE verifier and
// verifies the ID token (signature, iss, aud, exp, nonce, at_hash, acr);
// when attributes were granted it reads them from UserInfo.
func (p *Page) exchange(ctx context.Context, code, verifier, nonce string) (*login, error) {
	pr, err := p.discover(ctx)
	if err != nil {
		return nil, err
	}
	conf := p.oauthConfig(pr)
	assertion, err := p.clientAssertion(conf.Endpoint.TokenURL)
	if err != nil {
		return nil, err
	}
	cctx := p.clientContext(ctx)
	tok, err := conf.Exchange(cctx, code, oauth2.VerifierOption(verifier),
		oauth2.SetAuthURLParam("client_assertion_type", assertionType), oauth2.SetAuthURLParam("client_assertion", assertion))
	if err != nil {
		return nil, fmt.Errorf("%w: token: %w", ErrProvider, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, fmt.Errorf("%w: no ID token", ErrProvider)
	}
	idt, err := pr.Verifier(&gooidc.Config{ClientID: p.cfg.ClientID, Now: p.now}).Verify(cctx, raw)
	if err != nil {
		return nil, fmt.Errorf("%w: ID token: %w", ErrProvider, err)
	}
	if idt.Nonce != nonce {
		return nil, fmt.Errorf("%w: ID token: the nonce is not this login's", ErrProvider)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		return nil, fmt.Errorf("%w: ID token: %w", ErrProvider, err)
	}
	var c struct {
		ACR string `json:"acr"`
	}
	if err := idt.Claims(&c); err != nil || c.ACR != "aal3" {
		return nil, fmt.Errorf("%w: ID token: acr %q, want aal3", ErrProvider, c.ACR)
	}
	l := &login{Sub: idt.Subject, RawID: raw, Token: tok}
	granted, _ := tok.Extra("scope").(string)
	for _, s := range strings.Fields(granted) {
		if s == "name" || s == "address" || s == "birthdate" {
			l.Granted = append(l.Granted, s)
		}
	}
	if len(l.Granted) > 0 {
		ui, err := pr.UserInfo(cctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			return nil, fmt.Errorf("%w: userinfo: %w", ErrProvider, err)
		}
		if ui.Subject != idt.Subject {
			return nil, fmt.Errorf("%w: userinfo of another sub", ErrProvider)
		}
		if err := ui.Claims(&l.Claims); err != nil {
			return nil, fmt.Errorf("%w: userinfo: %w", ErrProvider, err)
		}
	}
	return l, nil
}

// baseURL is the provider's base URL: its issuer without the realm path
// (the sign-transaction API sits beside the realm, DAA 8).
func (p *Page) baseURL() string {
	return strings.TrimSuffix(strings.TrimRight(p.cfg.Issuer, "/"), realmSuffix)
}

// startSignTransaction gets a client-credentials token and starts a sign
// transaction for digest (SHA-256); it returns the transaction ID.
func (p *Page) startSignTransaction(ctx context.Context, digest []byte) (string, error) {
	pr, err := p.discover(ctx)
	if err != nil {
		return "", err
	}
	tokenURL := pr.Endpoint().TokenURL
	assertion, err := p.clientAssertion(tokenURL)
	if err != nil {
		return "", err
	}
	cc := clientcredentials.Config{ClientID: p.cfg.ClientID, TokenURL: tokenURL, Scopes: []string{"sign"},
		AuthStyle: oauth2.AuthStyleInParams, EndpointParams: url.Values{"client_assertion_type": {assertionType}, "client_assertion": {assertion}}}
	tok, err := cc.Token(p.clientContext(ctx))
	if err != nil {
		return "", fmt.Errorf("%w: client credentials: %w", ErrProvider, err)
	}
	body, _ := json.Marshal(map[string]string{"digest": base64.StdEncoding.EncodeToString(digest)})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.baseURL()+signTransactionsPath, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	b, status, err := p.do(req)
	if err != nil {
		return "", err
	}
	if status != http.StatusCreated {
		return "", fmt.Errorf("%w: start a sign transaction: %d %s", ErrProvider, status, b)
	}
	var out struct {
		ID string `json:"sign_transaction_id"`
	}
	if err := json.Unmarshal(b, &out); err != nil || out.ID == "" {
		return "", fmt.Errorf("%w: start a sign transaction: no ID in %s", ErrProvider, b)
	}
	return out.ID, nil
}

func (p *Page) do(req *http.Request) ([]byte, int, error) {
	resp, err := p.cfg.HTTP.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %w", ErrProvider, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %w", ErrProvider, err)
	}
	return b, resp.StatusCode, nil
}

// signed is a checked signing result.
type signed struct {
	Signature []byte
	Cert      *x509.Certificate
	SignedAt  time.Time
}

// fetchResult fetches the sign transaction's result with the grant's
// access token, decrypts it with the PF key and checks that it is a
// signature over digest by a certificate 日本生命's verifier accepts.
func (p *Page) fetchResult(ctx context.Context, id, accessToken string, digest []byte) (*signed, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.baseURL()+signTransactionsPath+"/"+url.PathEscape(id)+"/result", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	b, status, err := p.do(req)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("%w: sign result: %d %s", ErrProvider, status, b)
	}
	jwe, err := jose.ParseEncryptedCompact(strings.TrimSpace(string(b)), []jose.KeyAlgorithm{jose.RSA_OAEP_256}, []jose.ContentEncryption{jose.A256GCM})
	if err != nil {
		return nil, fmt.Errorf("%w: the result is not a JWE to the PF key: %w", ErrBadSignature, err)
	}
	var key any = p.cfg.PFKey
	if rk, ok := p.cfg.PFKey.(*rsa.PrivateKey); ok {
		key = rk
	}
	plain, err := jwe.Decrypt(key)
	if err != nil {
		return nil, fmt.Errorf("%w: decrypt the result: %w", ErrBadSignature, err)
	}
	var res struct {
		Signature   string `json:"signature"`
		Certificate string `json:"certificate"`
		Digest      string `json:"digest"`
		DigestType  string `json:"digest_type"`
		SignedAt    string `json:"signed_at"`
	}
	if err := json.Unmarshal(plain, &res); err != nil {
		return nil, fmt.Errorf("%w: the result: %w", ErrBadSignature, err)
	}
	got, err := base64.StdEncoding.DecodeString(res.Digest)
	if err != nil || !bytes.Equal(got, digest) || res.DigestType != "sha256" {
		return nil, fmt.Errorf("%w: the result is not over this document's digest", ErrBadSignature)
	}
	sig, err := base64.StdEncoding.DecodeString(res.Signature)
	if err != nil {
		return nil, fmt.Errorf("%w: the signature's encoding: %w", ErrBadSignature, err)
	}
	der, err := base64.StdEncoding.DecodeString(res.Certificate)
	if err != nil {
		return nil, fmt.Errorf("%w: the certificate's encoding: %w", ErrBadSignature, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w: the certificate: %w", ErrBadSignature, err)
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: the certificate's key is not RSA", ErrBadSignature)
	}
	// RSASSA-PKCS1-v1_5 over the SHA-256 DigestInfo, as the card signs.
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest, sig); err != nil {
		return nil, fmt.Errorf("%w: does not verify with the certificate: %w", ErrBadSignature, err)
	}
	now := p.now()
	if err := p.cfg.CheckCert(ctx, cert, now); err != nil {
		return nil, fmt.Errorf("%w: the certificate: %w", ErrBadSignature, err)
	}
	at, err := time.Parse(time.RFC3339, res.SignedAt)
	if err != nil {
		at = now
	}
	return &signed{Signature: sig, Cert: cert, SignedAt: at}, nil
}
