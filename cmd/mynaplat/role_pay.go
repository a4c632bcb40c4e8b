package main

import (
	"errors"
	"io/fs"
	"net/http"

	"github.com/mynaplat/mynaplat/cardco"
	"github.com/mynaplat/mynaplat/eligibility"
	"github.com/mynaplat/mynaplat/internal/layout"
	"github.com/mynaplat/mynaplat/payenrol"
	"github.com/mynaplat/mynaplat/web"
)

// payConfig is the terminals role's /pay/, the card holder's page on their
// own phone: it logs in through the phone's platform terminal, enrols the
// credit card at the card company (caller key cardco/terminals) and links
// it at the eligibility service under the login's assertion — all over
// their HTTP APIs, wherever those roles run. It is on when the demo
// seeding wrote the phone's terminal configuration.
type payConfig struct {
	data  string
	peers *peers
	keys  callerKeys
	on    bool
}

func newPayConfig(data string, p *peers, keys callerKeys) payConfig {
	_, err := layout.PayTerminal(data)
	return payConfig{data: data, peers: p, keys: keys, on: err == nil}
}

// withPay is c with its /pay/.
func (c terminalsConfig) withPay(p payConfig) terminalsConfig {
	c.pay = p
	return c
}

// missing adds what /pay/ needs and lacks.
func (c payConfig) missing(m *missing) {
	if !c.on {
		return
	}
	m.peer(c.peers, roleEligibility, roleCardCo)
	m.key(c.keys, apiCardCo, roleTerminals)
}

// pages registers /pay/ and returns its home page entries; none when no
// phone is configured.
func (c payConfig) pages(d *deps, mux *http.ServeMux) ([]web.Link, error) {
	pt, err := layout.PayTerminal(c.data)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	pu, hc := d.at(rolePlatform)
	eu, _ := d.at(roleEligibility)
	cu, _ := d.at(roleCardCo)
	pay, err := payenrol.New(payenrol.Config{Eligibility: &eligibility.ResidentClient{BaseURL: eu, HTTP: hc}, Site: d.site, Cards: d.cards,
		Terminal: *pt, PlatformURL: pu, HTTP: hc, Enrol: cardco.NewEnrolClient(cu, c.keys.key(apiCardCo, roleTerminals), hc), Logger: d.logger})
	if err != nil {
		return nil, err
	}
	pay.Routes(mux)
	return pay.Links(), nil
}
