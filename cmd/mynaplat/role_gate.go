package main

import (
	"context"
	"net/http"
	"time"

	"github.com/mynaplat/mynaplat/community/gate"
	"github.com/mynaplat/mynaplat/community/mail/mailbox"
	"github.com/mynaplat/mynaplat/community/tvlogin"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/web"
)

// gateBody is a body the gate role hosts and the gate terminal that reads
// its children's cards.
type gateBody struct {
	Body     gate.Body
	Terminal string
}

// gateBodies are the bodies of the role: the demo's 南部町立 南部小学校 and
// 南部町立図書館 (docs/community-tv.md §2; the phone numbers are the
// demo's, not theirs), each with its own rows, outbox, API path and
// office.
var gateBodies = []gateBody{
	{Body: gate.Body{ID: "nambu-school", Name: "南部町立 南部小学校", NameEN: "Nambu Elementary School", Phone: "0859-00-1101"}, Terminal: "school-nambu-1"},
	{Body: gate.Body{ID: "nambu-library", Name: "南部町立図書館", NameEN: "Nambu Town Library", Phone: "0859-00-1102"}, Terminal: "library-nambu-1"},
}

// gateConfig is the schools' and libraries' children's check-in
// (docs/community-tv.md §2, §5.5): the presence read of a child's card
// asked of the platform under its caller key (platform/gate), the gate
// terminals' touches under theirs (gate/terminals), the parents' TV
// history believing their card login at the TV, the parents' mails over
// SMTP, the staff's pages (office gate:{body}, caller key staff/gate).
type gateConfig struct {
	peers *peers
	keys  callerKeys
	smtp  smtpFlags
}

func (c gateConfig) validate() error {
	var m missing
	m.peer(c.peers, rolePlatform)
	m.key(c.keys, apiPlatform, roleGate)
	m.key(c.keys, apiStaff, roleGate)
	if c.smtp.addr != "" || c.smtp.from != "" {
		cfg, err := c.smtp.config()
		if err == nil {
			err = cfg.Validate()
		}
		if err != nil {
			m = append(m, err.Error())
		}
	}
	return m.err(roleGate)
}

func (c gateConfig) build(ctx context.Context, d *deps) (*built, error) {
	transport, sharedBox, owner, err := d.mailTransport(c.smtp, roleGate)
	if err != nil {
		return nil, err
	}
	var box *mailbox.Server
	if owner {
		box = sharedBox
	}
	closeBox := func() error {
		if box != nil {
			return box.Close()
		}
		return nil
	}
	pu, hc := d.at(rolePlatform)
	plat := platform.NewCallerClient(pu, d.keys.key(apiPlatform, roleGate), hc)
	var svcs []*gate.Service
	for _, b := range gateBodies {
		s, err := gate.New(ctx, gate.Config{DB: d.db, Body: b.Body, Presented: plat.PresentedPerson, Mail: transport, Logger: d.logger})
		if err != nil {
			closeBox()
			return nil, err
		}
		svcs = append(svcs, s)
	}
	d.svc.gates = svcs
	pages, err := gate.NewPages(d.site, svcs...)
	if err != nil {
		closeBox()
		return nil, err
	}
	if err := d.gateOffices(roleGate, pages); err != nil {
		closeBox()
		return nil, err
	}
	api := gate.APIConfig{Login: tvlogin.Config{Keys: d.platformKeys().Keys, Issuer: d.peers.url(rolePlatform)},
		Gates: c.keys.acceptedFrom(apiGate, roleTerminals)}
	lp := newLoops()
	for _, s := range svcs {
		lp.spawn(func() { s.Run(lp.ctx, 30*time.Second) })
	}
	return &built{routes: func(mux *http.ServeMux) {
		for _, s := range svcs {
			s.Routes(mux, api)
		}
		pages.Routes(mux)
		if box != nil {
			if err := box.Routes(mux, d.site); err != nil {
				d.logger.Error("gate: the mailbox page", "err", err)
			}
		}
	}, pages: func(context.Context, *http.ServeMux) ([]web.Link, error) {
		links := pages.Links()
		if box != nil {
			links = append(links, mailboxLink)
		}
		return links, nil
	}, close: lp.close(closeBox)}, nil
}
