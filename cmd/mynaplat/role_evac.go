package main

import (
	"context"
	"net/http"
	"time"

	"github.com/mynaplat/mynaplat/community/evac"
	"github.com/mynaplat/mynaplat/community/tvlogin"
	"github.com/mynaplat/mynaplat/web"
)

// evacConfig is 美波町 危機管理室's (docs/community-tv.md §2, §5.6, §7):
// its areas, households, shelters and orders, with the TV portal's API —
// the notice, the acknowledgement and the stream of orders by server-sent
// events — which believes the person's card login at their TV, checked
// with the platform's JWK set. Its hub polls the event log, so several
// instances serve the same orders.
type evacConfig struct {
	peers *peers
	keys  callerKeys
}

func (c evacConfig) validate() error {
	var m missing
	m.peer(c.peers, rolePlatform)
	m.key(c.keys, apiStaff, roleEvac)
	return m.err(roleEvac)
}

func (c evacConfig) build(ctx context.Context, d *deps) (*built, error) {
	svc, err := evac.NewService(ctx, d.db, time.Now, d.logger)
	if err != nil {
		return nil, err
	}
	d.svc.evac = svc
	api := tvlogin.Config{Keys: d.platformKeys().Keys, Issuer: d.peers.url(rolePlatform)}
	hub := svc.NewHub(0)
	pages, err := evac.NewPages(svc, hub, d.site)
	if err != nil {
		return nil, err
	}
	if err := d.gateOffices(roleEvac, pages); err != nil {
		return nil, err
	}
	lp := newLoops()
	lp.spawn(func() { hub.Run(lp.ctx) })
	// The streams end when the hub stops: at the start of the shutdown,
	// so that the server need not wait for the TVs to go.
	return &built{routes: func(mux *http.ServeMux) {
		svc.Routes(mux, api, hub)
		pages.Routes(mux)
	}, pages: func(ctx context.Context, _ *http.ServeMux) ([]web.Link, error) {
		return pages.Links(), nil
	}, close: lp.close(), shutdown: lp.stop}, nil
}
