package main

import (
	"context"
	"net/http"

	"github.com/mynaplat/mynaplat/counter"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/web"
)

// counterConfig is the municipal JPKI counter's: a terminal at the town
// hall with a card reader, whose pages personalise cards of this process's
// card store and reach the JPKI centre only through its counter API, under
// the counter's caller key.
type counterConfig struct {
	peers *peers
	keys  callerKeys
}

func (c counterConfig) validate() error {
	var m missing
	m.peer(c.peers, roleJPKI)
	m.key(c.keys, apiJPKI, roleCounter)
	return m.err(roleCounter)
}

func (c counterConfig) build(ctx context.Context, d *deps) (*built, error) {
	ju, hc := d.at(roleJPKI)
	pages, err := counter.NewPages(counter.PagesConfig{Site: d.site, Cards: d.cards, Logger: d.logger,
		Centre: jpki.NewCounterClient(ju, d.keys.key(apiJPKI, roleCounter), hc),
		// The counter's secure module and its approval step (the operator,
		// until staff sign in: issue 16).
		SAM: d.cards.SAM(), Approver: counter.OperatorApproval{Operator: string(roleCounter)}})
	if err != nil {
		return nil, err
	}
	links := []web.Link{{Section: "窓口・管理 / Back office", TitleJA: "市区町村窓口（JPKI）", TitleEN: "Municipal counter (JPKI)",
		DescJA: "カードの発行・更新・住所変更・暗証番号の再設定・紛失・失効", DescEN: "Issue, renew, change address, reset PINs, report loss, revoke", Path: "/counter/"}}
	return &built{
		routes: func(mux *http.ServeMux) { mux.Handle("/counter/", pages) },
		pages:  func(context.Context, *http.ServeMux) ([]web.Link, error) { return links, nil },
		close:  func() error { return nil },
	}, nil
}
