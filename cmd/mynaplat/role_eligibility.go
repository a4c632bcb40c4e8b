package main

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"time"

	"github.com/mynaplat/mynaplat/cardco"
	"github.com/mynaplat/mynaplat/eligibility"
	"github.com/mynaplat/mynaplat/internal/layout"
	"github.com/mynaplat/mynaplat/payenrol"
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
// company for payments (merchant key) and card enrolment on /pay/ (caller
// key cardco/eligibility).
type eligibilityConfig struct {
	data        string
	peers       *peers
	keys        callerKeys
	merchantKey string // --cardco-key, or the one the demo seeding kept
}

func (c eligibilityConfig) validate() error {
	var m missing
	m.peer(c.peers, rolePlatform, roleJPKI, roleCardCo)
	m.key(c.keys, apiPlatform, roleEligibility)
	m.key(c.keys, apiCardCo, roleEligibility)
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
	return &built{
		routes: func(mux *http.ServeMux) {
			elig.Routes(mux)
			elig.FacilityRoutes(mux)
			elig.PaymentRoutes(mux)
			elig.BatchRoutes(mux, worker)
			clinic.Routes(mux)
			office.Routes(mux)
		},
		pages: func(_ context.Context, mux *http.ServeMux) ([]web.Link, error) {
			links := append(clinic.Links(), office.Links()...)
			// /pay/ is the service's page on the resident's own phone: it
			// logs in through the phone's platform terminal and enrols the
			// card at the card company.
			pt, err := layout.PayTerminal(c.data)
			if errors.Is(err, fs.ErrNotExist) {
				return links, nil
			} else if err != nil {
				return nil, err
			}
			pu, phc := d.at(rolePlatform)
			pay, err := payenrol.New(payenrol.Config{Links: elig, Site: d.site, Cards: d.cards, Terminal: *pt, PlatformURL: pu, HTTP: phc,
				Enrol: cardco.NewEnrolClient(cu, c.keys.key(apiCardCo, roleEligibility), chc).Enrol, Logger: d.logger})
			if err != nil {
				return nil, err
			}
			pay.Routes(mux)
			d.svc.payLinks = pay.Links()
			return append(links, pay.Links()...), nil
		},
		close: worker.Close,
	}, nil
}
