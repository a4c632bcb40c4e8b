package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mynaplat/mynaplat/community/evac"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/store"
)

// bench evacuation (issue 20 §4; docs/community-tv.md §7, §11): n TVs
// hold the disaster office's stream (/evac/v1/stream) open in one area,
// each on its own connection; an order is issued for the area and the
// bench measures, for each TV, the time from the order's issue to its
// receipt; then the order is lifted and the same is measured.
//
// The town is set up on the server's database, as the other benches do,
// and kept for the next run (bench-fixtures/evac-tvs.json): the area
// "bench-evac" and one household of one member per TV. The streams'
// bearers are the platform's assertions of a card login at a TV, minted
// here with the platform's newest published key read from the server's
// database, with the claims the platform gives a TV login (a real login
// would need a JPKI card per person; the stream checks nothing else).
// The order and the lift go through evac.Service on the server's
// database, as the office's staff page would; the server's hub finds
// them by polling its event log, as it would an order from another
// instance.

func init() {
	sub := &command{name: "evacuation", run: benchEvacuation,
		summary:  "避難指示を接続中のテレビ全台に届けるまでの時間 / the time from an evacuation order to its receipt at every connected TV",
		synopsis: "--target URL --data DIR [--db DSN] [--tvs 10000] [--via evac] [--connects 256] [--wait 60s] [--debug URL]"}
	i, _ := slices.BinarySearchFunc(benchCommand.subs, sub.name, func(c *command, name string) int { return strings.Compare(c.name, name) })
	benchCommand.subs = slices.Insert(benchCommand.subs, i, sub)
}

// EvacBenchResult is the JSON line bench evacuation prints last.
type EvacBenchResult struct {
	Target string `json:"target"`
	Via    string `json:"via"`
	TVs    int    `json:"tvs"`
	// Connected streams answered 200 (the server had subscribed them);
	// ConnectSeconds is the time until the last one did.
	Connected      int64    `json:"connected"`
	ConnectSeconds float64  `json:"connect_s"`
	SetupSeconds   float64  `json:"setup_s"`
	Order          EvacPush `json:"order"`
	Lift           EvacPush `json:"lift"`
	// Dropped streams ended before the bench closed them (must be 0).
	Dropped int64 `json:"dropped"`
	// The server's memory per connected TV: resident set, and Go heap
	// plus goroutine stacks in use, from its /metrics before the streams
	// were opened and once all were connected, divided by the TVs.
	ServerRSSPerTVKB  float64 `json:"server_rss_per_tv_kb"`
	ServerHeapPerTVKB float64 `json:"server_heap_stack_per_tv_kb"`
	// ServerCPUConnectMillisPerTV is the server's CPU to accept a stream
	// (the login's check, the household, the audit row, the replay).
	ServerCPUConnectMillisPerTV float64 `json:"server_cpu_connect_ms_per_tv"`
	ServerMaxFDs                float64 `json:"server_max_fds"`
	ClientCPUSeconds            float64 `json:"client_cpu_s"`
	CPUs                        int     `json:"cpus"`
}

// EvacPush is one push (the order or the lift): how many connected TVs
// received it, how many did not (must be 0), the time from the issue to
// the receipt (p50, p99, p100) and the server's CPU in between.
type EvacPush struct {
	Received         int64   `json:"received"`
	Missed           int64   `json:"missed"`
	P50Millis        float64 `json:"p50_ms"`
	P99Millis        float64 `json:"p99_ms"`
	P100Millis       float64 `json:"p100_ms"`
	ServerCPUSeconds float64 `json:"server_cpu_s"`
}

// benchEvacArea is the bench's area; its households are bench-evac-NNNNN.
const benchEvacArea = "bench-evac"

