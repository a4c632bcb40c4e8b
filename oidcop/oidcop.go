// Package oidcop is mynaplat's OpenID Provider: the twin of the Digital
// Agency's デジタル認証アプリ (issue 17, docs/oidc-provider.md). It owns the
// RP-facing protocol — OpenID Connect Core 1.0 with the authorization code
// flow, PKCE (RFC 7636, S256 only) and private_key_jwt client
// authentication (RFC 7523) — the card page, the registered clients and
// their keys, the provider's signing keys and their rollover, grants,
// tokens and sign transactions. It owns its tables (migrations/) and serves
// under /api/realms/main/ the paths of the real service, so an RP written
// for it changes only its base URL and keys.
//
// The protocol engine is github.com/zitadel/oidc/v3's op.Server: a small
// server type embeds *op.LegacyServer and overrides only the methods where
// the library's behaviour differs from the real service (the design
// record's §4.8): discovery, the JWKS cache header and, from slice 2 on, the
// authorization request rules, client authentication and the ID token's
// shape. Every choice the reference leaves open is a field of Config (the
// design record's §3), each default the documented one.
//
// Private key material never enters the database: a signing key is a file
// of internal/keydir, reached as a crypto.Signer.
package oidcop

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/mynaplat/mynaplat/internal/trace"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/web"
)

//go:embed migrations
var migrations embed.FS

// RealmPath is where the provider is mounted under its base URL; the issuer
// is the base URL joined to it, without a trailing slash (DAA §3, Obs IM).
const RealmPath = "/api/realms/main"

// The endpoints under the issuer (the real service's, DAA §3).
const (
	AuthPath     = "/protocol/openid-connect/auth"
	TokenPath    = "/protocol/openid-connect/token"
	UserinfoPath = "/protocol/openid-connect/userinfo"
	LogoutPath   = "/protocol/openid-connect/logout"
	CertsPath    = "/protocol/openid-connect/certs"
	// LoginPath is the card page's prefix (mynaplat's own, §4.2).
	LoginPath = "/login/"
)

// Scopes are the scope values an authorization request may carry (Pub AR).
var Scopes = []string{"openid", "name", "address", "birthdate", "gender", "sign"}

