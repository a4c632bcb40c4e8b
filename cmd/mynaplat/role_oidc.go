package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/mynaplat/mynaplat/internal/layout"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/oidcop"
	"github.com/mynaplat/mynaplat/staff"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/web"
)

// oidcFlags are the knobs of the OpenID provider (docs/oidc-provider.md
// §3), each with a MYNAPLAT_OIDC_* environment default. serve and the oidc
// commands share them.
type oidcFlags struct {
	baseURL                             string
	signingAlg                          string
	codeTTL, accessTTL, idTTL, loginTTL time.Duration
	refreshTTL, signTTL                 time.Duration
	keyRotation, publishLead            time.Duration
	assertionMaxLifetime, clockSkew     time.Duration
	clientCacheTTL                      time.Duration
	attributeFormat, noSigningCert      string
	// The knobs of §3 rows 2–24 (issue 17: every unknown is a choice).
	assertionAlgs, ccScopes, acrUnknown, unknownParams, unknownScopes string
	cardError, signDigestFields, signIDField, jweAlg, jweEnc          string
	attributeSubsets, signResultFetches, responseModes                string
	extraEndpoints                                                    string
	strictAssertions, requireClientID, refreshRotation, acrClaim      bool
	keycloakExtras, authzIss, attributesInIDToken                     bool
}

// list splits a comma-separated flag value; "" is nil (the default), and
// "none" an empty list.
func list(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	out := []string{}
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" && v != "none" {
			out = append(out, v)
		}
	}
	return out
}

