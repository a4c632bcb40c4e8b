package main

import (
	"context"
	"net/http"
	"time"

	"github.com/mynaplat/mynaplat/demo"
	"github.com/mynaplat/mynaplat/internal/layout"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/staff"
	"github.com/mynaplat/mynaplat/web"
)

// platformConfig is the common platform's configuration: it reads the JPKI
// centre's CAs, CRLs and OCSP as a registered operator, and lets the roles
// in keys onto its caller API.
type platformConfig struct {
	data  string
	peers *peers
	// jpkiToken is its operator token at a centre elsewhere (--jpki-token,
	// or the file kept when it last ran beside the centre).
	jpkiToken string
	keys      callerKeys
	timing    timing
	// demo exempts the demo's bench terminal from the per-terminal flood
	// guard: `mynaplat bench auth` fires thousands of authentications a
	// second from it to find the platform's capacity.
	demo bool
}

func (c platformConfig) validate() error {
	var m missing
	m.peer(c.peers, roleJPKI)
	if !c.peers.local[roleJPKI] && c.jpkiToken == "" {
		m = append(m, "--jpki-token (MYNAPLAT_JPKI_TOKEN)")
	}
	return m.err(rolePlatform)
}

func (c platformConfig) build(ctx context.Context, d *deps) (*built, error) {
	u, hc := d.at(roleJPKI)
	jc := &jpki.Client{BaseURL: u, Token: c.jpkiToken, HTTP: hc}
	cfg := platform.Config{DB: d.db, Centre: jc, Issuer: c.peers.url(rolePlatform), RevocationMaxAge: c.timing.maxAge,
		Now: time.Now, Logger: d.logger, Metrics: d.reg}
	limits := platform.DefaultLimits()
	if c.demo {
		// The load generator's terminal. The provider's (kind App) is
		// exempt by its kind, in every deployment (platform.Limits).
		limits.Unlimited = append(limits.Unlimited, demo.BenchTerminal.ID)
	}
	cfg.Limits = &limits
	if centre := d.svc.centre; centre != nil {
		token, err := localOperatorToken(ctx, centre, layout.OperatorTokenPath(c.data, rolePlatform))
		if err != nil {
			return nil, err
		}
		jc.Token = token
		cfg.AuthCA, cfg.SignCA = centre.CA(jpki.Auth), centre.CA(jpki.Sign)
	}
	plat, err := platform.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	d.svc.plat = plat
	dir, err := staff.Open(ctx, d.db, time.Now, d.logger)
	if err != nil {
		return nil, err
	}
	d.svc.staff = dir
	// The operator's pages for the grants, beside the directory: its gate
	// checks the grants in it directly.
	opGate, err := dir.OperatorGate(d.staffGate(rolePlatform))
	if err != nil {
		return nil, err
	}
	operator, err := staff.NewOperator(dir, opGate)
	if err != nil {
		return nil, err
	}
	lp := newLoops()
	lp.spawn(func() {
		every(lp.ctx, c.timing.crlRefresh, func(ctx context.Context) {
			if err := plat.RefreshCRL(ctx); err != nil && ctx.Err() == nil {
				d.logger.Warn("refresh CRL cache", "err", err)
			}
		})
	})
	lp.spawn(func() {
		every(lp.ctx, time.Hour, func(ctx context.Context) {
			if err := plat.RotateKeys(ctx); err != nil && ctx.Err() == nil {
				d.logger.Error("rotate assertion keys", "err", err)
			}
			if err := plat.Maintain(ctx); err != nil && ctx.Err() == nil {
				d.logger.Error("platform maintenance", "err", err)
			}
			if err := dir.PurgeLogins(ctx); err != nil && ctx.Err() == nil {
				d.logger.Error("staff directory maintenance", "err", err)
			}
		})
	})
	callers, staffCallers := c.keys.accepted(apiPlatform), c.keys.accepted(apiStaff)
	return &built{
		routes: func(mux *http.ServeMux) {
			plat.Routes(mux)
			plat.CallerRoutes(mux, callers)
			dir.Routes(mux, staffCallers, staffScope)
			operator.Routes(mux)
		},
		pages: func(context.Context, *http.ServeMux) ([]web.Link, error) { return operator.Links(), nil },
		close: lp.close(plat.Close),
	}, nil
}