// Config is what Open needs. Zero durations take the defaults of the
// design record's §3.
type Config struct {
	DB *store.DB
	// KeyDir holds the provider's signing keys (DATA/oidc/keys).
	KeyDir string
	// BaseURL is the provider's external base URL (--oidc-base-url); the
	// issuer is BaseURL + RealmPath.
	BaseURL string
	// SigningAlg is the family of the provider's keys: ES256 (default) or RS256.
	SigningAlg jose.SignatureAlgorithm
	// KeyRotation is how long a key signs before the next one takes over
	// (0: only by Rotate); PublishLead is how long a new key is listed
	// before it signs.
	KeyRotation, PublishLead time.Duration
	// Lifetimes (§3 row 1).
	CodeTTL, AccessTokenTTL, IDTokenTTL, LoginTTL time.Duration
	// RefreshTokenTTL is each refresh token's lifetime (rotating: §3 row 5).
	RefreshTokenTTL time.Duration
	// SignTTL is how long a sign transaction waits for its signature (§3
	// row 15).
	SignTTL time.Duration
	// AssertionMaxLifetime bounds a client assertion's exp ahead of now;
	// ClockSkew is the leeway on exp, iat and nbf.
	AssertionMaxLifetime, ClockSkew time.Duration
	Now                             func() time.Time
	Logger                          *slog.Logger
	// AttributeFormat is FormatRaw (default) or FormatOIDC (§3 row 12).
	AttributeFormat string
	// NoSigningCert is what a card without a signing certificate gets when
	// attributes were asked: NoSignAsk (default) or NoSignRefuse (§3 row 13).
	NoSigningCert string
	// Platform is the platform's caller API: signer lookup and the audit
	// of each release of attributes.
	Platform PlatformCaller
	// ClientCacheTTL is how long a client and its keys, once read, are
	// used without reading them again (default DefaultClientCacheTTL;
	// negative: read on every request). A change made through this
	// Provider takes effect at once; one made by another instance or
	// process (the command line) within this bound. The provider's own
	// signing key schedule is kept as long, when PublishLead is longer
	// (a new key is listed that long before it signs).
	ClientCacheTTL time.Duration
	// Site, when set, renders the error page of an authorization request
	// that cannot go back to its RP (otherwise the library's JSON).
	Site *web.Site

	// The remaining knobs of §3; each zero value is the documented default.

	// AssertionAlgs are the client assertions' algorithms (§3 row 2;
	// default RS256 and ES256). StrictAssertions requires iat and kid and
	// bounds exp to StrictAssertionMaxLifetime.
	AssertionAlgs    []jose.SignatureAlgorithm
	StrictAssertions bool
	// RequireClientID refuses an assertion without client_id beside it
	// (§3 row 3).
	RequireClientID bool
	// CCScopes are the scope values client_credentials allows (§3 row 4;
	// default sign). Set it to an empty, non-nil slice to allow none.
	CCScopes []string
	// NoRefreshRotation keeps a refresh token valid until it expires
	// instead of rotating it on each use (§3 row 5).
	NoRefreshRotation bool
	// ACRUnknown is ACRIgnore (default) or ACRRefuse: an acr_values
	// value other than aal3 and crl (§3 row 6). NoACRClaim leaves acr out
	// of the ID token.
	ACRUnknown string
	NoACRClaim bool
	// UnknownParams is ParamsIgnore (default) or ParamsRefuse: an
	// authorization parameter the provider does not act on (§3 row 7).
	UnknownParams string
	// UnknownScopes is ScopesRefuse (default) or ScopesIgnore (§3 row 23).
	UnknownScopes string
	// CardError is the error code a card refusal gives the RP (§3 row 9;
	// default access_denied).
	CardError string
	// NoKeycloakExtras leaves refresh_expires_in, not-before-policy and
	// session_state out of token answers (§3 row 20).
	NoKeycloakExtras bool
	// SignDigestFields are the sign-transaction body's digest fields, the
	// first present one read (§3 row 14; default digest, hash);
	// SignIDField names the answer's ID field (default sign_transaction_id).
	SignDigestFields []string
	SignIDField      string
	// AttributeSubsets is SubsetsAllow (default: consent per attribute) or
	// SubsetsAllOrNone (the attributes asked are given together or not at
	// all) (§3 row 10).
	AttributeSubsets string
	// AttributesInIDToken puts the consented attributes in the ID token
	// too; each ID token with attributes is then a disclosure, recorded at
	// the platform as UserInfo answers are (§3 row 11).
	AttributesInIDToken bool
	// ResponseModes are the response_mode values allowed: query (always)
	// and form_post (§3 row 24).
	ResponseModes []string
	// ExtraEndpoints are the optional endpoints served: EndpointRevoke
	// (RFC 7009), EndpointIntrospect (RFC 7662) (§3 row 19; default none).
	ExtraEndpoints []string
	// AuthzIss adds RFC 9207's iss to every authorization response, code
	// or error (§3 row 8).
	AuthzIss bool
	// SignResultFetches is FetchesMany (default: until the grant's access
	// token expires) or FetchesOnce (§3 row 15).
	SignResultFetches string
	// JWEAlg and JWEEnc encrypt sign results to a PF key (§3 row 16;
	// default RSA-OAEP-256 and A256GCM).
	JWEAlg jose.KeyAlgorithm
	JWEEnc jose.ContentEncryption
}

// The values of the string knobs.
const (
	ACRIgnore        = "ignore"
	ACRRefuse        = "refuse"
	ParamsIgnore     = "ignore"
	ParamsRefuse     = "refuse"
	ScopesRefuse     = "refuse"
	ScopesIgnore     = "ignore"
	SubsetsAllow     = "allow"
	SubsetsAllOrNone = "all-or-none"
	FetchesMany      = "many"
	FetchesOnce      = "once"
	ModeQuery        = "query"
	ModeFormPost     = "form_post"
)

// StrictAssertionMaxLifetime bounds a client assertion's exp ahead of now
// under StrictAssertions (§3 row 2).
const StrictAssertionMaxLifetime = 5 * time.Minute

