package main

import (
	"context"
	"net/http"
	"time"

	"github.com/mynaplat/mynaplat/community/catv"
	"github.com/mynaplat/mynaplat/web"
)

// catvConfig is the CATV operators' (docs/community-tv.md §2, §5.2): their
// subscribers and the messages to them, with the TV portal's API, which
// believes the person's card login at their TV, checked with the
// platform's JWK set; its senders (the operator's and the town's staff)
// sign in with their cards (office catv:{operator}, caller key staff/catv);
// the towns' systems post their messages to one person under their caller
// keys (catv/town).
type catvConfig struct {
	peers *peers
	keys  callerKeys
}

func (c catvConfig) validate() error {
	var m missing
	m.peer(c.peers, rolePlatform)
	m.key(c.keys, apiStaff, roleCatv)
	return m.err(roleCatv)
}

func (c catvConfig) build(ctx context.Context, d *deps) (*built, error) {
	svc, err := catv.NewService(ctx, d.db, time.Now, d.logger)
	if err != nil {
		return nil, err
	}
	d.svc.catv = svc
	api := catv.APIConfig{Keys: d.platformKeys().Keys, Issuer: d.peers.url(rolePlatform)}
	pages, err := catv.NewPages(svc, d.site)
	if err != nil {
		return nil, err
	}
	if err := d.gateOffices(roleCatv, pages); err != nil {
		return nil, err
	}
	return &built{routes: func(mux *http.ServeMux) {
		svc.Routes(mux, api)
		// Each caller of the operators' machine API has its own route: a
		// town posts reminders, the health centre reads signs of life.
		svc.TownRoutes(mux, c.keys.acceptedFrom(apiCatv, roleTown))
		svc.SignRoutes(mux, c.keys.acceptedFrom(apiCatv, roleWatch))
		pages.Routes(mux)
	}, pages: func(ctx context.Context, _ *http.ServeMux) ([]web.Link, error) {
		// The operators are known once the demo (or the data) has them.
		return pages.Links(ctx)
	}, close: func() error { return nil }}, nil
}