func benchEvacuation(ctx context.Context, fs *flag.FlagSet, args []string, out io.Writer) error {
	var d dataFlags
	d.register(fs)
	target := fs.String("target", "http://127.0.0.1:8080", "URL of a running mynaplat serve --demo (the evac and platform roles)")
	tvs := fs.Int("tvs", 10000, "TVs, each with its own stream (connection)")
	via := fs.String("via", "evac", "where the TVs' streams go: evac (the office's /evac/v1/stream)")
	issuer := fs.String("issuer", "", "the platform's issuer in the assertions (default: --target)")
	connects := fs.Int("connects", 256, "streams being opened at once")
	wait := fs.Duration("wait", time.Minute, "how long to wait for all TVs to connect, and for each push")
	debug := fs.String("debug", "", "URL of the server's --debug-addr: its heap is collected (pprof's heap?gc=1) before each reading of its memory")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *tvs < 1 || *tvs > 100000 || *connects < 1 {
		return errors.New("--tvs 1–100000, --connects ≥ 1")
	}
	if *via != "evac" {
		// The TV portal's relay (community/tv, through the terminals
		// role) needs a TV session per TV: not built yet.
		return fmt.Errorf("--via %q: only evac is built (docs/benchmarks.md)", *via)
	}
	base := strings.TrimRight(*target, "/")
	if *issuer == "" {
		*issuer = base
	}
	// Each stream is a file descriptor here and one at the server.
	if err := raiseNoFile(uint64(*tvs) + 512); err != nil {
		return err
	}
	res := EvacBenchResult{Target: base, Via: *via, TVs: *tvs, CPUs: runtime.NumCPU()}
	hc := benchHTTPClient(4, 30*time.Second)
	if fds, err := serverMetric(ctx, hc, base, "process_max_fds"); err == nil {
		res.ServerMaxFDs = fds
		if fds < float64(*tvs)+256 {
			fmt.Fprintf(out, "bench: the server may open %.0f files, fewer than %d streams need: raise its ulimit -n\n", fds, *tvs)
		}
	}

	start := time.Now()
	logger := newLogger(false, slog.LevelWarn)
	db, err := store.Open(ctx, store.Options{DSN: d.db, DataDir: d.data, Logger: logger})
	if err != nil {
		return err
	}
	defer db.Close()
	office, err := evac.NewService(ctx, db, time.Now, logger)
	if err != nil {
		return err
	}
	pids, err := benchEvacHouseholds(ctx, office, d.data, *tvs, out)
	if err != nil {
		return err
	}
	mint, err := newBenchMinter(ctx, db, *issuer)
	if err != nil {
		return err
	}
	assertions := make([]string, len(pids))
	for i, pid := range pids {
		if assertions[i], err = mint.tvLogin(pid, fmt.Sprintf("tv-bench-%05d", i)); err != nil {
			return err
		}
	}
	after, err := office.LastEvent(ctx)
	if err != nil {
		return err
	}
	res.SetupSeconds = time.Since(start).Seconds()
	fmt.Fprintf(out, "bench: %d TVs in area %s, logins minted, ready in %.1fs\n", len(pids), benchEvacArea, res.SetupSeconds)

	collect := func() {
		if *debug != "" {
			serverGC(ctx, hc, strings.TrimRight(*debug, "/"), out)
		}
	}
	collect()
	rssBefore, _ := serverMetric(ctx, hc, base, "process_resident_memory_bytes")
	heapBefore, _ := serverHeap(ctx, hc, base)
	cpuBefore, cerr := serverCPU(ctx, hc, base)
	ownBefore, _ := ownCPU()

	// The streams: each on a connection of its own (a stream holds its
	// connection), at most connects being opened at once.
	slots := make(chan struct{}, *connects)
	var connected atomic.Int64
	tr := &http.Transport{DialContext: (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		ResponseHeaderTimeout: *wait}
	c := &evac.Client{BaseURL: base, StreamHTTP: &http.Client{Transport: connectCounter{tr, slots, &connected}}}
	tvsAt := make([]benchTV, len(pids))
	var ended, dropped atomic.Int64
	var firstErr benchErrors
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	connectStart := time.Now()
	for i := range tvsAt {
		tv := &tvsAt[i]
		wg.Go(func() {
			slots <- struct{}{}
			_, err := c.Stream(sctx, assertions[i], after, func(e evac.Event) error {
				// Only this run's order and lift come: the stream starts
				// after the log's last event, in the bench's own area.
				now := time.Now().UnixNano()
				switch e.Kind {
				case evac.EventOrder:
					tv.order.CompareAndSwap(0, now)
				case evac.EventLift:
					tv.lift.CompareAndSwap(0, now)
				}
				return nil
			})
			ended.Add(1)
			if sctx.Err() == nil {
				dropped.Add(1)
				firstErr.add("TV %d: %v", i, err)
			}
		})
	}
	finish := func() {
		stop()
		wg.Wait()
		res.Dropped = dropped.Load()
		if own, ok := ownCPU(); ok {
			res.ClientCPUSeconds = (own - ownBefore).Seconds()
		}
	}
	for deadline := time.Now().Add(*wait); connected.Load()+ended.Load() < int64(len(pids)); {
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	res.ConnectSeconds = time.Since(connectStart).Seconds()
	res.Connected = connected.Load()
	fmt.Fprintf(out, "bench: %d of %d streams connected in %.1fs\n", res.Connected, len(pids), res.ConnectSeconds)
	if res.Connected == 0 {
		finish()
		return errors.New("bench: no stream connected")
	}
	// The server's memory once every stream is held (after its writes
	// settle).
	time.Sleep(500 * time.Millisecond)
	collect()
	if rss, err := serverMetric(ctx, hc, base, "process_resident_memory_bytes"); err == nil && rssBefore > 0 {
		res.ServerRSSPerTVKB = (rss - rssBefore) / float64(res.Connected) / 1024
	}
	if heap, err := serverHeap(ctx, hc, base); err == nil && heapBefore > 0 {
		res.ServerHeapPerTVKB = (heap - heapBefore) / float64(res.Connected) / 1024
	}
	cpuConnected, err := serverCPU(ctx, hc, base)
	if err == nil && cerr == nil {
		res.ServerCPUConnectMillisPerTV = (cpuConnected - cpuBefore) * 1000 / float64(res.Connected)
	}

	officer := evac.Actor{ID: "bench-evacuation", Terminal: "bench"}
	push := func(kind string, do func() (evac.Order, error), at func(tv *benchTV) int64) (EvacPush, error) {
		var p EvacPush
		cpu0, cerr := serverCPU(ctx, hc, base)
		issued := time.Now()
		o, err := do()
		if err != nil {
			return p, fmt.Errorf("bench: %s: %w", kind, err)
		}
		count := func() (n int64) {
			for i := range tvsAt {
				if at(&tvsAt[i]) != 0 {
					n++
				}
			}
			return n
		}
		for deadline := time.Now().Add(*wait); count() < res.Connected-dropped.Load() && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
		}
		var lat []time.Duration
		for i := range tvsAt {
			if t := at(&tvsAt[i]); t != 0 {
				lat = append(lat, time.Duration(t-issued.UnixNano()))
			}
		}
		sum := summarize(time.Since(issued), [][]time.Duration{lat}, int64(len(lat)), 0)
		p.Received, p.Missed = int64(len(lat)), res.Connected-int64(len(lat))
		p.P50Millis, p.P99Millis = sum.P50Millis, sum.P99Millis
		if len(lat) > 0 {
			p.P100Millis = float64(slices.Max(lat).Microseconds()) / 1000
		}
		if cpu1, err := serverCPU(ctx, hc, base); err == nil && cerr == nil {
			p.ServerCPUSeconds = cpu1 - cpu0
		}
		fmt.Fprintf(out, "bench: %s %d: %d TVs received it, %d missed; p50 %.0f ms, p99 %.0f ms, p100 %.0f ms; server CPU %.2fs\n",
			kind, o.ID, p.Received, p.Missed, p.P50Millis, p.P99Millis, p.P100Millis, p.ServerCPUSeconds)
		return p, nil
	}
	var order evac.Order
	res.Order, err = push("order", func() (evac.Order, error) {
		var err error
		order, err = office.Issue(ctx, officer, evac.OrderInput{Areas: []string{benchEvacArea}, Level: 4, Drill: true})
		return order, err
	}, func(tv *benchTV) int64 { return tv.order.Load() })
	if err != nil {
		finish()
		return err
	}
	res.Lift, err = push("lift", func() (evac.Order, error) { return office.Lift(ctx, officer, order.ID) },
		func(tv *benchTV) int64 { return tv.lift.Load() })
	finish()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "bench: server memory per connected TV: RSS %.1f KB, Go heap and stacks %.1f KB; server CPU %.2f ms to accept a stream; %d streams dropped; this process %.1f CPU-s\n",
		res.ServerRSSPerTVKB, res.ServerHeapPerTVKB, res.ServerCPUConnectMillisPerTV, res.Dropped, res.ClientCPUSeconds)
	b, _ := json.Marshal(res)
	fmt.Fprintln(out, string(b))
	return nil
}

