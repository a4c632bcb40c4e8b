package main

import (
	"context"
	"crypto/x509"
	"errors"
	"log/slog"
	"net/http"
	"path/filepath"
	"time"

	"github.com/mynaplat/mynaplat/agency"
	"github.com/mynaplat/mynaplat/business"
	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/cms"
	"github.com/mynaplat/mynaplat/corpreg"
	"github.com/mynaplat/mynaplat/delegation"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/postbox"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/tsa"
	"github.com/mynaplat/mynaplat/verify"
	"github.com/mynaplat/mynaplat/web"
)

// The roles of the electronic post box (電子私書箱) and what it needs.
const (
	roleTSA        = "tsa"        // RFC 3161 time-stamp authority
	roleCorpReg    = "corpreg"    // corporate registry (商業登記) and representative certificates
	roleDelegation = "delegation" // register of 電子委任状
	rolePostbox    = "postbox"    // the post box operator
	roleAgency     = "agency"     // receiving agencies (tax office, employer, town)
	roleBusiness   = "business"   // businesses (日本生命, 日本郵便, NHK)
)

// postboxRoles are the post-box roles, all of which run in one process for
// now: they share the TSA's trust anchor, the delegation register and the
// platform's signer resolution in memory.
var postboxRoles = []string{roleTSA, roleCorpReg, roleDelegation, rolePostbox, roleAgency, roleBusiness}

// postboxDeps are what the post-box roles take from the rest of the server.
type postboxDeps struct {
	o      serveOptions
	url    string
	db     *store.DB
	site   *web.Site
	mux    *http.ServeMux
	self   *http.Client
	centre *jpki.Centre
	plat   *platform.Platform
	keys   *localKeys
	cards  *card.Store
	logger *slog.Logger
	bg     context.Context
	// spawn runs a background loop that ends with bg (server.spawn).
	spawn func(func())
}

// postboxWorld is what they made: the services, for the demo seeding and
// the terminal-side pages.
type postboxWorld struct {
	stamper  cms.Stamper
	registry *corpreg.Registry
	powers   *delegation.Service
	box      *postbox.Service
	agency   *agency.Service
	business *business.Service
	// links are the agencies' and businesses' home page entries, read when
	// the home page is made (after the demo seeding).
	links func(ctx context.Context) []web.Link
}

