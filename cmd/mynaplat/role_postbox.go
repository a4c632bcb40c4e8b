package main

import (
	"context"
	"net/http"
	"path/filepath"
	"time"

	"github.com/mynaplat/mynaplat/agency"
	"github.com/mynaplat/mynaplat/anchors"
	"github.com/mynaplat/mynaplat/business"
	"github.com/mynaplat/mynaplat/corpreg"
	"github.com/mynaplat/mynaplat/delegation"
	"github.com/mynaplat/mynaplat/internal/layout"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/postbox"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/tsa"
	"github.com/mynaplat/mynaplat/web"
)

// The roles of the electronic post box (電子私書箱). Each may run alone:
// they reach each other over their HTTP APIs, and trust the TSA's root as
// it publishes it at /tsa/root.crt.

// tsaConfig is the time-stamp authority's. It calls no other role.
type tsaConfig struct{ data string }

func (c tsaConfig) validate() error { return nil }

func (c tsaConfig) build(ctx context.Context, d *deps) (*built, error) {
	// The unit's certificate points at the root as this role publishes it.
	keys, err := tsa.LoadOrCreatePublished(filepath.Join(c.data, "tsa"), d.peers.url(roleTSA), time.Now)
	if err != nil {
		return nil, err
	}
	d.svc.tsaKeysRoot = keys.Root
	authority := tsa.New(keys, time.Now, d.logger)
	// A machine API (RFC 3161 §3.4): clients of any origin post to it, and
	// it reads no cookie; it answers other methods itself (405).
	d.site.MachineAPI("/tsa")
	return &built{
		routes: func(mux *http.ServeMux) {
			mux.Handle("/tsa", authority.Handler())
			anchors.Serve(mux, anchors.TSA, keys.Root)
			mux.HandleFunc("GET "+tsaRootPath, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/pkix-cert")
				w.Write(keys.Root.Raw)
			})
		},
		close: func() error { return nil },
	}, nil
}

// stamper is the TSA's client, for the roles that time-stamp.
func (d *deps) stamper() *tsa.Client {
	u, hc := d.at(roleTSA)
	return &tsa.Client{URL: u + "/tsa", HTTP: hc}
}

// corpregConfig is the corporate registry's. It calls no other role.
type corpregConfig struct{ data string }

func (c corpregConfig) validate() error { return nil }

func (c corpregConfig) build(ctx context.Context, d *deps) (*built, error) {
	ca, err := corpreg.OpenAuthority(filepath.Join(c.data, "corpreg"), time.Now)
	if err != nil {
		return nil, err
	}
	ca.WithBaseURL(d.peers.url(roleCorpReg))
	reg, err := corpreg.New(ctx, corpreg.Config{DB: d.db, Authority: ca, Now: time.Now, Logger: d.logger})
	if err != nil {
		return nil, err
	}
	d.svc.registry = reg
	return &built{routes: func(mux *http.ServeMux) {
		reg.Routes(mux)
		anchors.Serve(mux, anchors.CorpReg, ca.Root())
	}, close: func() error { return nil }}, nil
}

// delegationConfig is the register of powers of attorney's: it checks
// corporations at the registry, signatures against the JPKI centre and the
// TSA's root, and resolves signers at the platform (caller key
// platform/delegation). It lists an agent's powers to the callers of API
// delegation (the procurement register, on the agent's behalf).
type delegationConfig struct {
	peers  *peers
	keys   callerKeys
	maxAge time.Duration
}

func (c delegationConfig) validate() error {
	var m missing
	m.peer(c.peers, roleCorpReg, roleJPKI, roleTSA, rolePlatform)
	m.key(c.keys, apiPlatform, roleDelegation)
	return m.err(roleDelegation)
}

func (c delegationConfig) build(ctx context.Context, d *deps) (*built, error) {
	signCA, jc, err := d.signingTrust(ctx)
	if err != nil {
		return nil, err
	}
	roots, err := d.timestampRoots(ctx)
	if err != nil {
		return nil, err
	}
	var corps delegation.Corporations = d.svc.registry
	if d.svc.registry == nil {
		u, hc := d.at(roleCorpReg)
		corps = &corpreg.Client{BaseURL: u, HTTP: hc}
	}
	signing := &jpki.SigningVerifier{CA: signCA, OCSP: jc.OCSP, MaxAge: c.maxAge}
	powers, err := delegation.New(ctx, delegation.Config{DB: d.db, Corporations: corps, Verify: delegation.VerifyCMS(roots),
		SignerPerson:  delegation.PlatformSigner(d.platformClient(roleDelegation).SignerPerson),
		SignerRevoked: delegation.JPKIRevocation(signing, time.Now), Now: time.Now, Logger: d.logger})
	if err != nil {
		return nil, err
	}
	d.svc.powers = powers
	callers := c.keys.accepted(apiDelegation)
	return &built{routes: func(mux *http.ServeMux) {
		powers.Routes(mux)
		powers.AgentRoutes(mux, callers)
	}, close: func() error { return nil }}, nil
}

