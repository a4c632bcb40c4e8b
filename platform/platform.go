package platform

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"

	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/internal/ratelimit"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/store"
)

//go:embed migrations
var migrations embed.FS

// Errors of the platform; the HTTP edge maps them.
var (
	ErrInvalid          = errors.New("platform: invalid request")
	ErrUnknownTerminal  = errors.New("platform: unknown terminal or bad terminal credentials")
	ErrTerminalDisabled = errors.New("platform: terminal disabled")
	ErrNotFound         = errors.New("platform: not found")
	ErrBadAssertion     = errors.New("platform: assertion not valid")
	// ErrClosed: the platform is shutting down (Close).
	ErrClosed = errors.New("platform: closed")
)

// Bodies the API cannot read.
var (
	errAuthBody     = fmt.Errorf("%w: malformed authentication", ErrInvalid)
	errDeferredBody = fmt.Errorf("%w: malformed deferred authentication", ErrInvalid)
)

// The platform API's problem codes.
const (
	CodeTerminalDisabled httpapi.Code = "terminal_disabled"
	CodeUnknownTerminal  httpapi.Code = "unknown_terminal"
	CodeInvalid          httpapi.Code = "invalid"
	CodeUnauthorized     httpapi.Code = "unauthorized"
)

// Rules answers the platform's errors on its API, and maps the answers back
// to the sentinels in TerminalClient.
var Rules = httpapi.Rules{
	{Err: ErrTerminalDisabled, Status: http.StatusForbidden, Code: CodeTerminalDisabled,
		JA: "この端末は利用停止中です。設置者にお問い合わせください。", EN: "This terminal is disabled; contact its operator."},
	{Err: ErrUnknownTerminal, Status: http.StatusUnauthorized, Code: CodeUnknownTerminal,
		JA: "登録されていない端末、または端末の認証情報が正しくありません。", EN: "Unknown terminal or bad terminal credentials."},
	{Err: errAuthBody, Status: http.StatusBadRequest, Code: CodeInvalid,
		JA: "要求の形式が正しくありません（challenge_id, certificate, signature が必要です）。",
		EN: "Malformed request: challenge_id, certificate and signature are required."},
	{Err: errDeferredBody, Status: http.StatusBadRequest, Code: CodeInvalid,
		JA: "要求の形式が正しくありません（id, signed_at, nonce, certificate, signature が必要です）。",
		EN: "Malformed request: id, signed_at, nonce, certificate and signature are required."},
	{Err: errPINRefusalBody, Status: http.StatusBadRequest, Code: CodeInvalid, Detail: true,
		JA: "要求の形式が正しくありません（certificate, pin（auth または sign）, result（PIN_WRONG または PIN_BLOCKED）, 結果に合う tries_left が必要です）。",
		EN: "Malformed request: certificate, pin (auth or sign), result (PIN_WRONG or PIN_BLOCKED) and tries_left fitting the result are required."},
	{Err: ErrNotAuthCertificate, Status: http.StatusBadRequest, Code: CodeUnknownIssuer,
		JA: "この証明書は公的個人認証サービスの利用者証明用電子証明書ではありません。何も記録していません。",
		EN: "The certificate is not a JPKI user authentication certificate. Nothing was recorded."},
	{Err: ErrInvalid, Status: http.StatusBadRequest, Code: CodeInvalid, Detail: true,
		JA: "要求の内容に誤りがあります。", EN: "Invalid request."},
	{Err: ErrBadAssertion, Status: http.StatusUnauthorized, Code: CodeUnauthorized,
		JA: "カードでログインしてください。", EN: "Log in with your card first."},
	// A refusal answers with its own seconds and Retry-After (Limits).
	ratelimit.Rule,
}

// Config holds what the platform needs.
type Config struct {
	DB *store.DB
	// Centre is the client of the JPKI centre, with an operator token for
	// linkage records.
	Centre *jpki.Client
	// AuthCA is the trusted 利用者証明用 CA. When nil it is fetched from the
	// centre at Open (trust on first use of the configured centre URL).
	AuthCA *x509.Certificate
	// SignCA is the trusted 署名用 CA, for SignerPerson; fetched like AuthCA.
	SignCA *x509.Certificate
	// Issuer names the platform in assertions (its base URL).
	Issuer string
	// ChallengeTTL is how long a challenge may be answered (at most 2 min).
	ChallengeTTL time.Duration
	// RevocationMaxAge is the freshness bound: a CRL not confirmed by the
	// centre within it, or an OCSP answer older than it, is not relied on.
	RevocationMaxAge time.Duration
	// AssertionTTL is the lifetime of an assertion (default 5 min).
	AssertionTTL time.Duration
	// KeyRotation is how often the assertion key is replaced (default 24h).
	KeyRotation time.Duration
	Now         func() time.Time
	Logger      *slog.Logger
	// Metrics, when set, receives the authentication counters.
	Metrics prometheus.Registerer
	// Limits are the API's rate limits (DefaultLimits when nil).
	Limits *Limits
}

// MaxChallengeTTL is the longest a challenge may live.
const MaxChallengeTTL = 2 * time.Minute

// Platform is the common platform.
type Platform struct {
	db           *store.DB
	centre       *jpki.Client
	ca           *x509.Certificate
	signCA       *x509.Certificate
	issuedBy     string // the chain check's report line, made once
	issuer       string
	challengeTTL time.Duration
	assertionTTL time.Duration
	keyRotation  time.Duration
	now          func() time.Time
	logger       *slog.Logger
	rev          *revocation
	terminals    terminalCache
	leaves       leafCache
	keys         keyring
	persons      personCache
	resolving    singleflight.Group
	stmts        *statements
	commit       *committer
	results      *prometheus.CounterVec
	latency      prometheus.Histogram
	limits       *limiter
}

