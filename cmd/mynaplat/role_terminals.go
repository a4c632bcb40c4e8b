package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/cardview"
	"github.com/mynaplat/mynaplat/community/catv"
	"github.com/mynaplat/mynaplat/community/evac"
	"github.com/mynaplat/mynaplat/community/shelter"
	"github.com/mynaplat/mynaplat/community/town"
	"github.com/mynaplat/mynaplat/community/tv"
	"github.com/mynaplat/mynaplat/community/watch"
	"github.com/mynaplat/mynaplat/corpreg"
	"github.com/mynaplat/mynaplat/delegation"
	"github.com/mynaplat/mynaplat/internal/layout"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/kiosk"
	"github.com/mynaplat/mynaplat/municipal"
	"github.com/mynaplat/mynaplat/mybox"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/procure"
	"github.com/mynaplat/mynaplat/procure/body"
	"github.com/mynaplat/mynaplat/procure/desk"
	"github.com/mynaplat/mynaplat/procureagent"
	"github.com/mynaplat/mynaplat/reception"
	"github.com/mynaplat/mynaplat/staffdesk"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/web"
)

// terminalsConfig is the terminals': the screens under /t/ log in at the
// platform; the hospital's reception stations check at the eligibility
// service (and fetch the JPKI CA and CRL for offline checks), the kiosks
// print through the J-LIS relay. The person's post-box pages run here,
// reaching the post box over its resident API wherever it runs (the card
// on this terminal's reader signs, the TSA time-stamps).
type terminalsConfig struct {
	data    string
	peers   *peers
	readers []string
	// postboxTerminal is the terminal people open their post box at.
	postboxTerminal string
	// procureTerminal is the terminal agents file procurement
	// applications at.
	procureTerminal string
	// stations and kiosks say whether such stations are configured.
	stations, kiosks bool
	// pay is /pay/ (role_pay.go).
	pay payConfig
	// gateKey is the terminals' caller key at the schools' and libraries'
	// touch API (role_terminals_gate.go).
	gateKey string
}

func newTerminalsConfig(data string, p *peers, readers []string, postboxTerminal string) terminalsConfig {
	c := terminalsConfig{data: data, peers: p, readers: readers, postboxTerminal: postboxTerminal}
	if s, err := reception.LoadStationConfigs(layout.StationsDir(data)); err == nil && len(s) > 0 {
		c.stations = true
	}
	if k, err := kiosk.LoadStationConfigs(layout.KiosksDir(data)); err == nil && len(k) > 0 {
		c.kiosks = true
	}
	return c
}

func (c terminalsConfig) validate() error {
	var m missing
	m.peer(c.peers, rolePlatform)
	if c.stations {
		m.peer(c.peers, roleEligibility, roleJPKI)
	}
	if c.kiosks {
		m.peer(c.peers, roleJLIS)
	}
	c.pay.missing(&m)
	if c.peers.known(roleGate) && c.gateKey == "" {
		m = append(m, "--caller-keys "+apiGate+"/"+roleTerminals+"=… (MYNAPLAT_CALLER_KEYS)")
	}
	if c.peers.known(rolePostbox) || c.peers.known(roleProcure) {
		m.peer(c.peers, roleTSA)
	}
	for _, r := range c.readers {
		if id, spec, ok := strings.Cut(r, "="); !ok || id == "" || !strings.HasPrefix(spec, "pcsc:") {
			m = append(m, fmt.Sprintf("--reader %q (TERMINAL=pcsc:READER)", r))
		}
	}
	return m.err(roleTerminals)
}

func (c terminalsConfig) build(ctx context.Context, d *deps) (*built, error) {
	lp := newLoops()
	return &built{pages: func(ctx context.Context, mux *http.ServeMux) ([]web.Link, error) {
		return c.pages(ctx, d, mux, lp)
	}, close: lp.close()}, nil
}

