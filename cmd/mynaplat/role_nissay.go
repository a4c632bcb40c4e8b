package main

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/business"
	"github.com/mynaplat/mynaplat/internal/keydir"
	"github.com/mynaplat/mynaplat/internal/layout"
	"github.com/mynaplat/mynaplat/nissayweb"
	"github.com/mynaplat/mynaplat/oidcop"
	"github.com/mynaplat/mynaplat/verify"
	"github.com/mynaplat/mynaplat/web"
)

// nissayConfig is 日本生命's customer page (issue 17 §2): the second outside
// relying party of the OpenID provider, served by the business role beside
// 日本生命's records. Its assertion key (EC) and its PF key (RSA; 日本生命 is
// its own platform operator in the demo) are made in its data directory at
// first start; the demo seeding registers them.
type nissayConfig struct {
	data     string
	peers    *peers
	issuer   string
	clientID string
}

// nissayDemoClientID is the page's client ID in the demo.
const nissayDemoClientID = "RP00000002"

// nissayFirm is the firm whose customer page it is.
const nissayFirm = "nissay"

// nissayClientName is the name the provider's card page shows.
const nissayClientName = "日本生命 お客さまページ"

// nissayCustomers gives the page 日本生命's records (package business)
// without the page importing it.
type nissayCustomers struct{ biz *business.Service }

func toNissay(c business.Customer) nissayweb.Customer {
	return nissayweb.Customer{Ref: c.Ref, Name: c.Name, Address: c.Address}
}

func (n nissayCustomers) Match(ctx context.Context, name string, birth time.Time) (nissayweb.Customer, error) {
	c, err := n.biz.MatchCustomer(ctx, nissayFirm, name, birth)
	if errors.Is(err, business.ErrNoMatch) {
		return nissayweb.Customer{}, fmt.Errorf("%w: %w", nissayweb.ErrNoCustomer, err)
	}
	return toNissay(c), err
}

func (n nissayCustomers) Get(ctx context.Context, ref string) (nissayweb.Customer, error) {
	c, err := n.biz.CustomerByRef(ctx, nissayFirm, ref)
	return toNissay(c), err
}

func (n nissayCustomers) ChangeAddress(ctx context.Context, ref, changeID, newAddress, serial string, at time.Time) (bool, error) {
	return n.biz.ChangeAddress(ctx, nissayFirm, ref, changeID, newAddress, serial, at)
}

// build opens the page when the provider is known; nil otherwise.
func (c nissayConfig) build(ctx context.Context, d *deps, biz *business.Service, policy *verify.Policy) (*nissayweb.Page, []web.Link, error) {
	if c.peers == nil || !c.peers.known(roleOIDC) || policy.Signing == nil {
		return nil, nil, nil
	}
	key, err := keydir.LoadOrMakeKey(layout.NissayKeyPath(c.data), keydir.ECDSA)
	if err != nil {
		return nil, nil, fmt.Errorf("nissayweb: the page's key: %w", err)
	}
	pf, err := keydir.LoadOrMakeKey(layout.NissayPFKeyPath(c.data), keydir.RSA)
	if err != nil {
		return nil, nil, fmt.Errorf("nissayweb: the PF key: %w", err)
	}
	dec, ok := pf.(crypto.Decrypter)
	if !ok {
		return nil, nil, errors.New("nissayweb: the PF key cannot decrypt")
	}
	p, err := nissayweb.Open(ctx, nissayweb.Config{DB: d.db, Site: d.site, Logger: d.logger, Now: time.Now, Issuer: c.issuer,
		ClientID: c.clientID, Key: key, PFKey: dec, BaseURL: d.peers.url(roleBusiness), HTTP: d.hc,
		Customers: nissayCustomers{biz}, CheckCert: policy.Signing.Check})
	if err != nil {
		return nil, nil, err
	}
	d.svc.nissay = p
	return p, []web.Link{{Section: "外部サービス（RP） / Outside services (RPs)", TitleJA: "日本生命 お客さまページ",
		TitleEN: "Nippon Life customer page",
		DescJA:  "マイナンバーカードでログインし、電子署名付きの住所変更届を出す（デジタル認証アプリの署名フロー）",
		DescEN:  "Log in with the My Number Card and send an e-signed change of address (the digital authentication app's signing flow)",
		Path:    nissayweb.Home}}, nil
}

func publicPEM(k crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// seedNissay registers the page at the provider the way the operator does
// with mynaplat oidc client add --pf-key (the same validation), once.
func seedNissay(ctx context.Context, d *deps, clientID string) error {
	n, p := d.svc.nissay, d.svc.oidc
	if n == nil {
		return nil
	}
	if p == nil {
		d.logger.Info("demo: register 日本生命's page where the oidc role runs: mynaplat oidc client add --id " + clientID + " --pf-key …")
		return nil
	}
	c, err := p.Client(ctx, clientID)
	switch {
	case err == nil:
		if !slices.Contains(c.RedirectURIs, n.RedirectURI()) {
			d.logger.Warn("demo: client " + clientID + " is registered with other redirect URIs than " + n.RedirectURI())
		}
		if !slices.Contains(c.PostLogoutURIs, n.PostLogoutURI()) {
			// Registered before the page had a logout at the provider:
			// the provider refuses its logout until it is registered again.
			d.logger.Warn("demo: client " + clientID + " has no post-logout URI " + n.PostLogoutURI() +
				": its logout ends at the provider's error page (mynaplat oidc client add --post-logout-uri, on a fresh data dir)")
		}
		return nil
	case !errors.Is(err, oidcop.ErrNoClient):
		return err
	}
	pub, err := publicPEM(n.PublicKey())
	if err != nil {
		return err
	}
	pf, err := publicPEM(n.PFPublicKey())
	if err != nil {
		return err
	}
	_, err = p.AddClient(ctx, oidcop.ClientSpec{ID: clientID, Name: nissayClientName, RedirectURIs: []string{n.RedirectURI()},
		PostLogoutURIs: []string{n.PostLogoutURI()}, Keys: [][]byte{pub}, PFKey: pf, Dev: strings.HasPrefix(n.RedirectURI(), "http://")}, "")
	if err != nil {
		return fmt.Errorf("demo: register 日本生命's page: %w", fieldError(err))
	}
	return nil
}