// CardErrors are the error codes --oidc-card-error may name (RFC 6749
// §4.1.2.1, OpenID Connect Core §3.1.2.6).
var CardErrors = []string{"access_denied", "login_required", "interaction_required", "invalid_request", "server_error"}

// JWE algorithms a PF key (RSA) can take, and the content encryptions.
var (
	JWEAlgs = []jose.KeyAlgorithm{jose.RSA_OAEP_256, jose.RSA_OAEP, jose.RSA1_5}
	JWEEncs = []jose.ContentEncryption{jose.A128GCM, jose.A192GCM, jose.A256GCM, jose.A128CBC_HS256, jose.A192CBC_HS384, jose.A256CBC_HS512}
)

// The defaults of §3.
const (
	DefaultCodeTTL              = 60 * time.Second
	DefaultAccessTokenTTL       = 5 * time.Minute
	DefaultIDTokenTTL           = 5 * time.Minute
	DefaultLoginTTL             = 10 * time.Minute
	DefaultRefreshTokenTTL      = 30 * time.Minute
	DefaultKeyRotation          = 30 * 24 * time.Hour
	DefaultPublishLead          = 10 * time.Minute
	DefaultAssertionMaxLifetime = 24 * time.Hour
	DefaultClockSkew            = 60 * time.Second
	DefaultClientCacheTTL       = time.Second
)

// Validate checks a configuration before anything opens; it fills in the
// defaults.
func (c *Config) Validate() error {
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("oidcop: the base URL %q is not an absolute http(s) URL", c.BaseURL)
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	switch c.SigningAlg {
	case "":
		c.SigningAlg = jose.ES256
	case jose.ES256, jose.RS256:
	default:
		return fmt.Errorf("oidcop: signing algorithm %q: ES256 or RS256", c.SigningAlg)
	}
	switch c.AttributeFormat {
	case "":
		c.AttributeFormat = FormatRaw
	case FormatRaw, FormatOIDC:
	default:
		return fmt.Errorf("oidcop: attribute format %q: raw or oidc", c.AttributeFormat)
	}
	switch c.NoSigningCert {
	case "":
		c.NoSigningCert = NoSignAsk
	case NoSignAsk, NoSignRefuse:
	default:
		return fmt.Errorf("oidcop: no-signing-cert %q: ask or refuse", c.NoSigningCert)
	}
	if err := c.validateKnobs(); err != nil {
		return err
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.CodeTTL, DefaultCodeTTL)
	def(&c.AccessTokenTTL, DefaultAccessTokenTTL)
	def(&c.IDTokenTTL, DefaultIDTokenTTL)
	def(&c.LoginTTL, DefaultLoginTTL)
	def(&c.RefreshTokenTTL, DefaultRefreshTokenTTL)
	def(&c.SignTTL, DefaultSignTTL)
	def(&c.PublishLead, DefaultPublishLead)
	def(&c.AssertionMaxLifetime, DefaultAssertionMaxLifetime)
	def(&c.ClockSkew, DefaultClockSkew)
	def(&c.ClientCacheTTL, DefaultClientCacheTTL)
	for name, d := range map[string]time.Duration{"code TTL": c.CodeTTL, "access token TTL": c.AccessTokenTTL,
		"ID token TTL": c.IDTokenTTL, "login TTL": c.LoginTTL, "refresh token TTL": c.RefreshTokenTTL, "sign TTL": c.SignTTL, "publish lead": c.PublishLead,
		"assertion max lifetime": c.AssertionMaxLifetime, "clock skew": c.ClockSkew, "key rotation": c.KeyRotation + 1} {
		if d < 0 {
			return fmt.Errorf("oidcop: the %s is negative", name)
		}
	}
	if c.KeyRotation != 0 && c.KeyRotation <= c.PublishLead {
		return fmt.Errorf("oidcop: the key rotation (%v) must be longer than the publish lead (%v)", c.KeyRotation, c.PublishLead)
	}
	return nil
}

