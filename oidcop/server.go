package oidcop

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/mynaplat/mynaplat/web"
)

// server is the library's LegacyServer with the methods overridden where the
// real service differs from the library (§4.8).
type server struct {
	*op.LegacyServer
	p *Provider
}

// endpoints are the real service's paths (§2). Revocation and
// introspection are served only when --oidc-extra-endpoints names them
// (§3 row 19).
func (p *Provider) endpoints() op.Endpoints {
	e := op.Endpoints{
		Authorization: op.NewEndpoint(AuthPath),
		Token:         op.NewEndpoint(TokenPath),
		Userinfo:      op.NewEndpoint(UserinfoPath),
		EndSession:    op.NewEndpoint(LogoutPath),
		JwksURI:       op.NewEndpoint(CertsPath),
	}
	if slices.Contains(p.cfg.ExtraEndpoints, EndpointRevoke) {
		e.Revocation = op.NewEndpoint(RevokePath)
	}
	if slices.Contains(p.cfg.ExtraEndpoints, EndpointIntrospect) {
		e.Introspection = op.NewEndpoint(IntrospectPath)
	}
	return e
}

// MachinePaths are the provider's paths under RealmPath that RPs' servers
// post to (no session, no CSRF token): token, logout and the extra
// endpoints that are on.
func (p *Provider) MachinePaths() []string {
	out := []string{TokenPath, LogoutPath}
	e := p.endpoints()
	if e.Revocation != nil {
		out = append(out, RevokePath)
	}
	if e.Introspection != nil {
		out = append(out, IntrospectPath)
	}
	return out
}

// Handler is the provider's HTTP handler, for the paths under RealmPath:
// mount it with http.StripPrefix(RealmPath, …).
func (p *Provider) Handler(ctx context.Context) (http.Handler, error) {
	key, err := p.secret(ctx, "token-crypto")
	if err != nil {
		return nil, err
	}
	cfg := &op.Config{
		CryptoKey:               [32]byte(key),
		AuthMethodPrivateKeyJWT: true,
		GrantTypeRefreshToken:   true,
		SupportedScopes:         Scopes,
		SupportedClaims:         claimsSupported,
	}
	// The endpoints are the LegacyServer's (endpoints()); the provider's own
	// are ignored with it.
	opts := []op.Option{op.WithLogger(p.logger)}
	if strings.HasPrefix(p.cfg.BaseURL, "http://") {
		opts = append(opts, op.WithAllowInsecure())
	}
	prov, err := op.NewProvider(cfg, &storage{p: p}, op.StaticIssuer(p.Issuer()), opts...)
	if err != nil {
		return nil, fmt.Errorf("oidcop: provider: %w", err)
	}
	s := &server{LegacyServer: op.NewLegacyServer(prov, p.endpoints()), p: p}
	h := op.RegisterLegacyServer(s, func(w http.ResponseWriter, r *http.Request) {
		p.callback(p.withIss(w), r, func(w http.ResponseWriter, r *http.Request) { op.AuthorizeCallback(w, r, prov) })
	},
		// No CORS: the RPs are servers (confidential clients), and the
		// library's default reflects any origin with credentials.
		op.WithServerCORSOptions(nil))
	return p.edge(h), nil
}

