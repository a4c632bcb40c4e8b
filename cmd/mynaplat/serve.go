package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mynaplat/mynaplat/anchors"
	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/internal/layout"
	"github.com/mynaplat/mynaplat/internal/trace"
	"github.com/mynaplat/mynaplat/jlis"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/web"
)

type serveOptions struct {
	data      dataFlags
	addr      string
	demo      bool
	roles     string
	urls      map[string]string // --<role>-url
	jpkiToken string
	logJSON   bool
	timing    timing
	readers   stringList
	debugAddr string
	// cardcoKey is the platform's merchant key at the card company.
	cardcoKey       string
	callerKeys      string
	postboxTerminal string
	// procureTerminal is the terminal agents log in at to file
	// procurement applications.
	procureTerminal string
	// counterTown is the municipality code of the JPKI counter's town.
	counterTown string
	// sessionCookie names the session cookie (web.SessionCookie when "").
	sessionCookie string
	oidc          oidcFlags
	// townwebClientID is the town's web site's client ID at the provider.
	townwebClientID string
	// smtp is where the watch-over's mails go.
	smtp smtpFlags
}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

var serveCommand = &command{name: "serve", run: serve,
	summary: "サーバーを起動（役割ごとに分けられる） / run the server (all roles, or some of them)",
	synopsis: "[--addr 127.0.0.1:8080] [--data DIR] [--db DSN] [--demo] [--roles jpki,platform,…] [--<role>-url URL …] [--caller-keys API/CALLER=KEY,…]\n\n" +
		"どの役割も単独で、また任意の組み合わせで動きます。このプロセスで動かさない呼び出し先の役割は\n" +
		"--<役割>-url（または MYNAPLAT_<役割>_URL）で指定します。役割間の運用 API は呼び出し元ごとの鍵を使い、\n" +
		"--caller-keys（MYNAPLAT_CALLER_KEYS）に API/呼び出し元=鍵 の形で、全プロセス同じ一覧を渡します。\n" +
		"足りない設定は、何かを開く前にまとめて示します。\n\n" +
		"Every role runs alone or with any others. A role this process calls but does not run is reached at\n" +
		"--<role>-url (or MYNAPLAT_<ROLE>_URL). The operator APIs between roles take a key per caller:\n" +
		"--caller-keys (MYNAPLAT_CALLER_KEYS) lists them as API/CALLER=KEY, the same list for every process\n" +
		"(each takes the keys it calls with and accepts); pairs that both run here get fresh keys at start.\n" +
		"Pairs: " + pairNames() + ".\n" +
		"serve names everything missing before it opens anything.",
}

