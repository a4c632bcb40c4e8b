package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/mynaplat/mynaplat/demo/people"
	"github.com/mynaplat/mynaplat/internal/layout"
	"github.com/mynaplat/mynaplat/jlis"
	"github.com/mynaplat/mynaplat/kiosk"
	"github.com/mynaplat/mynaplat/municipal"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/terminal"
)

// The コンビニ交付 part of the demo world: the registers and issuance
// servers of every demo municipality and of 山形市 (only the 本籍地 of 酒田
// 一郎), the relay's directory of them, and two convenience-store kiosks.

// Kiosks are the demo's convenience-store multi-copy machines.
var Kiosks = []platform.Terminal{
	{ID: "kiosk-konbini-sakata-1", Kind: platform.Kiosk, Owner: "コンビニエンスストア 酒田本町店", Name: "マルチコピー機（酒田本町店）"},
	{ID: "kiosk-konbini-suzaka-1", Kind: platform.Kiosk, Owner: "コンビニエンスストア 須坂インター店", Name: "マルチコピー機（須坂インター店）"},
}

// KioskConfig holds what seeding the kiosk part needs.
type KioskConfig struct {
	DB        *store.DB
	Municipal *municipal.Service
	Kiosk     *jlis.Service
	Platform  *platform.Platform
	DataDir   string
	Now       func() time.Time
}

// SeedKiosk seeds the kiosk part once.
func SeedKiosk(ctx context.Context, cfg KioskConfig) (bool, error) {
	ok, release, err := claimPart(ctx, cfg.DB, "kiosk", cfg.Now)
	if err != nil || !ok {
		return false, err
	}
	done := false
	defer func() { release(done) }()
	w, err := cfg.Municipal.SeedDemo(ctx, municipal.DemoResidents(people.Residents))
	if err != nil {
		return false, err
	}
	if w == nil {
		return false, fmt.Errorf("demo: the municipal registers exist but the kiosk part was never seeded; use a fresh data directory")
	}
	if err := aroundTheClock(ctx, cfg.Municipal, w); err != nil {
		return false, err
	}
	eps := map[string]jlis.Endpoint{}
	for code, k := range w.Keys {
		eps[code] = jlis.Endpoint{Key: k.Relay} // in this process
	}
	if err := jlis.SaveEndpoints(layout.EndpointsPath(cfg.DataDir), eps); err != nil {
		return false, err
	}
	for _, t := range Kiosks {
		tkey, err := cfg.Platform.RegisterTerminal(ctx, t)
		if err != nil {
			return false, fmt.Errorf("demo: terminal %s: %w", t.ID, err)
		}
		rkey, err := cfg.Kiosk.AddKiosk(ctx, t.ID, t.Owner)
		if err != nil {
			return false, err
		}
		sc := kiosk.StationConfig{Terminal: terminal.Config{ID: t.ID, Kind: t.Kind, Owner: t.Owner, Name: t.Name, Key: tkey, Reader: "virtual"},
			Store: t.Owner, RelayKey: rkey}
		if err := kiosk.SaveStationConfig(layout.KiosksDir(cfg.DataDir), sc); err != nil {
			return false, err
		}
	}
	done = true
	return true, nil
}

// aroundTheClock opens the demo towns' kiosk certificates at every hour of
// every day, so that the demo works whenever it is run; the real hours
// (6:30–23:00, the year-end closure) stay in the tests of package municipal.
// 酒田市 keeps its weekday-only 戸籍 hours, so the menu shows how an item
// out of its hours looks.
func aroundTheClock(ctx context.Context, s *municipal.Service, w *municipal.DemoWorld) error {
	for code := range w.Keys {
		offers, err := s.Catalogue(ctx, code)
		if err != nil {
			return err
		}
		for _, o := range offers {
			if code == "062049" && o.WeekdaysOnly {
				continue
			}
			o.Open, o.Close, o.WeekdaysOnly, o.AllYear = 0, 24*60, false, true
			if err := s.SetOffer(ctx, code, o); err != nil {
				return err
			}
		}
	}
	return nil
}
