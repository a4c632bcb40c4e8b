package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"time"

	"github.com/mynaplat/mynaplat/demo"
	"github.com/mynaplat/mynaplat/internal/layout"
	"github.com/mynaplat/mynaplat/web"
)

// The demo path: seeding the demo world (--demo), the /demo pages and the
// home page's guide. Nothing else in serve reads the demo package.

// seedDemo seeds the parts of the demo world whose services run in this
// process, each once. The world itself (cards, terminals) needs the centre
// and the platform here; the post box part needs all its roles here.
func seedDemo(ctx context.Context, d *deps, o serveOptions) error {
	s := &d.svc
	if s.centre == nil || s.plat == nil {
		return errors.New("--demo: jpki と platform をこのプロセスで動かしてください / --demo needs the jpki and platform roles in this process")
	}
	if s.muni != nil && s.kiosk != nil {
		if _, err := demo.SeedKiosk(ctx, demo.KioskConfig{DB: d.db, Municipal: s.muni, Kiosk: s.kiosk, Platform: s.plat,
			DataDir: d.data, Now: time.Now}); err != nil {
			return err
		}
	}
	if _, err := demo.Seed(ctx, demo.Config{DB: d.db, Centre: s.centre, Cards: d.cards, Platform: s.plat, Staff: s.staff, DataDir: d.data,
		JPKIDir: filepath.Join(d.data, "jpki"), BaseURL: d.peers.url(roleJPKI), Now: time.Now, Logger: d.logger}); err != nil {
		return err
	}
	if err := s.plat.RefreshCRL(ctx); err != nil {
		d.logger.Warn("refresh CRL cache", "err", err)
	}
	if s.elig != nil {
		if _, err := demo.SeedEligibility(ctx, demo.EligibilityConfig{DB: d.db, Service: s.elig, Platform: s.plat, CardCo: s.company,
			DataDir: d.data, Now: time.Now}); err != nil {
			return err
		}
		if s.cardcoClient.MerchantKey == "" {
			s.cardcoClient.MerchantKey = layout.MerchantKey(d.data)
		}
	}
	if s.registry != nil && s.powers != nil && s.box != nil && s.agency != nil && s.business != nil {
		pu, _ := d.at(rolePlatform)
		if _, err := demo.SeedPostbox(ctx, demo.PostboxConfig{DB: d.db, Platform: s.plat, Cards: d.cards, Registry: s.registry,
			Powers: s.powers, Postbox: s.box, Agency: s.agency, Business: s.business, Stamper: s.stamper,
			BaseURL: pu, HTTP: d.hc, PostboxURL: d.peers.url(rolePostbox), AgencyURL: d.peers.url(roleAgency),
			BusinessURL: d.peers.url(roleBusiness), DataDir: d.data, Now: time.Now}); err != nil {
			return err
		}
	} else if d.peers.known(rolePostbox) {
		d.logger.Info("demo: the post box part is seeded where all the post-box roles run")
	}
	if s.registry != nil && s.powers != nil && s.procure != nil {
		pu, _ := d.at(rolePlatform)
		if _, err := demo.SeedProcure(ctx, demo.ProcureConfig{DB: d.db, Platform: s.plat, Cards: d.cards, Registry: s.registry,
			Powers: s.powers, Stamper: d.stamper(), BaseURL: pu, HTTP: d.hc, DataDir: d.data, Now: time.Now}); err != nil {
			return err
		}
	}
	if s.bodies != nil && s.staff != nil {
		if _, err := demo.SeedTenders(ctx, demo.TendersConfig{DB: d.db, Staff: s.staff, Bodies: s.bodies, Now: time.Now}); err != nil {
			return err
		}
	}
	if s.catv != nil {
		if err := demo.SeedCATV(ctx, demo.CATVConfig{CATV: s.catv, Platform: s.plat, Cards: d.cards, Now: time.Now}); err != nil {
			return err
		}
	}
	if s.towns != nil {
		if err := demo.SeedTowns(ctx, demo.TownsConfig{Towns: s.towns, Platform: s.plat, Cards: d.cards, Now: time.Now}); err != nil {
			return err
		}
	}
	if s.watch != nil {
		if err := demo.SeedWatch(ctx, demo.WatchConfig{Watch: s.watch, Platform: s.plat, Cards: d.cards}); err != nil {
			return err
		}
	}
	if s.evac != nil {
		if err := demo.SeedEvac(ctx, demo.EvacConfig{Evac: s.evac, Platform: s.plat, Cards: d.cards}); err != nil {
			return err
		}
	}
	if len(s.gates) > 0 {
		if err := demo.SeedGate(ctx, demo.GateConfig{Gates: s.gates, Platform: s.plat, Cards: d.cards}); err != nil {
			return err
		}
	}
	if err := seedTownweb(ctx, d, o.townwebClientID); err != nil {
		return err
	}
	return seedNissay(ctx, d, nissayDemoClientID)
}

// demoPages serves /demo (the cards and PINs to use) and returns its link.
func demoPages(d *deps, mux *http.ServeMux) ([]web.Link, error) {
	dp, err := demo.NewPages(d.site, d.cards, d.data)
	if err != nil {
		return nil, err
	}
	dp.Routes(mux)
	return []web.Link{{Section: "デモ / Demo", TitleJA: "デモ用カードと暗証番号", TitleEN: "Demo cards and PINs",
		DescJA: "どのカードを置いて、どの暗証番号を入れるか", DescEN: "Which card to place and which PIN to enter", Path: "/demo"}}, nil
}

// homeGuide is the home page's guide, shown once there is a demo world.
func homeGuide(d *deps, seeded bool) []web.HomeSection {
	return demo.Guide(seeded || demo.HasWorld(d.cards))
}

// printFirstSteps prints the demo's three things to try first, the ones the
// home page's はじめに shows, with their URLs and cards.
func printFirstSteps(w io.Writer, url string) {
	fmt.Fprintln(w, "mynaplat: はじめに / start here:")
	for i, st := range demo.FirstSteps() {
		fmt.Fprintf(w, "  %d. %s / %s\n     %s%s", i+1, st.TitleJA, st.TitleEN, url, st.Path)
		if c := st.Card; c != nil {
			fmt.Fprintf(w, "  %s, 暗証番号 / PIN %s", c.Name, c.PIN)
			if c.SignPIN != "" {
				fmt.Fprintf(w, ", 署名用パスワード / signing password %s", c.SignPIN)
			}
		}
		fmt.Fprintln(w)
	}
}