func (c terminalsConfig) pages(ctx context.Context, d *deps, mux *http.ServeMux, lp *loops) ([]web.Link, error) {
	configs, err := terminal.LoadConfigs(layout.TerminalsDir(c.data))
	if err != nil {
		return nil, err
	}
	if configs, err = applyReaders(configs, c.readers); err != nil {
		return nil, err
	}
	pu, hc := d.at(rolePlatform)
	var history []terminal.History
	if d.peers.known(roleEligibility) {
		history = append(history, reception.History(d.at(roleEligibility)))
	}
	if d.peers.known(roleMunicipal) {
		history = append(history, municipalHistory(d.at(roleMunicipal)))
	}
	if d.peers.known(roleJPKI) {
		history = append(history, counterHistory(d.at(roleJPKI)))
	}
	tp, err := terminal.NewPages(terminal.PagesConfig{Site: d.site, Cards: d.cards, Terminals: configs,
		PlatformURL: pu, HTTP: hc, PCSC: pcscReader, Logger: d.logger, History: history})
	if err != nil {
		return nil, err
	}
	tp.Routes(mux)
	d.svc.terminals = tp
	links := tp.Links()
	if d.peers.known(rolePostbox) {
		pl, err := c.postboxPages(ctx, d, mux, tp)
		if err != nil {
			return nil, err
		}
		links = append(pl, links...)
	}
	var messages tv.Messages
	if d.peers.known(roleCatv) {
		u, hc := d.at(roleCatv)
		messages = &catv.Client{BaseURL: u, HTTP: hc}
	}
	var towns tv.Town
	if d.peers.known(roleTown) {
		u, hc := d.at(roleTown)
		towns = &town.Client{BaseURL: u, HTTP: hc}
	}
	var daily tv.Watch
	if d.peers.known(roleWatch) {
		u, hc := d.at(roleWatch)
		daily = &watch.Client{BaseURL: u, HTTP: hc}
	}
	gates, gatePages, err := c.gatePages(d, tp)
	if err != nil {
		return nil, err
	}
	var orders tv.Evac
	if d.peers.known(roleEvac) {
		u, hc := d.at(roleEvac)
		// The streams go over a socket, also to this process: the
		// in-process transport answers only once a handler has finished,
		// and a stream does not finish (evac.Client's stream client).
		orders = &evac.Client{BaseURL: u, HTTP: hc}
	}
	tvp, err := tv.New(tv.Config{Site: d.site, Kits: tp.KitsOf(platform.TV), Messages: messages, Town: towns, Watch: daily, Evac: orders, Gates: gates, Logger: d.logger})
	if err != nil {
		return nil, err
	}
	tvp.Routes(mux)
	links = append(links, tvp.Links()...)
	tp.AddElsewhere("テレビポータル（カードとリモコンで）", "The TV portal (with the card and the remote)", tvp.Links()...)
	if gatePages != nil {
		gatePages.Routes(mux)
		links = append(links, gatePages.Links()...)
		tp.AddElsewhere("学校・図書館の入口（カードをかざすだけ）", "The school and library gates (hold the card, no PIN)", gatePages.Links()...)
	}
	if d.peers.known(roleEvac) {
		u, hc := d.at(roleEvac)
		sp, err := shelter.New(shelter.Config{Site: d.site, Kits: tp.KitsOf(platform.Shelter), Office: &evac.Client{BaseURL: u, HTTP: hc}, Logger: d.logger})
		if err != nil {
			return nil, err
		}
		sp.Routes(mux)
		links = append(links, sp.Links()...)
		tp.AddElsewhere("避難所の受付（カードで入所・退所）", "Shelter check-in (in and out with the card)", sp.Links()...)
	}
	dl, err := c.deskPages(ctx, d, mux, tp)
	if err != nil {
		return nil, err
	}
	links = append(links, dl...)
	if d.peers.known(roleProcure) {
		pl, err := c.procurePages(ctx, d, mux, tp)
		if err != nil {
			return nil, err
		}
		links = append(pl, links...)
	}
	viewer, err := cardview.Pages(d.site, d.cards)
	if err != nil {
		return nil, err
	}
	mux.Handle("/cards/", viewer)
	links = append(links, web.Link{Section: "本人 / Card holder", TitleJA: "カードの中身を見る", TitleEN: "Look inside a card",
		DescJA: "電子証明書と暗証番号の残り回数（カードからAPDUで読み取り）", DescEN: "Certificates and PIN tries left, read from the card by APDUs",
		Path: "/cards/"})
	// /t/ lists the terminals whose screens other packages serve too, in
	// the order of the home page's items: (1) kiosks, (2) the hospital.
	var kioskLinks, stationLinks []web.Link
	if stations, err := reception.LoadStationConfigs(layout.StationsDir(c.data)); err != nil {
		return nil, err
	} else if len(stations) > 0 && d.peers.known(roleEligibility) {
		eu, _ := d.at(roleEligibility)
		ju, _ := d.at(roleJPKI)
		var sts []*reception.Station
		for _, sc := range stations {
			st, err := reception.NewStation(sc, reception.StationOptions{PlatformURL: pu, ServiceURL: eu,
				JPKIURL: ju, HTTP: hc, Reader: terminal.VirtualReader{Cards: d.cards},
				Dir: filepath.Join(layout.StationsDir(c.data), sc.Terminal.ID), Logger: d.logger})
			if err != nil {
				return nil, err
			}
			sts = append(sts, st)
		}
		rp, err := reception.NewPages(d.site, d.cards, sts, d.logger)
		if err != nil {
			return nil, err
		}
		rp.Routes(mux)
		d.svc.reception = rp
		links = append(links, rp.Links()...)
		stationLinks = rp.Links()
		lp.spawn(func() {
			rp.Sync(lp.ctx) // the CA and CRL for offline checks, at once
			every(lp.ctx, 10*time.Second, rp.Sync)
		})
	}
	if kcs, err := kiosk.LoadStationConfigs(layout.KiosksDir(c.data)); err != nil {
		return nil, err
	} else if len(kcs) > 0 && d.peers.known(roleJLIS) {
		ru, _ := d.at(roleJLIS)
		var sts []*kiosk.Station
		for _, kc := range kcs {
			st, err := kiosk.NewStation(kc, kiosk.StationOptions{PlatformURL: pu, RelayURL: ru, HTTP: hc,
				Dir: layout.KiosksDir(c.data), Logger: d.logger})
			if err != nil {
				return nil, err
			}
			sts = append(sts, st)
		}
		kp, err := kiosk.NewPages(d.site, d.cards, sts, d.logger)
		if err != nil {
			return nil, err
		}
		kp.Routes(mux)
		links = append(links, kp.Links()...)
		kioskLinks = kp.Links()
		lp.spawn(func() { every(lp.ctx, time.Minute, func(context.Context) { kp.ClearTrays(time.Now()) }) })
	}
	tp.AddElsewhere("コンビニのマルチコピー機（コンビニ交付）", "Convenience-store multi-copy machines (certificates)", kioskLinks...)
	tp.AddElsewhere("医療機関の受付と訪問診療の端末（資格確認）", "Hospital reception and home-visit terminals (eligibility checks)", stationLinks...)
	if desks, err := terminal.LoadConfigs(layout.StaffDesksDir(c.data)); err != nil {
		return nil, err
	} else if len(desks) > 0 {
		sd, err := staffdesk.New(staffdesk.Config{Site: d.site, Cards: d.cards, Terminals: desks, Offices: c.peers.officeBases(), PlatformURL: pu, HTTP: hc, Logger: d.logger,
			Self: c.peers.self})
		if err != nil {
			return nil, err
		}
		sd.Routes(mux)
		tp.AddElsewhere("職員用端末（職員が自分のカードで事務所にログイン）", "Staff terminals (staff sign in to their office with their own card)", sd.Links()...)
	}
	payLinks, err := c.pay.pages(d, mux)
	if err != nil {
		return nil, err
	}
	links = append(links, payLinks...)
	tp.AddElsewhere("自宅のスマートフォン（カード払いの登録）", "The phone at home (linking a credit card)", payLinks...)
	return links, nil
}

