package main

import (
	"context"
	"net/http"
	"time"

	"github.com/mynaplat/mynaplat/community/catv"
	"github.com/mynaplat/mynaplat/community/town"
	"github.com/mynaplat/mynaplat/community/tvlogin"
)

// townConfig is the towns' (docs/community-tv.md §2, §5.3): their
// residents' checkups and their facilities' booking, with the TV portal's
// API, which believes the person's card login at their TV, checked with
// the platform's JWK set. The reminders the day before go to the person's
// TV through the CATV operators' machine API when the catv role is known
// (its caller key catv/town); without it the towns serve the same, with
// no reminders.
type townConfig struct {
	peers *peers
	keys  callerKeys
}

// remindEvery is how often the reminder sweep runs.
const remindEvery = time.Minute

func (c townConfig) validate() error {
	var m missing
	m.peer(c.peers, rolePlatform)
	if c.peers.known(roleCatv) {
		m.key(c.keys, apiCatv, roleTown)
	}
	return m.err(roleTown)
}

func (c townConfig) build(ctx context.Context, d *deps) (*built, error) {
	svc, err := town.NewService(ctx, d.db, time.Now, d.logger)
	if err != nil {
		return nil, err
	}
	d.svc.towns = svc
	api := tvlogin.Config{Keys: d.platformKeys().Keys, Issuer: d.peers.url(rolePlatform)}
	lp := newLoops()
	if d.peers.known(roleCatv) {
		u, hc := d.at(roleCatv)
		sender := &catv.TownClient{BaseURL: u, Key: c.keys.key(apiCatv, roleTown), HTTP: hc}
		lp.spawn(func() {
			every(lp.ctx, remindEvery, func(ctx context.Context) {
				if _, err := svc.Remind(ctx, sender); err != nil && ctx.Err() == nil {
					d.logger.Warn("town: reminders", "err", err)
				}
			})
		})
	} else {
		d.logger.Info("town: no --catv-url: the towns send no reminders")
	}
	return &built{routes: func(mux *http.ServeMux) { svc.Routes(mux, api) }, close: lp.close()}, nil
}