// validateKnobs checks and defaults the knobs of §3 rows 2–24.
func (c *Config) validateKnobs() error {
	if c.AssertionAlgs == nil {
		c.AssertionAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.ES256}
	}
	if len(c.AssertionAlgs) == 0 {
		return errors.New("oidcop: クライアントアサーションのアルゴリズムがありません（RS256、ES256） / no assertion algorithm: RS256, ES256 or both")
	}
	for _, a := range c.AssertionAlgs {
		if a != jose.RS256 && a != jose.ES256 {
			return fmt.Errorf("oidcop: クライアントアサーションのアルゴリズム %q は使えません（RS256、ES256） / assertion algorithm %q: RS256 or ES256", a, a)
		}
	}
	if len(c.ResponseModes) == 0 {
		c.ResponseModes = []string{ModeQuery}
	}
	for _, m := range c.ResponseModes {
		if m != ModeQuery && m != ModeFormPost {
			return fmt.Errorf("oidcop: response_mode %q は使えません（query、form_post） / response mode %q: query or form_post", m, m)
		}
	}
	if !slices.Contains(c.ResponseModes, ModeQuery) {
		return errors.New("oidcop: response_mode には query が必要です（拒否は常に query で返します） / the response modes must include query (refusals always go in the query)")
	}
	for _, e := range c.ExtraEndpoints {
		if e != EndpointRevoke && e != EndpointIntrospect {
			return fmt.Errorf("oidcop: 追加エンドポイント %q はありません（revoke、introspect） / extra endpoint %q: revoke or introspect", e, e)
		}
	}
	if c.CCScopes == nil {
		c.CCScopes = []string{"sign"}
	}
	for _, s := range c.CCScopes {
		if s != "sign" {
			return fmt.Errorf("oidcop: client_credentials のスコープ %q は使えません（sign のみ） / client-credentials scope %q: only sign has a use", s, s)
		}
	}
	oneOf := func(name string, v *string, def string, allowed ...string) error {
		if *v == "" {
			*v = def
		}
		if !slices.Contains(allowed, *v) {
			return fmt.Errorf("oidcop: %s の値 %q は使えません（%s） / %s %q: one of %s", name, *v, strings.Join(allowed, "、"), name, *v, strings.Join(allowed, ", "))
		}
		return nil
	}
	if err := oneOf("acr-unknown", &c.ACRUnknown, ACRIgnore, ACRIgnore, ACRRefuse); err != nil {
		return err
	}
	if err := oneOf("unknown-params", &c.UnknownParams, ParamsIgnore, ParamsIgnore, ParamsRefuse); err != nil {
		return err
	}
	if err := oneOf("unknown-scopes", &c.UnknownScopes, ScopesRefuse, ScopesRefuse, ScopesIgnore); err != nil {
		return err
	}
	if err := oneOf("attribute-subsets", &c.AttributeSubsets, SubsetsAllow, SubsetsAllow, SubsetsAllOrNone); err != nil {
		return err
	}
	if err := oneOf("sign-result-fetches", &c.SignResultFetches, FetchesMany, FetchesMany, FetchesOnce); err != nil {
		return err
	}
	if err := oneOf("card-error", &c.CardError, "access_denied", CardErrors...); err != nil {
		return err
	}
	if c.SignDigestFields == nil {
		c.SignDigestFields = []string{"digest", "hash"}
	}
	if len(c.SignDigestFields) == 0 {
		return errors.New("oidcop: 署名トランザクションのダイジェスト欄がありません / no sign digest field")
	}
	if c.SignIDField == "" {
		c.SignIDField = "sign_transaction_id"
	}
	for _, f := range append(slices.Clone(c.SignDigestFields), c.SignIDField) {
		if !jsonField.MatchString(f) {
			return fmt.Errorf("oidcop: 署名トランザクションの欄名 %q は [A-Za-z0-9_] の1〜64文字にしてください / sign field %q: 1-64 characters of [A-Za-z0-9_]", f, f)
		}
	}
	if c.JWEAlg == "" {
		c.JWEAlg = jose.RSA_OAEP_256
	}
	if !slices.Contains(JWEAlgs, c.JWEAlg) {
		return fmt.Errorf("oidcop: JWE の鍵暗号 %q は使えません（RSA-OAEP-256、RSA-OAEP、RSA1_5） / JWE algorithm %q: one of RSA-OAEP-256, RSA-OAEP, RSA1_5", c.JWEAlg, c.JWEAlg)
	}
	if c.JWEEnc == "" {
		c.JWEEnc = jose.A256GCM
	}
	if !slices.Contains(JWEEncs, c.JWEEnc) {
		return fmt.Errorf("oidcop: JWE の内容暗号 %q は使えません（A128GCM、A192GCM、A256GCM、A128CBC-HS256、A192CBC-HS384、A256CBC-HS512） / JWE encryption %q: one of A128GCM, A192GCM, A256GCM, A128CBC-HS256, A192CBC-HS384, A256CBC-HS512", c.JWEEnc, c.JWEEnc)
	}
	return nil
}