// benchTV is one TV's receipts of the order and the lift (Unix ns, 0:
// not yet).
type benchTV struct{ order, lift atomic.Int64 }

// connectCounter counts the streams the server answered 200 (it has
// subscribed them to its hub by then) and frees a connect slot once each
// is answered.
type connectCounter struct {
	base      http.RoundTripper
	slots     <-chan struct{}
	connected *atomic.Int64
}

func (c connectCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(r)
	<-c.slots
	if err == nil && resp.StatusCode == http.StatusOK {
		c.connected.Add(1)
	}
	return resp, err
}

// serverGC has the server collect its heap (pprof's heap profile with
// gc=1), so that its heap in use is what it holds, not what it has not
// collected yet.
func serverGC(ctx context.Context, hc *http.Client, debug string, out io.Writer) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, debug+"/debug/pprof/heap?gc=1", nil)
	if err == nil {
		var resp *http.Response
		if resp, err = hc.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	if err != nil {
		fmt.Fprintf(out, "bench: the server's heap not collected: %v\n", err)
	}
}

// serverHeap is the server's Go heap and goroutine stacks in use.
func serverHeap(ctx context.Context, hc *http.Client, base string) (float64, error) {
	heap, err := serverMetric(ctx, hc, base, "go_memstats_heap_inuse_bytes")
	if err != nil {
		return 0, err
	}
	stack, err := serverMetric(ctx, hc, base, "go_memstats_stack_inuse_bytes")
	return heap + stack, err
}

