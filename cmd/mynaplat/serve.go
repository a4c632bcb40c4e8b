package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/cardco"
	"github.com/mynaplat/mynaplat/counter"
	"github.com/mynaplat/mynaplat/demo"
	"github.com/mynaplat/mynaplat/eligibility"
	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/internal/inproc"
	"github.com/mynaplat/mynaplat/internal/trace"
	"github.com/mynaplat/mynaplat/jlis"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/kiosk"
	"github.com/mynaplat/mynaplat/municipal"
	"github.com/mynaplat/mynaplat/payenrol"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/reception"
	"github.com/mynaplat/mynaplat/seal"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/web"
)

// The roles one process can run.
const (
	roleJPKI        = "jpki"
	rolePlatform    = "platform"
	roleTerminals   = "terminals"
	roleEligibility = "eligibility"
	roleCardCo      = "cardco"
	roleMunicipal   = "municipal"
	roleJLIS        = "jlis"
)

type serveOptions struct {
	data             dataFlags
	addr             string
	demo             bool
	roles            string
	jpkiURL          string
	jpkiToken        string
	platformURL      string
	logJSON          bool
	crlCheck         time.Duration
	crlRefresh       time.Duration
	revocationMaxAge time.Duration
	readers          stringList
	debugAddr        string
	cardcoURL        string
	cardcoKey        string
	postboxTerminal  string
}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

var serveCommand = &command{name: "serve", run: serve,
	summary:  "サーバーを起動（役割ごとに分けられる） / run the server (all roles, or some of them)",
	synopsis: "[--addr 127.0.0.1:8080] [--data DIR] [--db DSN] [--demo] [--roles jpki,platform,terminals,…]",
}

