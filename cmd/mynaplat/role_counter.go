package main

import (
	"context"
	"fmt"
	"net/http"

	"github.com/mynaplat/mynaplat/counter"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/staff"
	"github.com/mynaplat/mynaplat/web"
)

// counterConfig is the municipal JPKI counter's: a terminal at the town
// hall of one town with a card reader, whose pages personalise cards of
// this process's card store and reach the JPKI centre only through its
// counter API, under the counter's caller key. Only the town's counter
// staff, signed in with their own cards at the staff terminal (the staff
// directory under caller key staff/counter), are served, and a supervisor
// approves losses, deaths, revocations and PIN resets.
type counterConfig struct {
	peers *peers
	keys  callerKeys
	// town is the municipality code of the counter's town (--counter-town).
	town string
}

func (c counterConfig) validate() error {
	var m missing
	m.peer(c.peers, roleJPKI, rolePlatform)
	m.key(c.keys, apiJPKI, roleCounter)
	m.key(c.keys, apiStaff, roleCounter)
	if _, err := jpki.LookupMunicipality(c.town); err != nil {
		m = append(m, fmt.Sprintf("--counter-town 市区町村コード / a municipality code (not %q)", c.town))
	}
	return m.err(roleCounter)
}

func (c counterConfig) build(ctx context.Context, d *deps) (*built, error) {
	ju, hc := d.at(roleJPKI)
	office, err := counter.StaffOffice(c.town)
	if err != nil {
		return nil, err
	}
	gate, err := staff.NewOfficeGate(d.staffGate(roleCounter), office)
	if err != nil {
		return nil, err
	}
	pages, err := counter.NewPages(counter.PagesConfig{Site: d.site, Cards: d.cards, Logger: d.logger,
		Centre: jpki.NewCounterClient(ju, d.keys.key(apiJPKI, roleCounter), c.town, hc), Staff: gate,
		// The counter's secure module.
		SAM: d.cards.SAM()})
	if err != nil {
		return nil, err
	}
	links := []web.Link{{Section: "窓口・管理 / Back office", TitleJA: "市区町村窓口（JPKI）", TitleEN: "Municipal counter (JPKI)",
		DescJA: "職員カードでログイン：カードの発行・更新・住所変更、責任者の承認で暗証番号の再設定・紛失・失効",
		DescEN: "Staff sign in with their cards: issue, renew, change address; with a supervisor's approval reset PINs, report loss, revoke",
		Path:   counter.Home}}
	return &built{
		routes: func(mux *http.ServeMux) { mux.Handle(counter.Home, pages) },
		pages:  func(context.Context, *http.ServeMux) ([]web.Link, error) { return links, nil },
		close:  func() error { return nil },
	}, nil
}