func (f *oidcFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.baseURL, "oidc-base-url", os.Getenv("MYNAPLAT_OIDC_BASE_URL"),
		"the OpenID provider's external base URL; the issuer is it + "+oidcop.RealmPath+" (default --base-url)")
	fs.StringVar(&f.signingAlg, "oidc-signing-alg", envOr("MYNAPLAT_OIDC_SIGNING_ALG", "ES256"), "the provider's key family: ES256 or RS256 (ID and access tokens)")
	d := func(p *time.Duration, name, env string, def time.Duration, usage string) {
		envDurationVar(fs, p, name, env, def, usage)
	}
	fs.StringVar(&f.attributeFormat, "oidc-attribute-format", envOr("MYNAPLAT_OIDC_ATTRIBUTE_FORMAT", oidcop.FormatRaw),
		"the attributes' forms: raw (the card's: YYYYMMDD, 1/2/3) or oidc (YYYY-MM-DD, male/female/unknown)")
	fs.StringVar(&f.noSigningCert, "oidc-no-signing-cert", envOr("MYNAPLAT_OIDC_NO_SIGNING_CERT", oidcop.NoSignAsk),
		"a card without a signing certificate asked for attributes: ask (offer the login only) or refuse (access_denied)")
	d(&f.codeTTL, "oidc-code-ttl", "MYNAPLAT_OIDC_CODE_TTL", oidcop.DefaultCodeTTL, "lifetime of an authorization code")
	d(&f.accessTTL, "oidc-access-token-ttl", "MYNAPLAT_OIDC_ACCESS_TOKEN_TTL", oidcop.DefaultAccessTokenTTL, "lifetime of an access token")
	d(&f.idTTL, "oidc-id-token-ttl", "MYNAPLAT_OIDC_ID_TOKEN_TTL", oidcop.DefaultIDTokenTTL, "lifetime of an ID token")
	d(&f.refreshTTL, "oidc-refresh-token-ttl", "MYNAPLAT_OIDC_REFRESH_TOKEN_TTL", oidcop.DefaultRefreshTokenTTL, "lifetime of a refresh token (each use rotates it)")
	d(&f.signTTL, "oidc-sign-ttl", "MYNAPLAT_OIDC_SIGN_TTL", oidcop.DefaultSignTTL, "how long a sign transaction waits for its signature")
	d(&f.loginTTL, "oidc-login-ttl", "MYNAPLAT_OIDC_LOGIN_TTL", oidcop.DefaultLoginTTL, "how long the card page of one authorization request lasts")
	d(&f.keyRotation, "oidc-key-rotation", "MYNAPLAT_OIDC_KEY_ROTATION", oidcop.DefaultKeyRotation,
		"how long a signing key signs before the next takes over (0: only by mynaplat oidc keys rotate)")
	d(&f.publishLead, "oidc-key-publish-lead", "MYNAPLAT_OIDC_KEY_PUBLISH_LEAD", oidcop.DefaultPublishLead,
		"how long a new signing key is listed in the JWKS before it signs")
	d(&f.assertionMaxLifetime, "oidc-assertion-max-lifetime", "MYNAPLAT_OIDC_ASSERTION_MAX_LIFETIME", oidcop.DefaultAssertionMaxLifetime,
		"how far ahead a client assertion's exp may be")
	d(&f.clockSkew, "oidc-clock-skew", "MYNAPLAT_OIDC_CLOCK_SKEW", oidcop.DefaultClockSkew, "leeway on the times of client assertions")
	envNonNegativeDurationVar(fs, &f.clientCacheTTL, "oidc-client-cache-ttl", "MYNAPLAT_OIDC_CLIENT_CACHE_TTL", oidcop.DefaultClientCacheTTL,
		"how long a client and its keys, once read, are used before being read again: the bound on a change by another process (0: no cache; §4.5)")
	str := func(p *string, name, env, def, usage string) {
		fs.StringVar(p, name, envOr(env, def), usage+"; env "+env)
	}
	b := func(p *bool, name, env string, def bool, usage string) {
		envBoolVar(fs, p, name, env, def, usage)
	}
	str(&f.assertionAlgs, "oidc-assertion-algs", "MYNAPLAT_OIDC_ASSERTION_ALGS", "RS256,ES256", "client assertions' algorithms, comma-separated (§3 row 2)")
	b(&f.strictAssertions, "oidc-strict-assertions", "MYNAPLAT_OIDC_STRICT_ASSERTIONS", false, "client assertions need iat and kid, and exp at most 5 min ahead (§3 row 2)")
	b(&f.requireClientID, "oidc-require-client-id", "MYNAPLAT_OIDC_REQUIRE_CLIENT_ID", false, "client_id must accompany a client assertion (§3 row 3)")
	str(&f.ccScopes, "oidc-cc-scopes", "MYNAPLAT_OIDC_CC_SCOPES", "sign", "the scope values client_credentials allows, comma-separated, or none (no scope value; §3 row 4)")
	b(&f.refreshRotation, "oidc-refresh-rotation", "MYNAPLAT_OIDC_REFRESH_ROTATION", true,
		"each refresh gives a new refresh token and a reuse revokes the grant; false: one refresh token until it expires (§3 row 5)")
	str(&f.acrUnknown, "oidc-acr-unknown", "MYNAPLAT_OIDC_ACR_UNKNOWN", oidcop.ACRIgnore, "an acr_values value other than aal3 and crl: ignore or refuse (§3 row 6)")
	b(&f.acrClaim, "oidc-acr-claim", "MYNAPLAT_OIDC_ACR_CLAIM", true, "echo acr (aal3) in the ID token (§3 row 6)")
	str(&f.unknownParams, "oidc-unknown-params", "MYNAPLAT_OIDC_UNKNOWN_PARAMS", oidcop.ParamsIgnore,
		"an authorization parameter the provider does not act on (max_age, login_hint, claims …): ignore or refuse (§3 row 7)")
	str(&f.cardError, "oidc-card-error", "MYNAPLAT_OIDC_CARD_ERROR", "access_denied",
		"the error a card refusal gives the RP (error_description is the outcome): access_denied, login_required, interaction_required, invalid_request or server_error (§3 row 9)")
	str(&f.attributeSubsets, "oidc-attribute-subsets", "MYNAPLAT_OIDC_ATTRIBUTE_SUBSETS", oidcop.SubsetsAllow,
		"the attributes asked: allow (consent per attribute) or all-or-none (§3 row 10)")
	b(&f.attributesInIDToken, "oidc-attributes-in-id-token", "MYNAPLAT_OIDC_ATTRIBUTES_IN_ID_TOKEN", false,
		"put the consented attributes in the ID token too, each such ID token a disclosure (§3 row 11)")
	str(&f.signDigestFields, "oidc-sign-digest-fields", "MYNAPLAT_OIDC_SIGN_DIGEST_FIELDS", "digest,hash",
		"the sign-transaction body's digest fields, the first present read (§3 row 14)")
	str(&f.signIDField, "oidc-sign-id-field", "MYNAPLAT_OIDC_SIGN_ID_FIELD", "sign_transaction_id", "the sign-transaction answer's ID field (§3 row 14)")
	str(&f.signResultFetches, "oidc-sign-result-fetches", "MYNAPLAT_OIDC_SIGN_RESULT_FETCHES", oidcop.FetchesMany,
		"a sign result: many (fetched again until the access token expires) or once (then 410 already_fetched) (§3 row 15)")
	str(&f.jweAlg, "oidc-jwe-alg", "MYNAPLAT_OIDC_JWE_ALG", string(jose.RSA_OAEP_256), "a sign result's key encryption to the PF key: RSA-OAEP-256, RSA-OAEP or RSA1_5 (§3 row 16)")
	str(&f.jweEnc, "oidc-jwe-enc", "MYNAPLAT_OIDC_JWE_ENC", string(jose.A256GCM),
		"a sign result's content encryption: A128GCM, A192GCM, A256GCM, A128CBC-HS256, A192CBC-HS384 or A256CBC-HS512 (§3 row 16)")
	b(&f.authzIss, "oidc-authz-iss", "MYNAPLAT_OIDC_AUTHZ_ISS", false, "send RFC 9207's iss in every authorization response (§3 row 8)")
	b(&f.keycloakExtras, "oidc-keycloak-extras", "MYNAPLAT_OIDC_KEYCLOAK_EXTRAS", true, "token answers carry refresh_expires_in, not-before-policy and session_state (§3 row 20)")
	str(&f.responseModes, "oidc-response-modes", "MYNAPLAT_OIDC_RESPONSE_MODES", oidcop.ModeQuery,
		"the response_mode values allowed: query, or query,form_post (§3 row 24)")
	str(&f.extraEndpoints, "oidc-extra-endpoints", "MYNAPLAT_OIDC_EXTRA_ENDPOINTS", "",
		"optional endpoints under private_key_jwt, comma-separated: revoke (RFC 7009), introspect (RFC 7662) (§3 row 19)")
	str(&f.unknownScopes, "oidc-unknown-scopes", "MYNAPLAT_OIDC_UNKNOWN_SCOPES", oidcop.ScopesRefuse, "an unknown scope value: refuse (invalid_scope) or ignore (§3 row 23)")
}