func serve(ctx context.Context, fs *flag.FlagSet, args []string, out io.Writer) error {
	var o serveOptions
	o.data.register(fs)
	fs.StringVar(&o.addr, "addr", envOr("MYNAPLAT_ADDR", "127.0.0.1:8080"), "address to listen on")
	fs.BoolVar(&o.demo, "demo", false, "seed the demo world (once) and show its cards and PINs on /demo")
	fs.StringVar(&o.roles, "roles", envOr("MYNAPLAT_ROLES", "jpki,platform,terminals,eligibility,cardco,municipal,jlis,"+strings.Join(postboxRoles, ",")),
		"roles to run: jpki, platform, terminals, eligibility (runs with platform), cardco (the card company), "+
			"jlis (the kiosk relay, seal register and /verify; runs with platform), municipal (registers and issuance servers; runs with jlis), "+
			"and the post box's tsa, corpreg, delegation, postbox, agency, business (together, with platform)")
	fs.StringVar(&o.jpkiURL, "jpki-url", os.Getenv("MYNAPLAT_JPKI_URL"), "the JPKI centre's URL when the jpki role runs elsewhere")
	fs.StringVar(&o.jpkiToken, "jpki-token", os.Getenv("MYNAPLAT_JPKI_TOKEN"), "platform operator token for the remote JPKI centre")
	fs.StringVar(&o.platformURL, "platform-url", os.Getenv("MYNAPLAT_PLATFORM_URL"), "the platform's URL when the platform role runs elsewhere")
	fs.BoolVar(&o.logJSON, "log-json", false, "log as JSON")
	fs.DurationVar(&o.crlCheck, "crl-check", time.Minute, "how often the centre checks whether a CRL is due")
	fs.DurationVar(&o.crlRefresh, "crl-refresh", 5*time.Second, "how often the platform asks whether the CRL changed")
	fs.DurationVar(&o.revocationMaxAge, "revocation-max-age", 10*time.Minute, "freshness bound of revocation data; past it, OCSP, else INDETERMINATE")
	fs.StringVar(&o.cardcoURL, "cardco-url", os.Getenv("MYNAPLAT_CARDCO_URL"), "the card company's URL when the cardco role runs elsewhere")
	fs.StringVar(&o.cardcoKey, "cardco-key", os.Getenv("MYNAPLAT_CARDCO_KEY"), "the platform's merchant key at the card company")
	fs.StringVar(&o.postboxTerminal, "postbox-terminal", envOr("MYNAPLAT_POSTBOX_TERMINAL", demo.PostboxTerminal.ID),
		"the terminal people log in at to open their post box")
	fs.StringVar(&o.debugAddr, "debug-addr", "", "serve Go's pprof profiles on this (loopback) address, e.g. 127.0.0.1:6060")
	fs.Var(&o.readers, "reader", "TERMINAL=pcsc:READER: give a terminal a real PC/SC reader (build with -tags pcsc); repeatable")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	roles := map[string]bool{}
	for _, r := range strings.Split(o.roles, ",") {
		switch r = strings.TrimSpace(r); r {
		case roleJPKI, rolePlatform, roleTerminals, roleEligibility, roleCardCo, roleMunicipal, roleJLIS,
			roleTSA, roleCorpReg, roleDelegation, rolePostbox, roleAgency, roleBusiness:
			roles[r] = true
		case "":
		default:
			return fmt.Errorf("--roles: unknown role %q (jpki, platform, terminals, eligibility, cardco, municipal, jlis, %s)", r,
				strings.Join(postboxRoles, ", "))
		}
	}
	some, all := false, true
	for _, r := range postboxRoles {
		some, all = some || roles[r], all && roles[r]
	}
	if some && (!all || !roles[rolePlatform]) {
		return fmt.Errorf("the post-box roles (%s) run together and with the platform role, for now", strings.Join(postboxRoles, ", "))
	}
	if o.demo && !(roles[roleJPKI] && roles[rolePlatform]) {
		return errors.New("--demo needs the jpki and platform roles in this process")
	}
	if roles[roleEligibility] && !roles[rolePlatform] {
		return errors.New("the eligibility role runs with the platform role (it asks the platform for card holders' attributes)")
	}
	if roles[roleJLIS] && !roles[rolePlatform] {
		return errors.New("the jlis role runs with the platform role (it asks the platform for card holders' attributes)")
	}
	if roles[roleMunicipal] && !roles[roleJLIS] {
		return errors.New("the municipal role runs with the jlis role for now (the relay's anti-forgery signs in the same process)")
	}
	logger := newLogger(o.logJSON, slog.LevelInfo)

	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.addr, err)
	}
	url := "http://" + ln.Addr().String()
	if o.data.baseURL != "" {
		url = strings.TrimRight(o.data.baseURL, "/")
	}
	srv, err := buildServer(ctx, o, roles, url, logger)
	if err != nil {
		ln.Close()
		return err
	}
	// Every return closes the roles once; the graceful one returns its error.
	closeRoles := sync.OnceValue(srv.close)
	defer closeRoles()

	if o.debugAddr != "" {
		dm := http.NewServeMux()
		dm.HandleFunc("/debug/pprof/", pprof.Index)
		dm.HandleFunc("/debug/pprof/profile", pprof.Profile)
		dm.HandleFunc("/debug/pprof/trace", pprof.Trace)
		dbg := &http.Server{Addr: o.debugAddr, Handler: dm, ReadHeaderTimeout: 10 * time.Second}
		go dbg.ListenAndServe()
		defer dbg.Close()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.http.Serve(ln) }()
	logger.Info("mynaplat is serving", "url", url, "roles", o.roles, "db", srv.db.Dialect, "data", o.data.data)
	fmt.Fprintf(out, "mynaplat: open %s in a browser (Ctrl-C stops)\n", url)
	if o.demo {
		printFirstSteps(out, url)
	}

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.http.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	if err := closeRoles(); err != nil {
		return fmt.Errorf("close the roles: %w", err)
	}
	logger.Info("stopped")
	return nil
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

type server struct {
	http *http.Server
	db   *store.DB
	stop context.CancelFunc
	// loops are the roles' background goroutines (CRL refresh, key
	// rotation, expiry, delivery …), which end when stop is called.
	loops sync.WaitGroup
	// closers close the roles' services, in reverse order, once the loops
	// have ended and before the database closes.
	closers []func() error
}

// spawn runs f as a background loop of the server.
func (s *server) spawn(f func()) { s.loops.Go(f) }

// close stops the loops, waits for them, closes the services and then the
// database. Call it after the HTTP server has finished its requests.
func (s *server) close() error {
	s.stop()
	s.loops.Wait()
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		errs = append(errs, s.closers[i]())
	}
	errs = append(errs, s.db.Close())
	return errors.Join(errs...)
}