func serve(ctx context.Context, fs *flag.FlagSet, args []string, out io.Writer) error {
	o := serveOptions{urls: map[string]string{}}
	o.data.register(fs)
	fs.StringVar(&o.addr, "addr", envOr("MYNAPLAT_ADDR", "127.0.0.1:8080"), "address to listen on")
	fs.StringVar(&o.sessionCookie, "session-cookie", envOr("MYNAPLAT_SESSION_COOKIE", web.SessionCookie),
		"name of the session cookie: processes serving pages on one host name at different ports need one each (cookies do not tell ports apart)")
	fs.BoolVar(&o.demo, "demo", false, "seed the demo world (once) and show its cards and PINs on /demo (needs jpki and platform here)")
	var roleList []string
	for _, r := range allRoles {
		roleList = append(roleList, r+" ("+roleHelp[r]+")")
	}
	fs.StringVar(&o.roles, "roles", envOr("MYNAPLAT_ROLES", strings.Join(allRoles, ",")),
		"roles to run, any subset: "+strings.Join(roleList, ", "))
	urlFlags := map[string]*string{}
	for _, r := range allRoles {
		env := "MYNAPLAT_" + strings.ToUpper(r) + "_URL"
		urlFlags[r] = fs.String(r+"-url", os.Getenv(env), "URL of the role "+r+" ("+roleHelp[r]+") when it runs elsewhere; env "+env)
	}
	fs.StringVar(&o.jpkiToken, "jpki-token", os.Getenv("MYNAPLAT_JPKI_TOKEN"), "platform operator token at the JPKI centre when it runs elsewhere (default: the one kept in DATA/platform)")
	fs.StringVar(&o.callerKeys, "caller-keys", os.Getenv("MYNAPLAT_CALLER_KEYS"), "keys of the operator APIs between roles: API/CALLER=KEY,… ("+pairNames()+")")
	fs.BoolVar(&o.logJSON, "log-json", false, "log as JSON")
	fs.DurationVar(&o.timing.crlCheck, "crl-check", time.Minute, "how often the centre checks whether a CRL is due")
	fs.DurationVar(&o.timing.crlRefresh, "crl-refresh", 5*time.Second, "how often the platform asks whether the CRL changed")
	fs.DurationVar(&o.timing.maxAge, "revocation-max-age", 10*time.Minute, "freshness bound of revocation data; past it, OCSP, else INDETERMINATE")
	fs.StringVar(&o.cardcoKey, "cardco-key", os.Getenv("MYNAPLAT_CARDCO_KEY"), "the eligibility service's merchant key at the card company (default: the one the demo seeding kept)")
	fs.StringVar(&o.postboxTerminal, "postbox-terminal", envOr("MYNAPLAT_POSTBOX_TERMINAL", layout.PostboxTerminalID),
		"the terminal people log in at to open their post box")
	fs.StringVar(&o.procureTerminal, "procure-terminal", envOr("MYNAPLAT_PROCURE_TERMINAL", layout.ProcureTerminalID),
		"the terminal agents log in at to file procurement qualification applications")
	fs.StringVar(&o.counterTown, "counter-town", envOr("MYNAPLAT_COUNTER_TOWN", "062049"),
		"the municipality code of the town whose JPKI counter the counter role is (its clerks sign in as office counter:CODE; default 酒田市)")
	o.oidc.register(fs)
	fs.StringVar(&o.townwebClientID, "townweb-client-id", envOr("MYNAPLAT_TOWNWEB_CLIENT_ID", townwebDemoClientID),
		"the client ID of the town's web site (role townweb) at the OpenID provider")
	o.smtp.register(fs)
	fs.StringVar(&o.debugAddr, "debug-addr", "", "serve Go's pprof profiles on this (loopback) address, e.g. 127.0.0.1:6060")
	fs.Var(&o.readers, "reader", "TERMINAL=pcsc:READER: give a terminal a real PC/SC reader (build with -tags pcsc); repeatable")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	for r, u := range urlFlags {
		o.urls[r] = *u
	}
	local := map[string]bool{}
	for _, r := range strings.Split(o.roles, ",") {
		switch r = strings.TrimSpace(r); {
		case slices.Contains(allRoles, r):
			local[r] = true
		case r == "":
		default:
			return fmt.Errorf("--roles: 知らない役割 / unknown role %q (%s)", r, strings.Join(allRoles, ", "))
		}
	}
	if len(local) == 0 {
		return errors.New("--roles: 役割がありません / no role to run")
	}
	if o.demo && !(local[roleJPKI] && local[rolePlatform]) {
		return errors.New("--demo: jpki と platform をこのプロセスで動かしてください / --demo needs the jpki and platform roles in this process")
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
	p := &peers{local: local, urls: o.urls, self: url}
	configs, keys, err := roleConfigs(o, p)
	if err != nil {
		ln.Close()
		return err
	}
	srv, err := buildRoles(ctx, o, p, configs, keys, logger)
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

// roleConfigs makes the configuration of every role this process runs and
// validates them all, naming everything missing in one error.
func roleConfigs(o serveOptions, p *peers) (map[string]roleConfig, callerKeys, error) {
	if err := p.check(); err != nil {
		return nil, nil, err
	}
	keys, err := parseCallerKeys(o.callerKeys, p.local)
	if err != nil {
		return nil, nil, err
	}
	data := o.data.data
	jpkiToken := o.jpkiToken
	if jpkiToken == "" {
		jpkiToken = readToken(layout.OperatorTokenPath(data, rolePlatform))
	}
	postboxToken := readToken(layout.OperatorTokenPath(data, rolePostbox))
	if postboxToken == "" {
		postboxToken = o.jpkiToken
	}
	merchantKey := o.cardcoKey
	if merchantKey == "" {
		merchantKey = layout.MerchantKey(data)
	}
	// A directory that does not load fails the jlis role's build, with
	// the reason; here it only says whether the municipal role is needed.
	eps, _ := jlis.LoadEndpoints(layout.EndpointsPath(data), "")
	municipalEndpoints := false
	for _, e := range eps {
		municipalEndpoints = municipalEndpoints || e.BaseURL == ""
	}
	// 日本生命's customer page, an outside RP served by the business role,
	// reaches the provider at the same issuer as the town's site.
	nissay := nissayConfig{data: data, peers: p, issuer: townwebIssuer(o, p), clientID: nissayDemoClientID}
	all := map[string]roleConfig{
		roleJPKI:        jpkiConfig{data: data, baseURL: p.url(roleJPKI), every: o.timing.crlCheck, peers: p, keys: keys},
		rolePlatform:    platformConfig{data: data, peers: p, jpkiToken: jpkiToken, keys: keys, timing: o.timing, demo: o.demo},
		roleCardCo:      cardcoConfig{keys: keys},
		roleEligibility: eligibilityConfig{peers: p, keys: keys, merchantKey: merchantKey},
		roleJLIS:        jlisConfig{data: data, peers: p, keys: keys, municipal: municipalEndpoints, maxAge: o.timing.maxAge},
		roleMunicipal:   municipalConfig{peers: p, keys: keys},
		roleTSA:         tsaConfig{data: data},
		roleCorpReg:     corpregConfig{data: data},
		roleDelegation:  delegationConfig{peers: p, keys: keys, maxAge: o.timing.maxAge},
		rolePostbox:     postboxConfig{data: data, peers: p, keys: keys, jpkiToken: postboxToken, terminal: o.postboxTerminal},
		roleAgency:      partyConfig{role: roleAgency, peers: p, keys: keys},
		roleBusiness:    partyConfig{role: roleBusiness, peers: p, keys: keys, nissay: nissay},
		roleCounter:     counterConfig{peers: p, keys: keys, town: o.counterTown},
		roleOIDC:        oidcConfig{cfg: o.oidc.config(data, p.url(roleOIDC)), data: data, peers: p, keys: keys},
		roleTownweb:     townwebConfig{data: data, peers: p, issuer: townwebIssuer(o, p), clientID: cmp.Or(o.townwebClientID, townwebDemoClientID)},
		roleProcure:     procureConfig{peers: p, keys: keys, terminal: o.procureTerminal},
		roleBodies:      bodiesConfig{data: data, peers: p, keys: keys, terminal: o.procureTerminal},
		roleCatv:        catvConfig{peers: p, keys: keys},
		roleTown:        townConfig{peers: p, keys: keys},
		roleWatch:       watchConfig{peers: p, keys: keys, smtp: o.smtp},
		roleEvac:        evacConfig{peers: p, keys: keys},
		roleGate:        gateConfig{peers: p, keys: keys, smtp: o.smtp},
		roleTerminals:   newTerminalsConfig(data, p, o.readers, o.postboxTerminal).withPay(newPayConfig(data, p, keys)).withProcure(o.procureTerminal).withGate(keys),
	}
	out := map[string]roleConfig{}
	var errs []error
	for _, r := range allRoles {
		if p.local[r] {
			out[r] = all[r]
			errs = append(errs, all[r].validate())
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	return out, keys, nil
}

type server struct {
	http *http.Server
	db   *store.DB
	// closers close the roles (their loops, then their services), in
	// reverse order, before the database closes.
	closers []func() error
}

// close closes the roles and then the database. Call it after the HTTP
// server has finished its requests.
func (s *server) close() error {
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		errs = append(errs, s.closers[i]())
	}
	errs = append(errs, s.db.Close())
	return errors.Join(errs...)
}

// buildRoles opens the data, builds the roles of configs, seeds the demo
// if asked and puts their routes on one mux. Roles reach each other through
// their HTTP APIs; a role in this process is reached without a socket
// (deps.hc), the contract unchanged.
func buildRoles(ctx context.Context, o serveOptions, p *peers, configs map[string]roleConfig, keys callerKeys, logger *slog.Logger) (*server, error) {
	db, err := store.Open(ctx, store.Options{DSN: o.data.db, DataDir: o.data.data, Logger: logger})
	if err != nil {
		return nil, err
	}
	srv := &server{db: db}
	fail := func(err error) (*server, error) {
		srv.close()
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	cards, err := card.NewStore(layout.CardsDir(o.data.data), time.Now)
	if err != nil {
		return fail(err)
	}
	site, err := web.New(ctx, web.Options{DB: db, Logger: logger, Now: time.Now, SecureCookies: strings.HasPrefix(p.self, "https://"),
		SessionCookie: o.sessionCookie})
	if err != nil {
		return fail(err)
	}
	mux := http.NewServeMux()
	site.Routes(mux)
	// Calls between roles in this process go straight to the role APIs on
	// the mux (plus the OCSP GET bypass once the centre exists); they need
	// none of the browser-facing layers.
	var internal http.Handler = mux
	d := &deps{data: o.data.data, db: db, site: site, cards: cards, logger: logger, reg: reg, peers: p, keys: keys, timing: o.timing,
		hc: newClient(p, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { internal.ServeHTTP(w, r) }))}
	var builts []*built
	var order []string
	for _, r := range allRoles {
		c, ok := configs[r]
		if !ok {
			continue
		}
		b, err := c.build(ctx, d)
		if err != nil {
			return fail(fmt.Errorf("role %s: %w", r, err))
		}
		srv.closers = append(srv.closers, b.close)
		if b.routes != nil {
			b.routes(mux)
		}
		if b.wrap != nil {
			internal = b.wrap(internal)
		}
		builts, order = append(builts, b), append(order, r)
	}
	if o.demo {
		if err := seedDemo(ctx, d, o); err != nil {
			return fail(err)
		}
	}
	var first, links []web.Link
	for i, b := range builts {
		if b.pages == nil {
			continue
		}
		ls, err := b.pages(ctx, mux)
		if err != nil {
			return fail(fmt.Errorf("role %s: %w", order[i], err))
		}
		if order[i] == roleTerminals {
			first = ls
		} else {
			links = append(links, ls...)
		}
	}
	links = append(first, links...)
	// The trust anchors of the roles this process knows, read from each
	// role's /pki/ as a verifier would (docs/trust-anchors.md).
	var sources []anchors.Source
	for _, a := range anchors.Catalog() {
		if p.known(a.Role) {
			sources = append(sources, anchors.Source{Anchor: a, BaseURL: p.url(a.Role)})
		}
	}
	trust, err := anchors.NewLister(site, sources, d.hc, time.Now, logger)
	if err != nil {
		return fail(err)
	}
	trust.Routes(mux)
	links = append(links, trust.Links()...)
	if p.local[roleTerminals] {
		dl, err := demoPages(d, mux)
		if err != nil {
			return fail(err)
		}
		links = append(links, dl...)
	}

	mux.HandleFunc("GET /{$}", site.Home(homeGuide(d, o.demo), links))
	plat := d.svc.plat
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
	for _, b := range builts {
		if b.wrap != nil {
			h = b.wrap(h)
		}
	}
	srv.http = &http.Server{
		Handler:           trace.Middleware(instrument(reg, logRequests(logger, h))),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	for _, b := range builts {
		if b.shutdown != nil {
			srv.http.RegisterOnShutdown(b.shutdown)
		}
	}
	return srv, nil
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

// Unwrap lets http.ResponseController reach the connection: a stream of
// server-sent events flushes each event and lifts the write timeout.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

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