// config is the provider's configuration on data, with base as the
// default base URL.
func (f oidcFlags) config(data, base string) oidcop.Config {
	if f.baseURL != "" {
		base = f.baseURL
	}
	// The flag's 0 is "no cache", Config's negative (its 0 is the default).
	cacheTTL := f.clientCacheTTL
	if cacheTTL == 0 {
		cacheTTL = -1
	}
	var algs []jose.SignatureAlgorithm
	for _, a := range list(f.assertionAlgs) {
		algs = append(algs, jose.SignatureAlgorithm(a))
	}
	return oidcop.Config{KeyDir: filepath.Join(data, "oidc", "keys"), BaseURL: base, SigningAlg: jose.SignatureAlgorithm(f.signingAlg),
		CodeTTL: f.codeTTL, AccessTokenTTL: f.accessTTL, IDTokenTTL: f.idTTL, LoginTTL: f.loginTTL, RefreshTokenTTL: f.refreshTTL, SignTTL: f.signTTL,
		KeyRotation: f.keyRotation, PublishLead: f.publishLead, AssertionMaxLifetime: f.assertionMaxLifetime, ClockSkew: f.clockSkew,
		ClientCacheTTL:  cacheTTL,
		AttributeFormat: f.attributeFormat, NoSigningCert: f.noSigningCert,
		AssertionAlgs: algs, StrictAssertions: f.strictAssertions, RequireClientID: f.requireClientID, CCScopes: list(f.ccScopes),
		NoRefreshRotation: !f.refreshRotation, ACRUnknown: f.acrUnknown, NoACRClaim: !f.acrClaim, UnknownParams: f.unknownParams,
		UnknownScopes: f.unknownScopes, CardError: f.cardError, NoKeycloakExtras: !f.keycloakExtras, AuthzIss: f.authzIss,
		AttributeSubsets: f.attributeSubsets, AttributesInIDToken: f.attributesInIDToken,
		SignDigestFields: list(f.signDigestFields), SignIDField: f.signIDField, SignResultFetches: f.signResultFetches,
		ResponseModes: list(f.responseModes), ExtraEndpoints: list(f.extraEndpoints),
		JWEAlg: jose.KeyAlgorithm(f.jweAlg), JWEEnc: jose.ContentEncryption(f.jweEnc)}
}

// oidcConfig is the OpenID provider's role: the twin of the Digital
// Agency's デジタル認証アプリ for outside relying parties (issue 17). It
// keeps its clients, keys and grants in the database, so several instances
// behind a load balancer share everything.
type oidcConfig struct {
	cfg   oidcop.Config
	data  string
	peers *peers
	keys  callerKeys
}