var jsonField = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`)

// Provider is the OpenID provider.
type Provider struct {
	cfg    Config
	db     *store.DB
	now    func() time.Time
	logger *slog.Logger
	keys   *keyRing
	// clientCache keeps clients read by Client for Config.ClientCacheTTL.
	clientCache clientCache
	// secrets keeps what secret read: a secret, once made, never
	// changes (name → []byte).
	secrets sync.Map
	// pages is the card page, once Pages made it.
	pages *Pages
}

// Open validates cfg, migrates the provider's tables and returns it. It
// makes no signing key: EnsureKeys does.
func Open(ctx context.Context, cfg Config) (*Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	mfs, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	if err := cfg.DB.Migrate(ctx, "oidcop", mfs); err != nil {
		return nil, fmt.Errorf("oidcop: migrate: %w", err)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	p := &Provider{cfg: cfg, db: cfg.DB, now: cfg.Now, logger: cfg.Logger}
	p.keys = &keyRing{db: cfg.DB, dir: cfg.KeyDir, alg: cfg.SigningAlg, now: cfg.Now, lead: cfg.PublishLead,
		rotation: cfg.KeyRotation, keep: max(cfg.AccessTokenTTL, cfg.IDTokenTTL), ttl: cfg.ClientCacheTTL}
	return p, nil
}

// Issuer is the provider's issuer, BaseURL + RealmPath.
func (p *Provider) Issuer() string { return p.cfg.BaseURL + RealmPath }

func newID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// ms is t in Unix milliseconds, the tables' time unit.
func ms(t time.Time) int64 { return t.UnixMilli() }

// audit writes one oidc_audit row. reason names a refusal's code or what
// was changed and by whom; never a token, a PIN or an attribute value.
func (p *Provider) audit(ctx context.Context, q execer, clientID, personID, action, result, reason string) error {
	args := []any{newID(), ms(p.now()), clientID, personID, action, result, reason, trace.ID(ctx)}
	var err error
	if tx, ok := q.(*sql.Tx); ok {
		// Every flow's transaction writes one: the cached statement, not a parse.
		_, err = p.db.TxExec(ctx, tx, qInsertAudit, args...)
	} else {
		_, err = q.ExecContext(ctx, qInsertAudit, args...)
	}
	if err != nil {
		return fmt.Errorf("oidcop: audit: %w", err)
	}
	return nil
}

// execer is a *sql.Tx or a *sql.DB.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// AuditEntry is one row of the provider's audit.
type AuditEntry struct {
	At                                         time.Time
	ClientID, PersonID, Action, Result, Reason string
}

// Audit is the newest limit rows of the audit, of one client ("" all).
func (p *Provider) Audit(ctx context.Context, clientID string, limit int) ([]AuditEntry, error) {
	rows, err := p.db.QueryContext(ctx, qSelectAudit, clientID, limit)
	if err != nil {
		return nil, fmt.Errorf("oidcop: audit: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at int64
		if err := rows.Scan(&at, &e.ClientID, &e.PersonID, &e.Action, &e.Result, &e.Reason); err != nil {
			return nil, err
		}
		e.At = time.UnixMilli(at)
		out = append(out, e)
	}
	return out, rows.Err()
}