// buildPostbox wires the post-box roles.
func buildPostbox(ctx context.Context, d postboxDeps) (*postboxWorld, error) {
	if d.plat == nil {
		return nil, errors.New("the post-box roles run with the platform role (it resolves signers to people)")
	}
	signCA, jc, err := signingTrust(ctx, d.centre, d.o, d.url, d.self)
	if err != nil {
		return nil, err
	}
	keys, err := tsa.LoadOrCreate(filepath.Join(d.o.data.data, "tsa"), time.Now)
	if err != nil {
		return nil, err
	}
	authority := tsa.New(keys, time.Now, d.logger)
	d.mux.Handle("POST /tsa", authority.Handler())
	roots := x509.NewCertPool()
	roots.AddCert(keys.Root)
	w := &postboxWorld{stamper: &tsa.Client{URL: d.url + "/tsa", HTTP: d.self}}

	ca, err := corpreg.OpenAuthority(filepath.Join(d.o.data.data, "corpreg"), time.Now)
	if err != nil {
		return nil, err
	}
	if w.registry, err = corpreg.New(ctx, corpreg.Config{DB: d.db, Authority: ca, Now: time.Now, Logger: d.logger}); err != nil {
		return nil, err
	}
	w.registry.Routes(d.mux)

	signing := &jpki.SigningVerifier{CA: signCA, OCSP: jc.OCSP, MaxAge: d.o.revocationMaxAge}
	if w.powers, err = delegation.New(ctx, delegation.Config{DB: d.db, Corporations: w.registry, Verify: delegation.VerifyCMS(roots),
		SignerPerson:  delegation.PlatformSigner(d.keys.platformClient(roleDelegation, d.url, d.self).SignerPerson),
		SignerRevoked: delegation.JPKIRevocation(signing, time.Now), Now: time.Now, Logger: d.logger}); err != nil {
		return nil, err
	}
	w.powers.Routes(d.mux)

	policy := &verify.Policy{Signing: signing, TSARoots: roots, Delegation: delegation.Checker(w.powers.Check),
		RequireTimestamp: true, Now: time.Now}

	// The post box follows the revocation feed as a registered operator.
	var operator *jpki.Client
	if d.centre != nil {
		token, err := localOperatorToken(ctx, d.centre, filepath.Join(d.o.data.data, "postbox"))
		if err != nil {
			return nil, err
		}
		operator = &jpki.Client{BaseURL: d.url, Token: token, HTTP: d.self}
	} else if d.o.jpkiToken != "" {
		operator = &jpki.Client{BaseURL: d.o.jpkiURL, Token: d.o.jpkiToken}
	}
	cfg := postbox.Config{DB: d.db, Policy: policy, SignerPerson: d.keys.platformClient(rolePostbox, d.url, d.self).SignerPerson,
		HTTP: d.self, Now: time.Now, Logger: d.logger}
	if operator != nil {
		cfg.Feed, cfg.Linkage = operator.Revocations, operator.Linkage
	}
	if w.box, err = postbox.Open(ctx, cfg); err != nil {
		return nil, err
	}
	w.box.Routes(d.mux)
	d.spawn(func() {
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			if _, err := w.box.DeliverDue(d.bg); err != nil && d.bg.Err() == nil {
				d.logger.Error("post box: deliver", "err", err)
			}
			select {
			case <-d.bg.Done():
				return
			case <-t.C:
			case <-w.box.Kick():
			}
		}
	})
	d.spawn(func() {
		every(d.bg, 5*time.Second, func(ctx context.Context) {
			if n, err := w.box.FollowFeed(ctx); err != nil && ctx.Err() == nil {
				d.logger.Error("post box: revocation feed", "err", err)
			} else if n > 0 {
				d.logger.Info("post box: change notices left in boxes", "notices", n)
			}
		})
	})

	if w.agency, err = agency.Open(ctx, agency.Config{DB: d.db, Policy: policy, HTTP: d.self, Now: time.Now, Logger: d.logger}); err != nil {
		return nil, err
	}
	ap, err := agency.NewPages(w.agency, d.site)
	if err != nil {
		return nil, err
	}
	ap.Routes(d.mux)
	if w.business, err = business.Open(ctx, business.Config{DB: d.db, Policy: policy, Stamper: w.stamper, HTTP: d.self,
		Now: time.Now, Logger: d.logger}); err != nil {
		return nil, err
	}
	// The businesses' desks have a reader where an employee signs; in the
	// demo a virtual one.
	bp, err := business.NewPages(business.PagesConfig{Site: d.site, Service: w.business, Reader: terminal.VirtualReader{Cards: d.cards},
		Cards: d.cards, Logger: d.logger})
	if err != nil {
		return nil, err
	}
	bp.Routes(d.mux)
	w.links = func(ctx context.Context) []web.Link { return append(ap.Links(ctx), bp.Links(ctx)...) }
	return w, nil
}

// pages are the person's post-box pages, which run on the terminal people
// log in at (the card on its reader signs).
func (w *postboxWorld) pages(site *web.Site, mux *http.ServeMux, tp *terminal.Pages, keys *platform.KeyCache,
	url, terminalID string, logger *slog.Logger) ([]web.Link, error) {
	pp, err := postbox.NewPages(postbox.PagesConfig{Site: site, Service: w.box, Issuer: url,
		Keys:     keys.Keys,
		Terminal: terminalID, Stamper: w.stamper, Logger: logger,
		Card: func(r *http.Request, ss *web.Session) (card.Transport, error) {
			return tp.PlacedCard(r, ss, terminalID)
		}})
	if err != nil {
		return nil, err
	}
	pp.Routes(mux)
	return pp.Links(), nil
}
