package main

import (
	"context"
	"net/http"
	"time"

	"github.com/mynaplat/mynaplat/corpreg"
	"github.com/mynaplat/mynaplat/delegation"
	"github.com/mynaplat/mynaplat/procure"
	"github.com/mynaplat/mynaplat/web"
)

// procureConfig is the qualification register's (docs/procurement.md): it
// reads corporations at the registry, checks powers at the delegation
// register and time-stamps against the TSA's root, and believes the agents'
// card logins made at its terminal (--procure-terminal), checked with the
// platform's JWK set. Its officers sign in with their cards (office
// procure-register, caller key staff/procure); it lists an agent's powers
// at the delegation register under caller key delegation/procure; the
// other APIs it calls are public.
type procureConfig struct {
	peers    *peers
	keys     callerKeys
	terminal string
}

func (c procureConfig) validate() error {
	var m missing
	m.peer(c.peers, roleCorpReg, roleDelegation, roleTSA, rolePlatform)
	m.key(c.keys, apiStaff, roleProcure)
	m.key(c.keys, apiDelegation, roleProcure)
	return m.err(roleProcure)
}

func (c procureConfig) build(ctx context.Context, d *deps) (*built, error) {
	roots, err := d.timestampRoots(ctx)
	if err != nil {
		return nil, err
	}
	var corps procure.Corporations = d.svc.registry
	if d.svc.registry == nil {
		u, hc := d.at(roleCorpReg)
		corps = &corpreg.Client{BaseURL: u, HTTP: hc}
	}
	var powers procure.Powers = d.svc.powers
	if d.svc.powers == nil {
		u, hc := d.at(roleDelegation)
		powers = &delegation.Client{BaseURL: u, HTTP: hc, Key: c.keys.key(apiDelegation, roleProcure)}
	}
	reg, err := procure.New(ctx, procure.Config{DB: d.db, Corporations: corps, Powers: powers, Verify: delegation.VerifyCMS(roots),
		Now: time.Now, Logger: d.logger})
	if err != nil {
		return nil, err
	}
	d.svc.procure = reg
	api := procure.APIConfig{Keys: d.platformKeys().Keys, Issuer: d.peers.url(rolePlatform), Terminal: c.terminal}
	pages, err := procure.NewPages(reg, d.site)
	if err != nil {
		return nil, err
	}
	if err := d.gateOffices(roleProcure, pages); err != nil {
		return nil, err
	}
	return &built{routes: func(mux *http.ServeMux) {
		reg.Routes(mux, api)
		pages.Routes(mux)
	}, pages: func(context.Context, *http.ServeMux) ([]web.Link, error) {
		return pages.Links(), nil
	}, close: func() error { return nil }}, nil
}
