package main

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/internal/keydir"
	"github.com/mynaplat/mynaplat/internal/layout"
	"github.com/mynaplat/mynaplat/oidcop"
	"github.com/mynaplat/mynaplat/townweb"
	"github.com/mynaplat/mynaplat/web"
)

// townwebConfig is 須坂市's web site ("my notices"): an outside relying
// party of the OpenID provider, which it reaches only over HTTP at the
// provider's issuer, as a client of the real デジタル認証アプリ would. Its
// key pair is made in its data directory at first start; the operator
// registers the public key (the demo seeding does it here).
type townwebConfig struct {
	data  string
	peers *peers
	// issuer is the provider's issuer: --oidc-base-url (or --oidc-url,
	// or this process) + the realm path.
	issuer string
	// clientID is the site's client ID at the provider (--townweb-client-id;
	// its form is the provider's to check, at registration).
	clientID string
}

// townwebDemoClientID is the site's client ID in the demo.
const townwebDemoClientID = "RP00000001"

func (c townwebConfig) validate() error {
	var m missing
	m.peer(c.peers, roleOIDC)
	return m.err(roleTownweb)
}

func (c townwebConfig) build(ctx context.Context, d *deps) (*built, error) {
	key, err := keydir.LoadOrMakeKey(layout.TownwebKeyPath(c.data), keydir.ECDSA)
	if err != nil {
		return nil, fmt.Errorf("townweb: the site's key: %w", err)
	}
	t, err := townweb.Open(ctx, townweb.Config{DB: d.db, Site: d.site, Logger: d.logger, Now: time.Now, Issuer: c.issuer,
		ClientID: c.clientID, Key: key, BaseURL: d.peers.url(roleTownweb), HTTP: d.hc, Scopes: []string{"name"}})
	if err != nil {
		return nil, err
	}
	d.svc.town = t
	links := []web.Link{{Section: "外部サービス（RP） / Outside services (RPs)", TitleJA: "須坂市ウェブサイト「わたしのお知らせ」",
		TitleEN: "Suzaka City's web site: My notices",
		DescJA:  "マイナンバーカードでログイン（OpenID Connect、デジタル認証アプリ相当）して、選んだ分野のお知らせを見る",
		DescEN:  "Log in with the My Number Card (OpenID Connect, as with the digital authentication app) and read the notices of your topics",
		Path:    townweb.Home}}
	return &built{
		routes: func(mux *http.ServeMux) { t.Routes(mux) },
		pages:  func(context.Context, *http.ServeMux) ([]web.Link, error) { return links, nil },
		close:  func() error { return nil },
	}, nil
}

// townwebIssuer is the issuer the site uses: the provider's base URL (as
// the oidc role computes it) + the realm path.
func townwebIssuer(o serveOptions, p *peers) string {
	return strings.TrimRight(o.oidc.config(o.data.data, p.url(roleOIDC)).BaseURL, "/") + oidcop.RealmPath
}

// townwebClientName is the name the provider's card page shows.
const townwebClientName = "須坂市ウェブサイト"

// seedTownweb registers the town's site at the provider the way the
// operator does with mynaplat oidc client add (the same validation), once,
// and seeds its notices. A registration made for another address is left
// alone, with a warning naming the command to fix it.
func seedTownweb(ctx context.Context, d *deps, clientID string) error {
	t, p := d.svc.town, d.svc.oidc
	if t == nil {
		return nil
	}
	if err := t.SeedNotices(ctx); err != nil {
		return err
	}
	if p == nil {
		d.logger.Info("demo: register the town's site where the oidc role runs: mynaplat oidc client add --id " + clientID)
		return nil
	}
	c, err := p.Client(ctx, clientID)
	switch {
	case err == nil:
		if !slices.Contains(c.RedirectURIs, t.RedirectURI()) {
			d.logger.Warn("demo: client " + clientID + " is registered with other redirect URIs than " + t.RedirectURI() +
				": register the site again (mynaplat oidc client add) or serve it at its registered address")
		}
		return nil
	case !errors.Is(err, oidcop.ErrNoClient):
		return err
	}
	der, err := x509.MarshalPKIXPublicKey(t.PublicKey())
	if err != nil {
		return err
	}
	pub := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	_, err = p.AddClient(ctx, oidcop.ClientSpec{ID: clientID, Name: townwebClientName, RedirectURIs: []string{t.RedirectURI()},
		PostLogoutURIs: []string{t.PostLogoutURI()}, Keys: [][]byte{pub}, Dev: strings.HasPrefix(t.RedirectURI(), "http://")}, "")
	if err != nil {
		return fmt.Errorf("demo: register the town's site: %w", fieldError(err))
	}
	return nil
}