func (c oidcConfig) validate() error {
	cfg := c.cfg
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("役割 oidc の設定の誤り / role oidc: %w (--oidc-base-url, --oidc-*)", err)
	}
	// The card page logs people in at the platform, which also says whose
	// a signing certificate is and records each release of attributes;
	// the centre checks signing certificates.
	var m missing
	m.peer(c.peers, rolePlatform, roleJPKI)
	m.key(c.keys, apiPlatform, roleOIDC)
	// The operator page's gate checks grants at the staff directory.
	m.key(c.keys, apiStaff, roleOIDC)
	return m.err(roleOIDC)
}

func (c oidcConfig) build(ctx context.Context, d *deps) (*built, error) {
	cfg := c.cfg
	cfg.DB, cfg.Logger, cfg.Now, cfg.Site = d.db, d.logger, time.Now, d.site
	cfg.Platform = d.platformClient(roleOIDC)
	p, err := oidcop.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := p.EnsureKeys(ctx); err != nil {
		return nil, err
	}
	d.svc.oidc = p
	h, err := p.Handler(ctx)
	if err != nil {
		return nil, err
	}
	// The token endpoint is a machine API: RPs' servers post to it, it
	// reads no cookie or session, and it authenticates its client per
	// request (private_key_jwt). Logout reads no session either and only
	// redirects to a registered URI.
	// The extra endpoints of §3 row 19, when on, are machine APIs too.
	for _, path := range p.MachinePaths() {
		d.site.MachineAPI("POST " + oidcop.RealmPath + path)
	}
	// The sign-transaction API authenticates by bearer token (§2.4).
	d.site.MachineAPI("POST " + oidcop.SignTransactionsPath)
	// The operator page (§4.5), behind the platform operator's staff gate.
	gate, err := staff.NewOfficeGate(d.staffGate(roleOIDC), oidcop.OperatorOffice())
	if err != nil {
		return nil, err
	}
	op, err := p.Operator(d.site, gate)
	if err != nil {
		return nil, err
	}
	lp := newLoops()
	lp.spawn(func() {
		every(lp.ctx, time.Minute, func(ctx context.Context) {
			if err := p.EnsureKeys(ctx); err != nil {
				d.logger.Error("oidc signing keys", "err", err)
			}
			if err := p.Maintain(ctx); err != nil {
				d.logger.Error("oidc maintenance", "err", err)
			}
		})
	})
	links := append(op.Links(), web.Link{Section: "窓口・管理 / Back office", TitleJA: "OpenID Connect（デジタル認証アプリ相当）", TitleEN: "OpenID Connect provider",
		DescJA: "外部サービス（RP）向けのカードログイン。ディスカバリ: " + p.Issuer() + "/.well-known/openid-configuration",
		DescEN: "Card login for outside services (RPs). Discovery: " + p.Issuer() + "/.well-known/openid-configuration",
		Path:   oidcop.RealmPath + "/.well-known/openid-configuration"})
	return &built{
		routes: func(mux *http.ServeMux) {
			mux.Handle(oidcop.RealmPath+"/", http.StripPrefix(oidcop.RealmPath, h))
			p.SignRoutes(mux)
			op.Routes(mux)
		},
		// The card page runs at the provider's terminal, whose
		// configuration the demo seeding (or mynaplat oidc terminal
		// register) writes: read after the seeding.
		pages: func(ctx context.Context, mux *http.ServeMux) ([]web.Link, error) {
			tcs, err := terminal.LoadConfigs(layout.OIDCTerminalDir(c.data))
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, err
			}
			if len(tcs) == 0 {
				d.logger.Warn("oidc: no terminal of kind app in " + layout.OIDCTerminalDir(c.data) + ": the card page is off (mynaplat oidc terminal register)")
				return links, nil
			}
			pu, hc := d.at(rolePlatform)
			// The signing certificate read for attributes is checked by
			// OCSP, or by the CA's CRL when acr_values has crl.
			signCA, jc, err := d.signingTrust(ctx)
			if err != nil {
				return nil, err
			}
			signing := &jpki.SigningVerifier{CA: signCA, OCSP: jc.OCSP, MaxAge: d.timing.maxAge,
				CRL: &jpki.CRLCache{CA: signCA, Fetch: jc.CRLFetcher(jpki.Sign), MaxAge: d.timing.maxAge, Logger: d.logger}}
			pages, err := p.Pages(oidcop.PagesConfig{Site: d.site, Cards: d.cards, Terminal: tcs[0], PlatformURL: pu, HTTP: hc, Signing: signing})
			if err != nil {
				return nil, err
			}
			pages.Routes(mux)
			return links, nil
		},
		close: lp.close(),
	}, nil
}