// edge adds what the library leaves out: the error page, in Japanese and
// English, of an authorization request whose client or redirect URI is
// wrong (the library would answer JSON to the person's browser); no
// caching of any token answer, refusals included (§2.2); and UserInfo's
// WWW-Authenticate on a 401 (RFC 6750 §3).
func (p *Provider) edge(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case AuthPath:
			if p.cfg.Site == nil {
				break
			}
			if err := r.ParseForm(); err != nil {
				p.cfg.Site.Error(w, r, problemBadRequest)
				return
			}
			if _, err := p.clientAndRedirect(r.Context(), r.Form.Get("client_id"), r.Form.Get("redirect_uri")); err != nil {
				p.cfg.Site.Error(w, r, problemBadRequest)
				return
			}
			w = p.withIss(w)
		case TokenPath, IntrospectPath:
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("Pragma", "no-cache")
		case UserinfoPath:
			w = &bearerChallenge{ResponseWriter: w}
		case LogoutPath:
			p.logout(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// withIss is w adding RFC 9207's iss to a redirect to the RP (an
// authorization response) when --oidc-authz-iss is on (§3 row 8).
func (p *Provider) withIss(w http.ResponseWriter) http.ResponseWriter {
	if !p.cfg.AuthzIss {
		return w
	}
	return &issRedirect{ResponseWriter: w, iss: p.Issuer()}
}

type issRedirect struct {
	http.ResponseWriter
	iss string
}

func (i *issRedirect) WriteHeader(code int) {
	if code >= 300 && code < 400 {
		// A redirect within the provider (to the card page) is no
		// authorization response.
		if u, err := url.Parse(i.Header().Get("Location")); err == nil && !strings.HasPrefix(u.String(), i.iss+"/") {
			q := u.Query()
			q.Set("iss", i.iss)
			u.RawQuery = q.Encode()
			i.Header().Set("Location", u.String())
		}
	}
	i.ResponseWriter.WriteHeader(code)
}

// bearerChallenge sets WWW-Authenticate on a 401.
type bearerChallenge struct{ http.ResponseWriter }

func (b *bearerChallenge) WriteHeader(code int) {
	if code == http.StatusUnauthorized {
		b.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	}
	b.ResponseWriter.WriteHeader(code)
}

// problemBadRequest is the page of an authorization request that cannot be
// answered to its RP: the client or the redirect URI is not registered.
var problemBadRequest = web.Problem{Status: http.StatusBadRequest, TitleJA: "このログインの依頼は受け付けられません", TitleEN: "This login request cannot be accepted",
	WhatJA: "依頼したサービスが登録されていないか、止められているか、戻り先のURIが登録と違います。",
	WhatEN: "The service that sent you is not registered or is disabled, or its return address is not the registered one.",
	DoJA:   "依頼したサービスにお問い合わせください。", DoEN: "Contact the service that sent you here."}

// claimsSupported are the claims of §2.3.
var claimsSupported = []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "azp", "sid", "acr", "amr",
	"name", "address", "birthdate", "gender"}

// Discovery lists only what the provider does (§2): code, S256,
// private_key_jwt, query, pairwise subjects; and what the knobs of §3 set:
// the assertion algorithms, the response modes, the extra endpoints and
// RFC 9207's iss.
func (s *server) Discovery(ctx context.Context, _ *op.Request[struct{}]) (*op.Response, error) {
	iss := s.p.Issuer()
	algs := []string{string(s.p.cfg.SigningAlg)}
	var assertionAlgs []string
	for _, a := range s.p.cfg.AssertionAlgs {
		assertionAlgs = append(assertionAlgs, string(a))
	}
	d := &oidc.DiscoveryConfiguration{
		Issuer:                                     iss,
		AuthorizationEndpoint:                      iss + AuthPath,
		TokenEndpoint:                              iss + TokenPath,
		UserinfoEndpoint:                           iss + UserinfoPath,
		EndSessionEndpoint:                         iss + LogoutPath,
		JwksURI:                                    iss + CertsPath,
		ScopesSupported:                            Scopes,
		ResponseTypesSupported:                     []string{string(oidc.ResponseTypeCode)},
		ResponseModesSupported:                     s.p.cfg.ResponseModes,
		GrantTypesSupported:                        []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken, oidc.GrantTypeClientCredentials},
		SubjectTypesSupported:                      []string{"pairwise"},
		IDTokenSigningAlgValuesSupported:           algs,
		TokenEndpointAuthMethodsSupported:          []oidc.AuthMethod{oidc.AuthMethodPrivateKeyJWT},
		TokenEndpointAuthSigningAlgValuesSupported: assertionAlgs,
		ClaimsSupported:                            claimsSupported,
		CodeChallengeMethodsSupported:              []oidc.CodeChallengeMethod{oidc.CodeChallengeMethodS256},
		ACRValuesSupported:                         []string{"aal3", "crl"},
	}
	e := s.p.endpoints()
	if e.Revocation != nil {
		d.RevocationEndpoint = iss + RevokePath
		d.RevocationEndpointAuthMethodsSupported = d.TokenEndpointAuthMethodsSupported
		d.RevocationEndpointAuthSigningAlgValuesSupported = assertionAlgs
	}
	if e.Introspection != nil {
		d.IntrospectionEndpoint = iss + IntrospectPath
		d.IntrospectionEndpointAuthMethodsSupported = d.TokenEndpointAuthMethodsSupported
		d.IntrospectionEndpointAuthSigningAlgValuesSupported = assertionAlgs
	}
	if !s.p.cfg.AuthzIss {
		return op.NewResponse(d), nil
	}
	// RFC 9207 §3: the metadata says the iss parameter is sent.
	return op.NewResponse(struct {
		*oidc.DiscoveryConfiguration
		IssParameter bool `json:"authorization_response_iss_parameter_supported"`
	}{d, true}), nil
}

// Keys is the JWKS with a cache lifetime shorter than the publish lead, so
// that every RP has a new key before it signs (§2).
func (s *server) Keys(ctx context.Context, r *op.Request[struct{}]) (*op.Response, error) {
	resp, err := s.LegacyServer.Keys(ctx, r)
	if err != nil {
		return nil, err
	}
	if resp.Header == nil {
		resp.Header = http.Header{}
	}
	resp.Header.Set("Cache-Control", "max-age=300")
	return resp, nil
}

// secret is a named 32-byte secret shared by the instances, made on first
// use. No one changes a secret once made (the insert does nothing when it
// is there), so a read is kept.
func (p *Provider) secret(ctx context.Context, name string) ([]byte, error) {
	if v, ok := p.secrets.Load(name); ok {
		return v.([]byte), nil
	}
	var v []byte
	err := p.db.QueryRowContext(ctx, qSelectSecret, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		fresh := make([]byte, 32)
		rand.Read(fresh)
		if _, err := p.db.Write(ctx, qInsertSecret, name, fresh); err != nil {
			return nil, fmt.Errorf("oidcop: secret %s: %w", name, err)
		}
		err = p.db.QueryRowContext(ctx, qSelectSecret, name).Scan(&v)
	}
	if err != nil {
		return nil, fmt.Errorf("oidcop: secret %s: %w", name, err)
	}
	if len(v) != 32 {
		return nil, fmt.Errorf("oidcop: secret %s has %d bytes", name, len(v))
	}
	p.secrets.Store(name, v)
	return v, nil
}
