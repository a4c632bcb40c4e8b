// Package nissayweb is 日本生命's customer page: the second demo relying
// party of mynaplat's OpenID provider (issue 17 §2, docs/oidc-provider.md
// §5.2). Like townweb it is written as an outside client of the real
// デジタル認証アプリ: it reaches the provider only over HTTP with
// golang.org/x/oauth2 and github.com/coreos/go-oidc/v3 through
// internal/oidcrp, the client both demo RPs share (discovery, the
// authorization code flow with state, nonce, PKCE S256 and
// acr_values=aal3, private_key_jwt client authentication per RFC 7523) and
// go-jose for the assertion and the signing result's JWE.
//
// A customer logs in with the card, consenting to name, address and
// birthdate; the page matches them to 日本生命's own customer record by the
// card's name and birth date (never typed) and remembers the pairwise sub
// as the link. The customer then changes their address by an e-signed
// 住所変更届: the page builds the document, starts a sign transaction with
// its SHA-256 (client-credentials token, POST /api/sign-transactions),
// sends the customer to the provider with scope "openid sign" and
// sign_transaction_id, fetches the result, decrypts it with its PF key
// (日本生命 acts as its own platform operator in the demo), checks the
// signature over its digest with the certificate, and has the certificate's
// chain and revocation checked by 日本生命's own verifier (Config.CheckCert,
// the one its moving-notice path uses). The address changes once per sign
// transaction.
//
// It imports no provider, platform, JPKI or card package (internal/archtest
// TestOutsideRPsImportNoProvider); the customer records and the verifier
// are passed in.
package nissayweb

import (
	"context"
	"crypto"
	"crypto/x509"
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

// Home is where the page is served.
const Home = "/nissay/"

// CallbackPath is the page's redirect URI under Home, and LoggedOutPath
// its post-logout redirect URI.
const (
	CallbackPath  = "callback"
	LoggedOutPath = "logged-out"
)

const (
	// signTransactionsPath is the provider's sign-transaction API (DAA 8),
	// at the provider's base URL: the issuer without its realm path.
	signTransactionsPath = "/api/sign-transactions"
	realmSuffix          = "/api/realms/main"
)

// Customer is 日本生命's record of a customer, as the page sees it.
type Customer struct {
	Ref, Name, Address string
}

// ErrNoCustomer is a person who is none (or more than one) of the
// customers.
var ErrNoCustomer = errors.New("nissayweb: no such customer")

// Customers are 日本生命's customer records.
type Customers interface {
	// Match finds the one customer with this name and birth date (from
	// the card), or ErrNoCustomer.
	Match(ctx context.Context, name string, birth time.Time) (Customer, error)
	// Get returns a customer by number.
	Get(ctx context.Context, ref string) (Customer, error)
	// ChangeAddress applies a signed change once per changeID and says
	// whether this call applied it.
	ChangeAddress(ctx context.Context, ref, changeID, newAddress, signerSerial string, signedAt time.Time) (bool, error)
}

// Config is what Open needs.
type Config struct {
	DB     *store.DB
	Site   *web.Site
	Logger *slog.Logger
	Now    func() time.Time
	// Issuer is the provider's issuer URL (…/api/realms/main).
	Issuer string
	// ClientID is the page's client ID (RP00000002 in the demo).
	ClientID string
	// Key signs the client assertions (ECDSA P-256 or RSA).
	Key crypto.Signer
	// PFKey decrypts the signing results: the RSA key whose public half is
	// registered as the client's PF key.
	PFKey crypto.Decrypter
	// BaseURL is the page's own external base URL.
	BaseURL string
	// HTTP reaches the provider (it must have a timeout).
	HTTP *http.Client
	// Customers are 日本生命's records.
	Customers Customers
	// CheckCert checks a signing certificate's chain and revocation at now:
	// 日本生命's own verifier, as a real PF has its own.
	CheckCert func(ctx context.Context, cert *x509.Certificate, now time.Time) error
}

// Page is the customer page.
type Page struct {
	cfg   Config
	db    *store.DB
	site  *web.Site
	log   *slog.Logger
	now   func() time.Time
	pages *web.Pages
	rp    *oidcrp.Client
}

// Open validates cfg, migrates the page's tables and parses its pages.
func Open(ctx context.Context, cfg Config) (*Page, error) {
	if cfg.DB == nil || cfg.Site == nil || cfg.Key == nil || cfg.PFKey == nil || cfg.HTTP == nil || cfg.Customers == nil || cfg.CheckCert == nil {
		return nil, errors.New("nissayweb: DB, Site, Key, PFKey, HTTP, Customers and CheckCert are required")
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
		return nil, fmt.Errorf("nissayweb: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	mfs, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	if err := cfg.DB.Migrate(ctx, "nissayweb", mfs); err != nil {
		return nil, fmt.Errorf("nissayweb: migrate: %w", err)
	}
	pages, err := cfg.Site.Parse(templates, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("nissayweb: pages: %w", err)
	}
	return &Page{cfg: cfg, db: cfg.DB, site: cfg.Site, log: cfg.Logger, now: cfg.Now, pages: pages, rp: rp}, nil
}

// RedirectURI is the page's redirect URI, to register at the provider.
func (p *Page) RedirectURI() string { return p.cfg.BaseURL + Home + CallbackPath }

// PostLogoutURI is where the provider sends a customer after logout, to
// register at the provider with the redirect URI.
func (p *Page) PostLogoutURI() string { return p.cfg.BaseURL + Home + LoggedOutPath }

// PublicKey is the public half of the assertion key.
func (p *Page) PublicKey() crypto.PublicKey { return p.cfg.Key.Public() }

// PFPublicKey is the public half of the PF key, registered with the client.
func (p *Page) PFPublicKey() crypto.PublicKey { return p.cfg.PFKey.Public() }

// Routes registers the page.
func (p *Page) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+Home+"{$}", p.top)
	mux.HandleFunc("GET "+Home+"login", p.startLogin)
	mux.HandleFunc("GET "+Home+CallbackPath, p.callback)
	mux.HandleFunc("POST "+Home+"change", p.confirmChange)
	mux.HandleFunc("POST "+Home+"sign", p.startChange)
	mux.HandleFunc("POST "+Home+"logout", p.logout)
	mux.HandleFunc("GET "+Home+LoggedOutPath, p.loggedOut)
}
