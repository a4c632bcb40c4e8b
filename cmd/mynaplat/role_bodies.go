package main

import (
	"context"
	"net/http"
	"path/filepath"
	"time"

	"github.com/mynaplat/mynaplat/procure"
	"github.com/mynaplat/mynaplat/procure/body"
	"github.com/mynaplat/mynaplat/web"
)

// demoBodies are the procuring bodies the role hosts
// (docs/procurement.md §2): a national one and 須坂市.
var demoBodies = []body.Body{
	{ID: "kanto", NameJA: "関東地方整備局", NameEN: "Kanto Regional Development Bureau", Level: body.National},
	{ID: "suzaka", NameJA: "須坂市", NameEN: "Suzaka City", Level: body.Local},
}

// bodiesConfig is the procuring bodies' (package procure/body): they read
// qualifications at the register (its public API, no key), time-stamp
// receipts at the TSA, and their officers sign in with their cards at
// offices procure-body:{body} (caller key staff/bodies at the platform's
// staff directory). Each body's keys are in data/bodies/{body}.
type bodiesConfig struct {
	data  string
	peers *peers
	keys  callerKeys
}

func (c bodiesConfig) validate() error {
	var m missing
	m.peer(c.peers, roleProcure, roleTSA, rolePlatform)
	m.key(c.keys, apiStaff, roleBodies)
	return m.err(roleBodies)
}

func (c bodiesConfig) build(ctx context.Context, d *deps) (*built, error) {
	// Bodies read the register only through its HTTP API, also in one
	// process (docs/procurement.md §2).
	u, hc := d.at(roleProcure)
	svc, err := body.New(ctx, body.Config{DB: d.db, Bodies: demoBodies, KeyDir: filepath.Join(c.data, "bodies"),
		Register: &procure.Client{BaseURL: u, HTTP: hc}, Stamper: d.stamper(), Now: time.Now, Logger: d.logger})
	if err != nil {
		return nil, err
	}
	pages, err := body.NewPages(svc, d.site)
	if err != nil {
		return nil, err
	}
	if err := d.gateOffices(roleBodies, pages); err != nil {
		return nil, err
	}
	// The bid intake is a machine API: the company desk posts from its
	// own origin, with no session (the bid's signature is its proof).
	d.site.MachineAPI("POST /bodies/{body}/v1/tenders/{tender}/bids")
	return &built{routes: func(mux *http.ServeMux) {
		svc.Routes(mux, body.APIConfig{BidLimit: body.DefaultBidLimit()})
		pages.Routes(mux)
	}, pages: func(context.Context, *http.ServeMux) ([]web.Link, error) {
		return pages.Links(), nil
	}, close: func() error { return nil }}, nil
}