// buildServer opens the data and wires the roles onto one mux. Roles reach
// each other through their HTTP APIs; inside one process the client is
// short-circuited to the handler (package inproc), the contract unchanged.
func buildServer(ctx context.Context, o serveOptions, roles map[string]bool, url string, logger *slog.Logger) (*server, error) {
	db, err := store.Open(ctx, store.Options{DSN: o.data.db, DataDir: o.data.data, Logger: logger})
	if err != nil {
		return nil, err
	}
	bg, stop := context.WithCancel(context.Background())
	srv := &server{db: db, stop: stop}
	fail := func(err error) (*server, error) {
		srv.close()
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	cards, err := card.NewStore(filepath.Join(o.data.data, "cards"), time.Now)
	if err != nil {
		return fail(err)
	}
	site, err := web.New(ctx, web.Options{DB: db, Logger: logger, Now: time.Now, SecureCookies: strings.HasPrefix(url, "https://")})
	if err != nil {
		return fail(err)
	}
	mux := http.NewServeMux()
	site.Routes(mux)
	// Role-to-role calls in this process go straight to the role APIs on the
	// mux (plus the OCSP GET bypass once the centre exists); they need none of
	// the browser-facing layers.
	var internal http.Handler = mux
	self := inproc.Client(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { internal.ServeHTTP(w, r) }))
	var links []web.Link
	// The roles in this process call each other's operator APIs with keys
	// made now: nothing outside the process needs them.
	keys := newLocalKeys()
	platformKeys := platform.NewKeyCache(url, self)

	var centre *jpki.Centre
	if roles[roleJPKI] {
		jpkiDir := filepath.Join(o.data.data, "jpki")
		if centre, err = jpki.Open(ctx, jpki.Config{DB: db, Dir: jpkiDir, BaseURL: url, Now: time.Now, Logger: logger}); err != nil {
			return fail(err)
		}
		centre.Routes(mux)
		internal = centre.Wrap(mux)
		counterPages, err := counter.NewPages(centre, site, cards)
		if err != nil {
			return fail(err)
		}
		mux.Handle("/counter/", counterPages)
		links = append(links,
			web.Link{Section: "窓口・管理 / Back office", TitleJA: "市区町村窓口（JPKI）", TitleEN: "Municipal counter (JPKI)",
				DescJA: "カードの発行・更新・住所変更・紛失・失効", DescEN: "Issue, renew, change address, report loss, revoke", Path: "/counter/"},
			web.Link{Section: "窓口・管理 / Back office", TitleJA: "失効リスト（CRL）", TitleEN: "Revocation lists (CRL)",
				DescJA: "利用者証明用 auth.crl", DescEN: "user authentication CA: auth.crl", Path: "/jpki/crl/auth.crl"})
		srv.spawn(func() {
			every(bg, o.crlCheck, func(ctx context.Context) {
				crls, err := centre.RefreshCRLs(ctx)
				if err != nil && ctx.Err() == nil {
					logger.Error("refresh CRLs", "err", err)
				}
				for _, c := range crls {
					logger.Info("published CRL", "kind", c.Kind, "number", c.Number)
				}
			})
		})
	}

	var plat *platform.Platform
	if roles[rolePlatform] {
		jc := &jpki.Client{BaseURL: o.jpkiURL, Token: o.jpkiToken}
		cfg := platform.Config{DB: db, Centre: jc, Issuer: url, RevocationMaxAge: o.revocationMaxAge,
			Now: time.Now, Logger: logger, Metrics: reg}
		if centre != nil {
			token, err := localOperatorToken(ctx, centre, filepath.Join(o.data.data, "platform"))
			if err != nil {
				return fail(err)
			}
			jc.BaseURL, jc.Token, jc.HTTP = url, token, self
			cfg.AuthCA, cfg.SignCA = centre.CA(jpki.Auth), centre.CA(jpki.Sign)
		} else if o.jpkiURL == "" || o.jpkiToken == "" {
			return fail(errors.New("the platform role without the jpki role needs --jpki-url and --jpki-token"))
		}
		if plat, err = platform.Open(ctx, cfg); err != nil {
			return fail(err)
		}
		srv.closers = append(srv.closers, plat.Close)
		plat.Routes(mux)
		plat.CallerRoutes(mux, keys.platform)
		srv.spawn(func() {
			every(bg, o.crlRefresh, func(ctx context.Context) {
				if err := plat.RefreshCRL(ctx); err != nil && ctx.Err() == nil {
					logger.Warn("refresh CRL cache", "err", err)
				}
			})
		})
		srv.spawn(func() {
			every(bg, time.Hour, func(ctx context.Context) {
				if err := plat.RotateKeys(ctx); err != nil && ctx.Err() == nil {
					logger.Error("rotate assertion keys", "err", err)
				}
				if err := plat.Maintain(ctx); err != nil && ctx.Err() == nil {
					logger.Error("platform maintenance", "err", err)
				}
			})
		})
	}

	var elig *eligibility.Service
	// The platform's merchant client at the card company; its key comes
	// from --cardco-key, or from the demo seeding below.
	cardcoClient := &cardco.Client{BaseURL: o.cardcoURL, MerchantKey: o.cardcoKey, HTTP: httpapi.NewHTTPClient(httpapi.DefaultTimeout)}
	var rp *reception.Pages // the stations, for the facility back office
	if roles[roleEligibility] {
		signCA, jc, err := signingTrust(ctx, centre, o, url, self)
		if err != nil {
			return fail(err)
		}
		if roles[roleCardCo] {
			cardcoClient.BaseURL, cardcoClient.HTTP = url, self
		}
		if elig, err = eligibility.Open(ctx, eligibility.Config{DB: db, Now: time.Now, Logger: logger, Issuer: url,
			Keys: platformKeys.Keys, Attributes: keys.platformClient(roleEligibility, url, self).PersonAttributes, CardCo: cardcoClient,
			Payment: eligibility.PaymentConfig{SignCA: signCA, OCSP: jc.OCSP,
				PersonAttributes: keys.platformClient(roleEligibility, url, self).PersonAttributes}}); err != nil {
			return fail(err)
		}
		elig.Routes(mux)
		elig.FacilityRoutes(mux)
		elig.PaymentRoutes(mux)
		worker := elig.StartBatchWorker(bg, eligibility.BatchWorkerConfig{})
		srv.spawn(worker.Wait)
		elig.BatchRoutes(mux, worker)
		clinic, err := elig.ClinicPages(eligibility.ClinicPagesConfig{Site: site, Worker: worker,
			Provisional: func(ctx context.Context, facility string) ([]eligibility.ProvisionalCheck, error) {
				if rp == nil {
					return nil, nil
				}
				return rp.Provisional(ctx, facility)
			}})
		if err != nil {
			return fail(err)
		}
		clinic.Routes(mux)
		office, err := elig.OfficePages(site)
		if err != nil {
			return fail(err)
		}
		office.Routes(mux)
		links = append(links, clinic.Links()...)
		links = append(links, office.Links()...)
	}
	var company *cardco.Company
	if roles[roleCardCo] {
		if company, err = cardco.Open(ctx, cardco.Config{DB: db, Now: time.Now, Logger: logger, Callers: keys.cardco}); err != nil {
			return fail(err)
		}
		company.Routes(mux)
	}

	var ksvc *jlis.Service
	if roles[roleJLIS] {
		signCA, jc, err := signingTrust(ctx, centre, o, url, self)
		if err != nil {
			return fail(err)
		}
		auth, err := seal.OpenAuthority(filepath.Join(o.data.data, "seal"), time.Now)
		if err != nil {
			return fail(err)
		}
		sealSvc, err := seal.New(ctx, seal.Config{DB: db, Authority: auth, Now: time.Now, Logger: logger})
		if err != nil {
			return fail(err)
		}
		sp, err := seal.NewPages(site, sealSvc)
		if err != nil {
			return fail(err)
		}
		sp.Routes(mux)
		sealSvc.CallerRoutes(mux, keys.seal)
		links = append(links, sp.Links()...)
		if ksvc, err = jlis.Open(ctx, jlis.Config{DB: db, Now: time.Now, Logger: logger,
			Verifier: &jpki.SigningVerifier{CA: signCA, OCSP: jc.OCSP, MaxAge: o.revocationMaxAge}}); err != nil {
			return fail(err)
		}
		if roles[roleMunicipal] {
			muni, err := municipal.Open(ctx, municipal.Config{DB: db, Now: time.Now, Logger: logger})
			if err != nil {
				return fail(err)
			}
			mp, err := municipal.NewPages(muni, site, jlis.AntiForgery{Register: seal.NewClient(url, keys.sealKey, self)})
			if err != nil {
				return fail(err)
			}
			mp.SetRegistrations(jlis.NewQueueClient(url, keys.queueKey, self))
			mp.Routes(mux)
			links = append(links, mp.Links()...)
			if o.demo {
				if _, err := demo.SeedKiosk(ctx, demo.KioskConfig{DB: db, Municipal: muni, Kiosk: ksvc, Platform: plat,
					DataDir: o.data.data, Now: time.Now}); err != nil {
					return fail(err)
				}
			}
		}
		eps, err := jlis.LoadEndpoints(demo.EndpointsPath(o.data.data), url)
		if err != nil {
			return fail(err)
		}
		ksvc.QueueRoutes(mux, keys.queue)
		relay, err := jlis.NewRelay(ksvc, jlis.RelayConfig{Issuer: url,
			Keys: platformKeys.Keys, Attributes: keys.platformClient(roleJLIS, url, self).PersonAttributes,
			Endpoints: eps, HTTP: self, Seal: sealSvc})
		if err != nil {
			return fail(err)
		}
		relay.Routes(mux)
		srv.spawn(func() {
			every(bg, 10*time.Second, func(ctx context.Context) {
				if n, err := ksvc.Expire(ctx); err != nil && ctx.Err() == nil {
					logger.Error("expire print jobs", "err", err)
				} else if n > 0 {
					logger.Info("print jobs timed out and were cancelled", "jobs", n)
				}
			})
		})
	}

	var pbw *postboxWorld
	if roles[rolePostbox] {
		if pbw, err = buildPostbox(ctx, postboxDeps{o: o, url: url, db: db, site: site, mux: mux, self: self, centre: centre,
			plat: plat, keys: keys, cards: cards, logger: logger, bg: bg, spawn: srv.spawn}); err != nil {
			return fail(err)
		}
	}

	if o.demo {
		if _, err := demo.Seed(ctx, demo.Config{DB: db, Centre: centre, Cards: cards, Platform: plat, DataDir: o.data.data,
			JPKIDir: filepath.Join(o.data.data, "jpki"), BaseURL: url, Now: time.Now, Logger: logger}); err != nil {
			return fail(err)
		}
		if err := plat.RefreshCRL(ctx); err != nil {
			logger.Warn("refresh CRL cache", "err", err)
		}
		if elig != nil {
			if _, err := demo.SeedEligibility(ctx, demo.EligibilityConfig{DB: db, Service: elig, Platform: plat, CardCo: company,
				DataDir: o.data.data, Now: time.Now}); err != nil {
				return fail(err)
			}
		}
		if pbw != nil {
			if _, err := demo.SeedPostbox(ctx, demo.PostboxConfig{DB: db, Platform: plat, Cards: cards, Registry: pbw.registry,
				Powers: pbw.powers, Postbox: pbw.box, Agency: pbw.agency, Business: pbw.business, Stamper: pbw.stamper,
				BaseURL: url, HTTP: self, DataDir: o.data.data, Now: time.Now}); err != nil {
				return fail(err)
			}
		}
	}
	if pbw != nil {
		links = append(links, pbw.links(ctx)...)
	}
	if keys, err := demo.LoadKeys(o.data.data); err == nil && cardcoClient.MerchantKey == "" {
		cardcoClient.MerchantKey = keys.CardCoMerchant
	}

	if roles[roleTerminals] {
		configs, err := terminal.LoadConfigs(filepath.Join(o.data.data, "terminals"))
		if err != nil {
			return fail(err)
		}
		if configs, err = applyReaders(configs, o.readers); err != nil {
			return fail(err)
		}
		platformURL, hc := o.platformURL, httpapi.NewHTTPClient(httpapi.DefaultTimeout)
		if plat != nil {
			platformURL, hc = url, self
		} else if platformURL == "" {
			return fail(errors.New("the terminals role without the platform role needs --platform-url"))
		}
		var history []terminal.History
		if elig != nil {
			history = append(history, reception.History(url, self))
		}
		tp, err := terminal.NewPages(terminal.PagesConfig{Site: site, Cards: cards, Terminals: configs,
			PlatformURL: platformURL, HTTP: hc, PCSC: pcscReader, Logger: logger, History: history})
		if err != nil {
			return fail(err)
		}
		tp.Routes(mux)
		links = append(tp.Links(), links...)
		if pbw != nil {
			pl, err := pbw.pages(site, mux, tp, platformKeys, url, o.postboxTerminal, logger)
			if err != nil {
				return fail(err)
			}
			links = append(pl, links...)
		}
		viewer, err := card.ViewerPages(site, cards)
		if err != nil {
			return fail(err)
		}
		mux.Handle("/cards/", viewer)
		links = append(links, web.Link{Section: "本人 / Card holder", TitleJA: "カードの中身を見る", TitleEN: "Look inside a card",
			DescJA: "電子証明書と暗証番号の残り回数（カードからAPDUで読み取り）", DescEN: "Certificates and PIN tries left, read from the card by APDUs",
			Path: "/cards/"})
		// /t/ lists the terminals whose screens other packages serve too,
		// in the order of the home page's items: (1) kiosks, (2) the hospital.
		var kioskLinks, stationLinks, payLinks []web.Link
		if stations, err := reception.LoadStationConfigs(demo.StationsDir(o.data.data)); err != nil {
			return fail(err)
		} else if len(stations) > 0 {
			serviceURL := url
			if elig == nil {
				return fail(errors.New("reception stations need the eligibility role in this process (for now)"))
			}
			var sts []*reception.Station
			for _, sc := range stations {
				st, err := reception.NewStation(sc, reception.StationOptions{PlatformURL: platformURL, ServiceURL: serviceURL,
					JPKIURL: url, HTTP: hc, Reader: terminal.VirtualReader{Cards: cards},
					Dir: filepath.Join(demo.StationsDir(o.data.data), sc.Terminal.ID), Logger: logger})
				if err != nil {
					return fail(err)
				}
				sts = append(sts, st)
			}
			if rp, err = reception.NewPages(site, cards, sts, logger); err != nil {
				return fail(err)
			}
			rp.Routes(mux)
			links = append(links, rp.Links()...)
			stationLinks = rp.Links()
			srv.spawn(func() {
				rp.Sync(bg) // the CA and CRL for offline checks, at once
				every(bg, 10*time.Second, rp.Sync)
			})
		}
		if kcs, err := kiosk.LoadStationConfigs(demo.KiosksDir(o.data.data)); err != nil {
			return fail(err)
		} else if len(kcs) > 0 {
			relayURL := url
			if ksvc == nil {
				return fail(errors.New("kiosks need the jlis role in this process (for now)"))
			}
			var sts []*kiosk.Station
			for _, kc := range kcs {
				st, err := kiosk.NewStation(kc, kiosk.StationOptions{PlatformURL: platformURL, RelayURL: relayURL, HTTP: hc,
					Dir: demo.KiosksDir(o.data.data), Logger: logger})
				if err != nil {
					return fail(err)
				}
				sts = append(sts, st)
			}
			kp, err := kiosk.NewPages(site, cards, sts, logger)
			if err != nil {
				return fail(err)
			}
			kp.Routes(mux)
			links = append(links, kp.Links()...)
			kioskLinks = kp.Links()
			srv.spawn(func() { every(bg, time.Minute, func(context.Context) { kp.ClearTrays(time.Now()) }) })
		}
		if pt, err := demo.PayTerminalConfig(o.data.data); err == nil && elig != nil && company != nil {
			pp, err := payenrol.New(payenrol.Config{Links: elig, Site: site, Cards: cards, Terminal: *pt, PlatformURL: platformURL,
				HTTP: hc, Enrol: cardco.NewEnrolClient(url, keys.cardcoKey, self).Enrol, Logger: logger})
			if err != nil {
				return fail(err)
			}
			pp.Routes(mux)
			links = append(links, pp.Links()...)
			payLinks = pp.Links()
		}
		tp.AddElsewhere("コンビニのマルチコピー機（コンビニ交付）", "Convenience-store multi-copy machines (certificates)", kioskLinks...)
		tp.AddElsewhere("医療機関の受付と訪問診療の端末（資格確認）", "Hospital reception and home-visit terminals (eligibility checks)", stationLinks...)
		tp.AddElsewhere("自宅のスマートフォン（カード払いの登録）", "The phone at home (linking a credit card)", payLinks...)
		dp, err := demo.NewPages(site, cards, o.data.data)
		if err != nil {
			return fail(err)
		}
		dp.Routes(mux)
		links = append(links, web.Link{Section: "デモ / Demo", TitleJA: "デモ用カードと暗証番号", TitleEN: "Demo cards and PINs",
			DescJA: "どのカードを置いて、どの暗証番号を入れるか", DescEN: "Which card to place and which PIN to enter", Path: "/demo"})
	}

	mux.HandleFunc("GET /{$}", site.Home(demo.Guide(o.demo || demo.HasWorld(cards)), links))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := db.PingContext(r.Context()); err != nil {
			http.Error(w, "database unreachable", http.StatusServiceUnavailable)
			return
		}
		if plat != nil {
			if _, _, ok := plat.CRLStatus(); !ok {
				fmt.Fprintln(w, "ok (no CRL cached yet: OCSP in use)")
				return
			}
		}
		fmt.Fprintln(w, "ok")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.Handle("/", site.NotFound())

	var h http.Handler = site.Protect(mux)
	if centre != nil {
		h = centre.Wrap(h)
	}
	srv.http = &http.Server{
		Handler:           trace.Middleware(instrument(reg, logRequests(logger, h))),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	return srv, nil
}

// signingTrust is the JPKI signing CA and a client for its OCSP responder:
// the local centre's when it runs here, else --jpki-url's.
func signingTrust(ctx context.Context, centre *jpki.Centre, o serveOptions, url string, self *http.Client) (*x509.Certificate, *jpki.Client, error) {
	if centre != nil {
		return centre.CA(jpki.Sign), &jpki.Client{BaseURL: url, HTTP: self}, nil
	}
	jc := &jpki.Client{BaseURL: o.jpkiURL, HTTP: httpapi.NewHTTPClient(httpapi.DefaultTimeout)}
	ca, err := jc.CACertificate(ctx, jpki.Sign)
	if err != nil {
		return nil, nil, fmt.Errorf("the JPKI signing CA: %w", err)
	}
	return ca, jc, nil
}

// localOperatorToken is the in-process platform's credential at the local
// centre, kept in dir (mode 0600) and registered on first use.
func localOperatorToken(ctx context.Context, centre *jpki.Centre, dir string) (string, error) {
	path := filepath.Join(dir, "jpki-operator.token")
	if b, err := os.ReadFile(path); err == nil {
		token := strings.TrimSpace(string(b))
		if _, err := centre.Authenticate(ctx, token); err == nil {
			return token, nil
		}
	}
	token, err := centre.AddOperator(ctx, "local-platform-"+time.Now().UTC().Format("20060102T150405.000000000"))
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	return token, os.WriteFile(path, []byte(token+"\n"), 0o600)
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

// every runs f now and then every d until ctx ends.
func every(ctx context.Context, d time.Duration, f func(context.Context)) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f(ctx)
		}
	}
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// logRequests logs method, path and status at debug level; never query
// strings or bodies, which may carry personal data or PINs.
func logRequests(logger *slog.Logger, next http.Handler) http.Handler {
	if !logger.Enabled(context.Background(), slog.LevelDebug) {
		return next // nothing to log: not even a wrapper on the hot path
	}
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: rw, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		logger.DebugContext(r.Context(), "request", "method", r.Method, "path", r.URL.Path, "status", sw.status, "took", time.Since(start))
	})
}

var statusClasses = [...]string{"1xx", "2xx", "3xx", "4xx", "5xx"}

// instrument counts requests and their latency by area (the first path
// segment) and status class.
func instrument(reg prometheus.Registerer, next http.Handler) http.Handler {
	hist := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "mynaplat_http_request_seconds",
		Help: "HTTP requests by area and status class.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)},
		[]string{"area", "code"})
	reg.MustRegister(hist)
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: rw, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		area, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		switch area {
		case "jpki", "platform", "t", "me", "counter", "cards", "demo", "static", "metrics", "healthz", ".well-known":
		default:
			area = "other"
		}
		class := "5xx"
		if c := sw.status / 100; c >= 1 && c <= 5 {
			class = statusClasses[c-1]
		}
		hist.WithLabelValues(area, class).Observe(time.Since(start).Seconds())
	})
}