// Open migrates the platform's tables, loads its signing keys and the trust
// anchor, and fetches the CRL once (a failure there only logs: the CRL is
// retried on schedule and OCSP covers the gap).
func Open(ctx context.Context, cfg Config) (*Platform, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ChallengeTTL <= 0 || cfg.ChallengeTTL > MaxChallengeTTL {
		cfg.ChallengeTTL = MaxChallengeTTL
	}
	if cfg.RevocationMaxAge <= 0 {
		cfg.RevocationMaxAge = 10 * time.Minute
	}
	if cfg.AssertionTTL <= 0 {
		cfg.AssertionTTL = 5 * time.Minute
	}
	if cfg.KeyRotation <= 0 {
		cfg.KeyRotation = 24 * time.Hour
	}
	if cfg.Limits == nil {
		l := DefaultLimits()
		cfg.Limits = &l
	}
	mfs, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	if err := cfg.DB.Migrate(ctx, "platform", mfs); err != nil {
		return nil, err
	}
	ca := cfg.AuthCA
	if ca == nil {
		if ca, err = cfg.Centre.CACertificate(ctx, jpki.Auth); err != nil {
			return nil, fmt.Errorf("platform: fetch the 利用者証明用 CA: %w", err)
		}
	}
	signCA := cfg.SignCA
	if signCA == nil {
		if signCA, err = cfg.Centre.CACertificate(ctx, jpki.Sign); err != nil {
			return nil, fmt.Errorf("platform: fetch the 署名用 CA: %w", err)
		}
	}
	p := &Platform{db: cfg.DB, centre: cfg.Centre, ca: ca, signCA: signCA, issuedBy: "issued by " + ca.Subject.String(), issuer: cfg.Issuer,
		challengeTTL: cfg.ChallengeTTL, assertionTTL: cfg.AssertionTTL, keyRotation: cfg.KeyRotation,
		now: cfg.Now, logger: cfg.Logger,
		terminals: terminalCache{ttl: 2 * time.Second, m: map[string]cachedTerminal{}},
		leaves:    leafCache{m: map[[32]byte]*x509.Certificate{}},
		persons:   personCache{m: map[string]string{}},
		limits:    newLimiter(*cfg.Limits, cfg.Now),
	}
	if p.stmts, err = prepare(ctx, cfg.DB); err != nil {
		return nil, err
	}
	// SQLite has one writer, so one group committer; PostgreSQL takes
	// several transactions at once.
	writers := 1
	if cfg.DB.Dialect == store.Postgres {
		writers = 4
	}
	p.commit = newCommitter(cfg.DB, cfg.Now, p.stmts, writers)
	p.results = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mynaplat_platform_authentications_total",
		Help: "Card-holder authentications by result and reason."}, []string{"result", "reason"})
	p.latency = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "mynaplat_platform_authentication_seconds",
		Help: "Time to verify an authentication.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 12)})
	if cfg.Metrics != nil {
		for _, c := range []prometheus.Collector{p.results, p.latency} {
			if err := cfg.Metrics.Register(c); err != nil {
				return nil, fmt.Errorf("platform: metrics: %w", err)
			}
		}
	}
	p.rev = &revocation{crl: &jpki.CRLCache{CA: ca, Fetch: cfg.Centre.CRLFetcher(jpki.Auth), MaxAge: cfg.RevocationMaxAge, Now: cfg.Now, Logger: cfg.Logger},
		centre: cfg.Centre, ca: ca, now: cfg.Now, maxAge: cfg.RevocationMaxAge}
	if err := p.RotateKeys(ctx); err != nil {
		return nil, err
	}
	if err := p.rev.crl.Refresh(ctx); err != nil {
		p.logger.WarnContext(ctx, "first CRL fetch failed; OCSP will be used until it works", "err", err)
	}
	return p, nil
}

// RefreshCRL fetches the CRL if it changed. The server calls it every few
// seconds; with a conditional GET that costs the centre almost nothing.
func (p *Platform) RefreshCRL(ctx context.Context) error { return p.rev.crl.Refresh(ctx) }

// CRLStatus reports the CRL cache's state.
func (p *Platform) CRLStatus() (number int64, fetchedAt time.Time, ok bool) {
	return p.rev.crl.Status()
}

// Maintain deletes challenges long past their expiry.
func (p *Platform) Maintain(ctx context.Context) error {
	_, err := p.db.Write(ctx, qDeleteOldChallenges, p.now().Add(-time.Hour).UnixMilli())
	if err != nil {
		return fmt.Errorf("platform: delete old challenges: %w", err)
	}
	return nil
}

func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// leafCache remembers certificates already parsed and found issued by the
// CA, so the hot path neither parses them again nor checks the CA's
// signature again: it does one RSA verification, the challenge signature.
// Keyed by SHA-256 of the DER; bounded.
type leafCache struct {
	mu sync.RWMutex
	m  map[[32]byte]*x509.Certificate
}

const maxLeafCache = 200_000

func (c *leafCache) get(k [32]byte) *x509.Certificate {
	c.mu.RLock()
	cert := c.m[k]
	c.mu.RUnlock()
	return cert
}

func (c *leafCache) add(k [32]byte, cert *x509.Certificate) {
	c.mu.Lock()
	if len(c.m) >= maxLeafCache {
		clear(c.m)
	}
	c.m[k] = cert
	c.mu.Unlock()
}

// Close stops the group-commit writers once every queued authentication is
// written; an authentication after Close is ErrClosed. Call it after the
// HTTP server has finished its requests, before the database closes.
func (p *Platform) Close() error {
	p.commit.close()
	return nil
}
