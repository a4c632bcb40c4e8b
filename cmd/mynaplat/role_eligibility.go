package main

import (
	"context"
	"net/http"
	"time"

	"github.com/mynaplat/mynaplat/cardco"
	"github.com/mynaplat/mynaplat/eligibility"
	"github.com/mynaplat/mynaplat/web"
)

// cardcoConfig is the card company's: it lets the roles in keys enrol cards.
type cardcoConfig struct{ keys callerKeys }

func (c cardcoConfig) validate() error { return nil }

func (c cardcoConfig) build(ctx context.Context, d *deps) (*built, error) {
	company, err := cardco.Open(ctx, cardco.Config{DB: d.db, Now: time.Now, Logger: d.logger, Callers: c.keys.accepted(apiCardCo)})
	if err != nil {
		return nil, err
	}
	d.svc.company = company
	return &built{routes: company.Routes, close: func() error { return nil }}, nil
}

// eligibilityConfig is the eligibility service's: it asks the platform for
// holders' attributes (caller key platform/eligibility) and checks its
// assertions, the JPKI centre for signing certificates' status, and the card
// company for payments (merchant key). The holders' /pay/ page runs with
// the terminals (role_pay.go) and links cards through the service's API.
type eligibilityConfig struct {
	peers       *peers
	keys        callerKeys
	merchantKey string // --cardco-key, or the one the demo seeding kept
}

func (c eligibilityConfig) validate() error {
	var m missing
	m.peer(c.peers, rolePlatform, roleJPKI, roleCardCo)
	m.key(c.keys, apiPlatform, roleEligibility)
	m.key(c.keys, apiStaff, roleEligibility)
	if c.merchantKey == "" && !c.peers.local[roleCardCo] {
		m = append(m, "--cardco-key (MYNAPLAT_CARDCO_KEY)")
	}
	return m.err(roleEligibility)
}

func (c eligibilityConfig) build(ctx context.Context, d *deps) (*built, error) {
	signCA, jc, err := d.signingTrust(ctx)
	if err != nil {
		return nil, err
	}
	cu, chc := d.at(roleCardCo)
	// The merchant key may come from the demo seeding, after this build.
	d.svc.cardcoClient = &cardco.Client{BaseURL: cu, MerchantKey: c.merchantKey, HTTP: chc}
	attrs := d.platformClient(roleEligibility).PersonAttributes
	elig, err := eligibility.Open(ctx, eligibility.Config{DB: d.db, Now: time.Now, Logger: d.logger, Issuer: c.peers.url(rolePlatform),
		Keys: d.platformKeys().Keys, Attributes: attrs, CardCo: d.svc.cardcoClient,
		Payment: eligibility.PaymentConfig{SignCA: signCA, OCSP: jc.OCSP, PersonAttributes: attrs}})
	if err != nil {
		return nil, err
	}
	d.svc.elig = elig
	worker := elig.StartBatchWorker(context.Background(), eligibility.BatchWorkerConfig{})
	clinic, err := elig.ClinicPages(eligibility.ClinicPagesConfig{Site: d.site, Worker: worker,
		Provisional: func(ctx context.Context, facility string) ([]eligibility.ProvisionalCheck, error) {
			// The reception stations' provisional checks, when the
			// terminals run in this process.
			if rp := d.svc.reception; rp != nil {
				return rp.Provisional(ctx, facility)
			}
			return nil, nil
		}})
	if err != nil {
		worker.Close()
		return nil, err
	}
	office, err := elig.OfficePages(d.site)
	if err != nil {
		worker.Close()
		return nil, err
	}
	// The insurers' and the facilities' back offices: each its own
	// gate, one grant directory.
	if err := d.gateOffices(roleEligibility, office, clinic); err != nil {
		worker.Close()
		return nil, err
	}
	return &built{
		routes: func(mux *http.ServeMux) {
			elig.Routes(mux)
			elig.FacilityRoutes(mux)
			elig.PaymentRoutes(mux)
			elig.ResidentRoutes(mux)
			elig.BatchRoutes(mux, worker)
			clinic.Routes(mux)
			office.Routes(mux)
		},
		pages: func(_ context.Context, mux *http.ServeMux) ([]web.Link, error) {
			return append(clinic.Links(), office.Links()...), nil
		},
		close: worker.Close,
	}, nil
}
