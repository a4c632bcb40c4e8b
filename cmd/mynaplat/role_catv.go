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
// platform's JWK set. It calls no other role's operator API.
type catvConfig struct {
	peers *peers
}

func (c catvConfig) validate() error {
	var m missing
	m.peer(c.peers, rolePlatform)
	return m.err(roleCatv)
}

func (c catvConfig) build(ctx context.Context, d *deps) (*built, error) {
	svc, err := catv.NewService(ctx, d.db, time.Now, d.logger)
	if err != nil {
		return nil, err
	}
	d.svc.catv = svc
	api := catv.APIConfig{Keys: d.platformKeys().Keys, Issuer: d.peers.url(rolePlatform)}
	return &built{routes: func(mux *http.ServeMux) { svc.Routes(mux, api) },
		pages: func(context.Context, *http.ServeMux) ([]web.Link, error) { return nil, nil },
		close: func() error { return nil }}, nil
}