// postboxPages are the person's post-box pages, on the terminal people log
// in at (the card on its reader signs); they reach the post box over its
// resident API.
func (c terminalsConfig) postboxPages(ctx context.Context, d *deps, mux *http.ServeMux, tp *terminal.Pages) ([]web.Link, error) {
	id := c.postboxTerminal
	bu, hc := d.at(rolePostbox)
	kit := tp.Kit(id)
	if kit == nil {
		// Data without the terminal (not seeded, or another
		// --postbox-terminal): no card here could log in or sign, so the
		// pages are not served rather than served unusable.
		d.logger.WarnContext(ctx, "mynaplat: the post box's pages are off: no terminal configured", "terminal", id)
		return nil, nil
	}
	pp, err := mybox.New(mybox.Config{Site: d.site, BoxURL: bu, HTTP: hc, Kit: kit, Stamper: d.stamper(), Logger: d.logger})
	if err != nil {
		return nil, err
	}
	pp.Routes(mux)
	return pp.Links(), nil
}

// deskPages are the company desk's (docs/procurement.md §5.1), when one is
// installed in the data directory: the representative's own PC software,
// served here like the resident's post box pages because it is a program
// on a PC with a card reader (its terminal's kit). It reaches the
// corporate registry, the register of powers, the TSA and the
// qualification register (for the notices of new agents) over their APIs.
func (c terminalsConfig) deskPages(ctx context.Context, d *deps, mux *http.ServeMux, tp *terminal.Pages) ([]web.Link, error) {
	dir := layout.DeskDir(c.data)
	if !desk.Installed(dir) {
		return nil, nil
	}
	kit := tp.Kit(layout.DeskTerminalID)
	if kit == nil || !d.peers.known(roleCorpReg) || !d.peers.known(roleDelegation) || !d.peers.known(roleTSA) {
		d.logger.WarnContext(ctx, "mynaplat: the company desk is off: it needs its terminal and the corpreg, delegation and tsa roles",
			"terminal", layout.DeskTerminalID)
		return nil, nil
	}
	cu, hc := d.at(roleCorpReg)
	du, _ := d.at(roleDelegation)
	// The register's notices of new agents, when the register is reachable.
	var notices desk.Notices
	if d.peers.known(roleProcure) {
		pu, _ := d.at(roleProcure)
		notices = (&procure.Client{BaseURL: pu, HTTP: hc}).Notices
	}
	dk, err := desk.New(desk.Config{Site: d.site, Kit: kit, Dir: dir, Corporations: &corpreg.Client{BaseURL: cu, HTTP: hc},
		Powers: &delegation.Client{BaseURL: du, HTTP: hc}, Stamper: d.stamper(), Notices: notices, Now: time.Now, Logger: d.logger})
	if err != nil {
		return nil, err
	}
	pages, err := desk.NewPages(dk)
	if err != nil {
		return nil, err
	}
	pages.Routes(mux)
	return pages.Links(), nil
}