// benchEvacHouseholds returns the platform IDs of n bench households in
// the bench's area, one member each, adding the missing ones.
func benchEvacHouseholds(ctx context.Context, office *evac.Service, data string, n int, out io.Writer) ([]string, error) {
	if err := office.AddArea(ctx, evac.Area{ID: benchEvacArea, NameJA: "負荷試験地区", NameEN: "Bench area"}); err != nil {
		return nil, err
	}
	start := time.Now()
	return benchFixtures(filepath.Join(data, "bench-fixtures", "evac-tvs.json"), n, func() (func(int) (string, error), func(), error) {
		return func(i int) (string, error) {
				pid := fmt.Sprintf("bench-evac-p%05d", i)
				return pid, office.AddHousehold(ctx, evac.Household{ID: fmt.Sprintf("bench-evac-%05d", i), Area: benchEvacArea,
					Lat: 33.73, Lon: 134.53, Members: []evac.Member{{PlatformID: pid, Name: fmt.Sprintf("負荷試験　世帯%d", i+1)}}})
			}, func() {
				fmt.Fprintf(out, "bench: households up to %d made in %v\n", n, time.Since(start).Round(time.Millisecond))
			}, nil
	})
}

// benchMinter signs the platform's assertions of TV logins with the
// platform's key from its database: the key the platform itself signs
// with now (the newest published for platform.KeyPublishLead, else the
// newest), so that the services' cached JWK sets know it.
type benchMinter struct {
	kid    string
	key    *ecdsa.PrivateKey
	issuer string
}

func newBenchMinter(ctx context.Context, db *store.DB, issuer string) (*benchMinter, error) {
	rows, err := db.QueryContext(ctx, `SELECT kid, private_key, created_at FROM platform_keys ORDER BY created_at DESC, kid`)
	if err != nil {
		return nil, fmt.Errorf("bench: the platform's keys: %w", err)
	}
	defer rows.Close()
	var m *benchMinter
	for rows.Next() {
		var kid string
		var der []byte
		var created int64
		if err := rows.Scan(&kid, &der, &created); err != nil {
			return nil, err
		}
		key, err := x509.ParseECPrivateKey(der)
		if err != nil {
			return nil, fmt.Errorf("bench: the platform's key %s: %w", kid, err)
		}
		if m == nil || time.Since(time.Unix(created, 0)) >= platform.KeyPublishLead {
			m = &benchMinter{kid: kid, key: key, issuer: issuer}
		}
		if time.Since(time.Unix(created, 0)) >= platform.KeyPublishLead {
			break
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("bench: the platform has no key yet: start the server with --demo")
	}
	return m, nil
}

// tvLogin is pid's card login at the TV terminal, with the claims the
// platform gives one (platform.Claims; valid for 5 minutes: the stream
// checks it once, when it opens).
func (m *benchMinter) tvLogin(pid, terminal string) (string, error) {
	now := time.Now()
	id := make([]byte, 16)
	rand.Read(id)
	c := platform.Claims{Issuer: m.issuer, Subject: pid, Audience: platform.Audience, IssuedAt: now.Unix(),
		Expiry: now.Add(5 * time.Minute).Unix(), ID: base64.RawURLEncoding.EncodeToString(id), AuthTime: now.Unix(),
		Terminal: terminal, TerminalKind: platform.TV, AMR: []string{"jpki-auth"}, CertNotAfter: now.AddDate(1, 0, 0).Unix()}
	hdr, _ := json.Marshal(map[string]string{"alg": "ES256", "typ": "JWT", "kid": m.kid})
	body, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	b64 := base64.RawURLEncoding.EncodeToString
	input := b64(hdr) + "." + b64(body)
	sum := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, m.key, sum[:])
	if err != nil {
		return "", err
	}
	// ES256: R || S, 32 bytes each (RFC 7518 §3.4).
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + b64(sig), nil
}
