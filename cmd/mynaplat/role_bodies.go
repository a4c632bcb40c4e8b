package main

import (
	"context"
	"crypto/x509"
	"net/http"
	"path/filepath"
	"time"

	"github.com/mynaplat/mynaplat/corpreg"
	"github.com/mynaplat/mynaplat/delegation"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/municipal"
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
// staff directory). The opening checks each bid's signature against the
// TSA's root, its signing certificate at the JPKI centre's OCSP responder,
// its power at the delegation register and the company's name at the
// corporate registry. Each body's keys are in data/bodies/{body}.
// Contracts (docs/procurement.md §5.7, body side): the agent's contract API
// believes card logins made at the register's terminal (--procure-terminal)
// as the register does; whose card signed is asked at the platform (caller
// key platform/bodies); the signatures are validated, and the contract made
// B-LTA, with the post box's signature policy.
type bodiesConfig struct {
	data     string
	peers    *peers
	keys     callerKeys
	terminal string
}

func (c bodiesConfig) validate() error {
	var m missing
	m.peer(c.peers, roleProcure, roleTSA, rolePlatform, roleCorpReg, roleDelegation, roleJPKI)
	m.key(c.keys, apiStaff, roleBodies)
	m.key(c.keys, apiPlatform, roleBodies)
	return m.err(roleBodies)
}

func (c bodiesConfig) build(ctx context.Context, d *deps) (*built, error) {
	// Bodies read the register only through its HTTP API, also in one
	// process (docs/procurement.md §2).
	u, hc := d.at(roleProcure)
	opening, err := c.opening(ctx, d)
	if err != nil {
		return nil, err
	}
	policy, err := d.signaturePolicy(ctx)
	if err != nil {
		return nil, err
	}
	renderer, err := municipal.NewRenderer("")
	if err != nil {
		return nil, err
	}
	contracts := &body.ContractConfig{Renderer: renderer, Policy: policy, Stamper: d.stamper(),
		SignerPerson: d.platformClient(roleBodies).SignerPerson}
	svc, err := body.New(ctx, body.Config{DB: d.db, Bodies: demoBodies, KeyDir: filepath.Join(c.data, "bodies"),
		Register: &procure.Client{BaseURL: u, HTTP: hc}, Stamper: d.stamper(), Now: time.Now, Logger: d.logger, Opening: opening,
		Contracts: contracts})
	if err != nil {
		return nil, err
	}
	d.svc.bodies = svc
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
	// The agent's contract calls come from the agent's terminal with the
	// card login as bearer, not from a page of this site.
	d.site.MachineAPI("POST /bodies/{body}/v1/contracts/{id}/signature")
	d.site.MachineAPI("POST /bodies/{body}/v1/contracts/{id}/steps")
	return &built{routes: func(mux *http.ServeMux) {
		svc.Routes(mux, body.APIConfig{BidLimit: body.DefaultBidLimit(),
			Login: procure.APIConfig{Keys: d.platformKeys().Keys, Issuer: d.peers.url(rolePlatform), Terminal: c.terminal}})
		pages.Routes(mux)
	}, pages: func(context.Context, *http.ServeMux) ([]web.Link, error) {
		return pages.Links(), nil
	}, close: func() error { return nil }}, nil
}

// opening is what the bodies' opening reads, through the other roles'
// clients (their services when they run in this process, as the register
// does).
func (c bodiesConfig) opening(ctx context.Context, d *deps) (*body.OpeningConfig, error) {
	roots, err := d.timestampRoots(ctx)
	if err != nil {
		return nil, err
	}
	signCA, jc, err := d.signingTrust(ctx)
	if err != nil {
		return nil, err
	}
	signing := &jpki.SigningVerifier{CA: signCA, OCSP: jc.OCSP, MaxAge: d.timing.maxAge}
	var corps body.Corporations = d.svc.registry
	if d.svc.registry == nil {
		u, hc := d.at(roleCorpReg)
		corps = &corpreg.Client{BaseURL: u, HTTP: hc}
	}
	var powers body.Powers = d.svc.powers
	if d.svc.powers == nil {
		u, hc := d.at(roleDelegation)
		powers = &delegation.Client{BaseURL: u, HTTP: hc}
	}
	return &body.OpeningConfig{Verify: delegation.VerifyCMS(roots), Powers: powers, Corporations: corps,
		Status: func(ctx context.Context, cert *x509.Certificate) (bool, time.Time, error) {
			st, err := signing.Revocation(ctx, cert, time.Now())
			return st.Revoked, st.RevokedAt, err
		}}, nil
}