// withProcure sets the terminal agents file procurement applications at.
func (c terminalsConfig) withProcure(id string) terminalsConfig {
	c.procureTerminal = id
	return c
}

// procurePages are the agent's procurement pages, on the terminal agents
// log in at (the card on its reader signs); they reach the register over
// its API.
func (c terminalsConfig) procurePages(ctx context.Context, d *deps, mux *http.ServeMux, tp *terminal.Pages) ([]web.Link, error) {
	kit := tp.Kit(c.procureTerminal)
	if kit == nil {
		d.logger.WarnContext(ctx, "mynaplat: the agents' procurement pages are off: no terminal configured", "terminal", c.procureTerminal)
		return nil, nil
	}
	u, hc := d.at(roleProcure)
	bidding, err := c.bidding(ctx, d)
	if err != nil {
		return nil, err
	}
	ap, err := procureagent.New(procureagent.Config{Site: d.site, Register: &procure.Client{BaseURL: u, HTTP: hc}, Kit: kit,
		Stamper: d.stamper(), Logger: d.logger, Bidding: bidding})
	if err != nil {
		return nil, err
	}
	ap.Routes(mux)
	return ap.Links(), nil
}

// bidding is what the agent's bidding pages need, when the bodies and the
// TSA are reachable: the bodies' API (the bid is sealed on this side and
// only the envelope crosses, docs/procurement.md §5.5), the TSA's roots
// for the receipts and the terminal's own directory for them.
func (c terminalsConfig) bidding(ctx context.Context, d *deps) (*procureagent.Bidding, error) {
	if !d.peers.known(roleBodies) || !d.peers.known(roleTSA) {
		d.logger.WarnContext(ctx, "mynaplat: the agents' bidding pages are off: they need the bodies and tsa roles")
		return nil, nil
	}
	roots, err := d.timestampRoots(ctx)
	if err != nil {
		return nil, err
	}
	bu, hc := d.at(roleBodies)
	refs := make([]procureagent.BodyRef, 0, len(demoBodies))
	for _, b := range demoBodies {
		refs = append(refs, procureagent.BodyRef{ID: b.ID, NameJA: b.NameJA, NameEN: b.NameEN})
	}
	return &procureagent.Bidding{Client: &body.Client{BaseURL: bu, HTTP: hc}, Bodies: refs, TSARoots: roots,
		Dir: layout.AgentDir(c.data)}, nil
}