// postboxConfig is the post box's: it validates signatures (JPKI, TSA,
// delegation register), resolves signers at the platform (caller key
// platform/postbox), delivers to the agencies and businesses at the URLs
// they registered, and follows the JPKI revocation feed with its operator
// token (from the file kept when it last ran beside the centre, else
// --jpki-token; without one it does not follow the feed). It opens a box
// for the platform's assertion of its owner made at terminal
// (--postbox-terminal), checked with the platform's JWK set.
type postboxConfig struct {
	data      string
	peers     *peers
	keys      callerKeys
	jpkiToken string
	terminal  string
}

func (c postboxConfig) validate() error {
	var m missing
	m.peer(c.peers, roleJPKI, roleTSA, roleDelegation, rolePlatform)
	m.key(c.keys, apiPlatform, rolePostbox)
	return m.err(rolePostbox)
}

func (c postboxConfig) build(ctx context.Context, d *deps) (*built, error) {
	policy, err := d.signaturePolicy(ctx)
	if err != nil {
		return nil, err
	}
	ju, jhc := d.at(roleJPKI)
	operator := &jpki.Client{BaseURL: ju, Token: c.jpkiToken, HTTP: jhc}
	if centre := d.svc.centre; centre != nil {
		if operator.Token, err = localOperatorToken(ctx, centre, layout.OperatorTokenPath(c.data, rolePostbox)); err != nil {
			return nil, err
		}
	}
	cfg := postbox.Config{DB: d.db, Policy: policy, SignerPerson: d.platformClient(rolePostbox).SignerPerson,
		Keys: d.platformKeys().Keys, Issuer: d.peers.url(rolePlatform), Terminal: c.terminal,
		HTTP: d.hc, Now: time.Now, Logger: d.logger}
	if operator.Token != "" {
		cfg.Feed, cfg.Linkage = operator.Revocations, operator.Linkage
	} else {
		d.logger.Info("post box: no operator token at the JPKI centre, so no moving notices (--jpki-token)")
	}
	box, err := postbox.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	d.svc.box = box
	lp := newLoops()
	lp.spawn(func() {
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			if _, err := box.DeliverDue(lp.ctx); err != nil && lp.ctx.Err() == nil {
				d.logger.Error("post box: deliver", "err", err)
			}
			select {
			case <-lp.ctx.Done():
				return
			case <-t.C:
			case <-box.Kick():
			}
		}
	})
	if cfg.Feed != nil {
		lp.spawn(func() {
			every(lp.ctx, 5*time.Second, func(ctx context.Context) {
				if n, err := box.FollowFeed(ctx); err != nil && ctx.Err() == nil {
					d.logger.Error("post box: revocation feed", "err", err)
				} else if n > 0 {
					d.logger.Info("post box: change notices left in boxes", "notices", n)
				}
			})
		})
	}
	return &built{routes: box.Routes, close: lp.close()}, nil
}

// partyConfig is an agency's or a business's: it validates what the post
// box delivers (JPKI, TSA, delegation register), and a business
// time-stamps what it signs.
type partyConfig struct {
	role  string
	peers *peers
	keys  callerKeys
	// nissay is 日本生命's customer page, served by the business role when
	// the OpenID provider is known.
	nissay nissayConfig
}

func (c partyConfig) validate() error {
	var m missing
	m.peer(c.peers, roleJPKI, roleTSA, roleDelegation, rolePlatform)
	m.key(c.keys, apiStaff, c.role)
	return m.err(c.role)
}

func (c partyConfig) build(ctx context.Context, d *deps) (*built, error) {
	policy, err := d.signaturePolicy(ctx)
	if err != nil {
		return nil, err
	}
	if c.role == roleAgency {
		ag, err := agency.Open(ctx, agency.Config{DB: d.db, Policy: policy, HTTP: d.hc, Now: time.Now, Logger: d.logger})
		if err != nil {
			return nil, err
		}
		d.svc.agency = ag
		ap, err := agency.NewPages(ag, d.site)
		if err != nil {
			return nil, err
		}
		if err := d.gateOffices(roleAgency, ap); err != nil {
			return nil, err
		}
		// Its links name the offices, which the demo seeding adds.
		return &built{routes: ap.Routes, pages: func(ctx context.Context, _ *http.ServeMux) ([]web.Link, error) {
			return ap.Links(ctx), nil
		}, close: func() error { return nil }}, nil
	}
	st := d.stamper()
	d.svc.stamper = st
	biz, err := business.Open(ctx, business.Config{DB: d.db, Policy: policy, Stamper: st, Render: business.LazyRender(""),
		HTTP: d.hc, Now: time.Now, Logger: d.logger})
	if err != nil {
		return nil, err
	}
	d.svc.business = biz
	// The businesses' desks have a reader where an employee signs; in the
	// demo a virtual one.
	bp, err := business.NewPages(business.PagesConfig{Site: d.site, Service: biz, Reader: terminal.VirtualReader{Cards: d.cards},
		Cards: d.cards, Logger: d.logger})
	if err != nil {
		return nil, err
	}
	if err := d.gateOffices(roleBusiness, bp); err != nil {
		return nil, err
	}
	np, links, err := c.nissay.build(ctx, d, biz, policy)
	if err != nil {
		return nil, err
	}
	return &built{routes: func(mux *http.ServeMux) {
		bp.Routes(mux)
		if np != nil {
			np.Routes(mux)
		}
	}, pages: func(ctx context.Context, _ *http.ServeMux) ([]web.Link, error) {
		return append(bp.Links(ctx), links...), nil
	}, close: func() error { return nil }}, nil
}
