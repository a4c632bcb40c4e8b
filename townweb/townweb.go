// Package townweb is 須坂市's web site, "my notices": the first demo
// relying party of mynaplat's OpenID provider (issue 17 §2,
// docs/oidc-provider.md §5 step 5). It is written as an outside client of
// the real デジタル認証アプリ would be: it reaches the provider only over
// HTTP, with golang.org/x/oauth2 and github.com/coreos/go-oidc/v3 —
// discovery from the issuer URL (OpenID Connect Discovery 1.0), the
// authorization code flow with state, nonce and PKCE S256 (RFC 7636),
// acr_values=aal3, private_key_jwt client authentication (RFC 7523 §2.2,
// OpenID Connect Core §9), the ID token checked by go-oidc's verifier, and
// RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0). It imports
// no provider or platform package: only the site's look (web) and its own
// tables (store), so that what it does is what any outside RP can do by
// changing only its host and keys.
//
// Its residents are known by the provider's pairwise sub only. The topics
// they follow, the town's notices and what they have read are its own
// tables (migrations/).
package townweb

import (
	"context"
	"crypto"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/internal/oidcrp"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/web"
)

//go:embed migrations
var migrations embed.FS

//go:embed templates
var templates embed.FS

// Home is where the site is served; the other paths are under it.
const Home = "/town/suzaka/"

// The site's paths under Home that the provider's client registration
// names: the redirect URI and the post-logout redirect URI.
const (
	CallbackPath  = "callback"
	LoggedOutPath = "logged-out"
)

// Config is what Open needs.
type Config struct {
	DB     *store.DB
	Site   *web.Site
	Logger *slog.Logger
	Now    func() time.Time
	// Issuer is the provider's issuer URL; discovery is at Issuer +
	// /.well-known/openid-configuration.
	Issuer string
	// ClientID is the site's client ID at the provider (RP00000001 in the
	// demo).
	ClientID string
	// Key signs the client assertions: an ECDSA P-256 key (ES256) or RSA
	// (RS256), whose public key the operator registered for ClientID.
	Key crypto.Signer
	// BaseURL is the site's own external base URL: the redirect URI is
	// BaseURL + Home + CallbackPath.
	BaseURL string
	// HTTP reaches the provider (it must have a timeout).
	HTTP *http.Client
	// Scopes are asked for besides openid (e.g. "name"); the site greets
	// by name only when the provider grants it.
	Scopes []string
}

// Town is the site.
type Town struct {
	cfg   Config
	db    *store.DB
	site  *web.Site
	log   *slog.Logger
	now   func() time.Time
	pages *web.Pages
	// rp is the site's client of the provider (discovery at the first
	// login, the provider may start after the site).
	rp *oidcrp.Client
}

// Open validates cfg, migrates the site's tables and parses its pages.
func Open(ctx context.Context, cfg Config) (*Town, error) {
	if cfg.DB == nil || cfg.Site == nil || cfg.Key == nil || cfg.HTTP == nil {
		return nil, errors.New("townweb: DB, Site, Key and HTTP are required")
	}
	// oidcrp.New checks the issuer, the redirect URI (and so the base URL)
	// and the client ID.
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	rp, err := oidcrp.New(oidcrp.Config{Issuer: cfg.Issuer, ClientID: cfg.ClientID, Key: cfg.Key,
		RedirectURI: cfg.BaseURL + Home + CallbackPath, HTTP: cfg.HTTP, Now: cfg.Now})
	if err != nil {
		return nil, fmt.Errorf("townweb: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	mfs, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	if err := cfg.DB.Migrate(ctx, "townweb", mfs); err != nil {
		return nil, fmt.Errorf("townweb: migrate: %w", err)
	}
	pages, err := cfg.Site.Parse(templates, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("townweb: pages: %w", err)
	}
	return &Town{cfg: cfg, db: cfg.DB, site: cfg.Site, log: cfg.Logger, now: cfg.Now, pages: pages, rp: rp}, nil
}

// RedirectURI is the site's redirect URI, to register at the provider.
func (t *Town) RedirectURI() string { return t.cfg.BaseURL + Home + CallbackPath }

// PostLogoutURI is where the provider sends a resident after logout, to
// register at the provider.
func (t *Town) PostLogoutURI() string { return t.cfg.BaseURL + Home + LoggedOutPath }

// Routes registers the site's pages.
func (t *Town) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+Home+"{$}", t.top)
	mux.HandleFunc("GET "+Home+"login", t.startLogin)
	mux.HandleFunc("GET "+Home+CallbackPath, t.callback)
	mux.HandleFunc("GET "+Home+LoggedOutPath, t.loggedOut)
	mux.HandleFunc("GET "+Home+"my", t.my)
	mux.HandleFunc("GET "+Home+"topics", t.topics)
	mux.HandleFunc("POST "+Home+"topics", t.saveTopics)
	mux.HandleFunc("POST "+Home+"notices/{id}/read", t.markRead)
	mux.HandleFunc("POST "+Home+"logout", t.logout)
}

// PublicKey is the public half of the site's key, which the operator
// registers for its client ID.
func (t *Town) PublicKey() crypto.PublicKey { return t.cfg.Key.Public() }
