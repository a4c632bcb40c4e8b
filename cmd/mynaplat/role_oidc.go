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
	attributeFormat, noSigningCert      string
}

// envDuration is the duration in env name, or def when it is unset or not
// a duration (the flag then says so when it is parsed from its default).
func envDuration(name string, def time.Duration) time.Duration {
	if v := os.Getenv(name); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
	}
	return def
}

func (f *oidcFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.baseURL, "oidc-base-url", os.Getenv("MYNAPLAT_OIDC_BASE_URL"),
		"the OpenID provider's external base URL; the issuer is it + "+oidcop.RealmPath+" (default --base-url)")
	fs.StringVar(&f.signingAlg, "oidc-signing-alg", envOr("MYNAPLAT_OIDC_SIGNING_ALG", "ES256"), "the provider's key family: ES256 or RS256 (ID and access tokens)")
	d := func(p *time.Duration, name, env string, def time.Duration, usage string) {
		fs.DurationVar(p, name, envDuration(env, def), usage+"; env "+env)
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
}

// config is the provider's configuration on data, with base as the
// default base URL.
func (f oidcFlags) config(data, base string) oidcop.Config {
	if f.baseURL != "" {
		base = f.baseURL
	}
	return oidcop.Config{KeyDir: filepath.Join(data, "oidc", "keys"), BaseURL: base, SigningAlg: jose.SignatureAlgorithm(f.signingAlg),
		CodeTTL: f.codeTTL, AccessTokenTTL: f.accessTTL, IDTokenTTL: f.idTTL, LoginTTL: f.loginTTL, RefreshTokenTTL: f.refreshTTL, SignTTL: f.signTTL,
		KeyRotation: f.keyRotation, PublishLead: f.publishLead, AssertionMaxLifetime: f.assertionMaxLifetime, ClockSkew: f.clockSkew,
		AttributeFormat: f.attributeFormat, NoSigningCert: f.noSigningCert}
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
	d.site.MachineAPI("POST " + oidcop.RealmPath + oidcop.TokenPath)
	d.site.MachineAPI("POST " + oidcop.RealmPath + oidcop.LogoutPath)
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