// applyReaders gives terminals named in --reader a real reader.
func applyReaders(configs []terminal.Config, readers []string) ([]terminal.Config, error) {
	for _, r := range readers {
		id, spec, ok := strings.Cut(r, "=")
		if !ok || !strings.HasPrefix(spec, "pcsc:") {
			return nil, fmt.Errorf("--reader %q: want TERMINAL=pcsc:READER", r)
		}
		found := false
		for i := range configs {
			if configs[i].ID == id {
				configs[i].Reader, found = spec, true
			}
		}
		if !found {
			return nil, fmt.Errorf("--reader: no terminal %q", id)
		}
	}
	return configs, nil
}

// municipalHistory is the residence register's history of a card holder
// for /me/audit: who read or changed their record, by office and staff
// number (municipal.MyHistory, the holder's assertion as its bearer).
func municipalHistory(baseURL string, hc *http.Client) terminal.History {
	return terminal.History{TitleJA: "住民基本台帳（市区町村）", TitleEN: "Residence register (municipality)",
		Fetch: func(ctx context.Context, assertion string) ([]terminal.HistoryEntry, error) {
			es, err := municipal.MyHistory(ctx, hc, baseURL, assertion)
			if err != nil {
				return nil, err
			}
			out := make([]terminal.HistoryEntry, 0, len(es))
			for _, e := range es {
				ja, en := e.What()
				out = append(out, terminal.HistoryEntry{At: e.At, Where: e.Municipality, WhatJA: ja, WhatEN: en,
					Office: e.Office, StaffNumber: e.StaffNumber})
			}
			return out, nil
		}}
}

// counterHistory is the JPKI centre's history of what the counters did to
// a card holder's cards, for /me/audit: issuance, renewal, change of
// address, revocation, loss, death, PIN reset, by the counter's office
// and the staff numbers of the clerk and the approving supervisor
// (jpki.MyHistory, the holder's assertion as its bearer).
func counterHistory(baseURL string, hc *http.Client) terminal.History {
	return terminal.History{TitleJA: "電子証明書の窓口", TitleEN: "JPKI counter",
		Fetch: func(ctx context.Context, assertion string) ([]terminal.HistoryEntry, error) {
			es, err := jpki.MyHistory(ctx, hc, baseURL, assertion)
			if err != nil {
				return nil, err
			}
			out := make([]terminal.HistoryEntry, 0, len(es))
			for _, e := range es {
				ja, en := e.What()
				if e.ApproverNumber != "" {
					ja += "（責任者 職員番号 " + e.ApproverNumber + " の承認）"
					en += " (approved by supervisor " + e.ApproverNumber + ")"
				}
				out = append(out, terminal.HistoryEntry{At: e.At, Where: e.Municipality, WhatJA: ja, WhatEN: en,
					Office: e.Office, StaffNumber: e.StaffNumber})
			}
			return out, nil
		}}
}
