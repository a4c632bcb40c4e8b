package main

import (
	"github.com/mynaplat/mynaplat/community/gate"
	"github.com/mynaplat/mynaplat/community/gatekiosk"
	"github.com/mynaplat/mynaplat/community/tv"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/terminal"
)

// gatePages are the schools' and libraries' side of the terminals: every
// body's history for the parents' TVs, and the screens of the gate
// terminals of the data that are a body's (gateBodies), which send their
// touches under the terminals' caller key (gate/terminals). Nothing when
// the gate role is nowhere.
func (c terminalsConfig) gatePages(d *deps, tp *terminal.Pages) ([]tv.Gate, *gatekiosk.Pages, error) {
	if !d.peers.known(roleGate) {
		return nil, nil, nil
	}
	u, hc := d.at(roleGate)
	clients := map[string]*gate.Client{}
	var history []tv.Gate
	for _, b := range gateBodies {
		cl := &gate.Client{BaseURL: u, Body: b.Body.ID, Key: c.gateKey, HTTP: hc}
		clients[b.Terminal] = cl
		history = append(history, cl)
	}
	var gates []gatekiosk.Gate
	for _, k := range tp.KitsOf(platform.School) {
		if cl, ok := clients[k.Terminal().ID]; ok {
			gates = append(gates, gatekiosk.Gate{Kit: k, Body: cl})
		}
	}
	pages, err := gatekiosk.New(gatekiosk.Config{Site: d.site, Gates: gates, Logger: d.logger})
	return history, pages, err
}

// withGate gives the gate readers their caller key at the gate role.
func (c terminalsConfig) withGate(keys callerKeys) terminalsConfig {
	c.gateKey = keys.key(apiGate, roleTerminals)
	return c
}
