package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/internal/fileutil"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/terminal"
)

var benchCommand = &command{name: "bench",
	summary: "動いているサーバーの負荷試験 / load tests against a running mynaplat serve --demo",
	subs: []*command{
		{name: "auth", run: benchAuth,
			summary:  "利用者証明（認証）の処理能力 / authentications per second at the platform",
			synopsis: "--target URL [--conns 64] [--duration 10s] [--data DIR] [--pool N]"},
		{name: "checkin", run: benchCheckin,
			summary:  "子どもの入退室：門でのタッチの処理能力と保護者へのメールまでの時間 / gate touches per second and touch-to-mail time (serve --demo --smtp ADDR --caller-keys gate/terminals=KEY)",
			synopsis: "--target URL --data DIR [--db DSN] --smtp ADDR --caller-keys gate/terminals=KEY [--children 500] [--conns 8] [--duration 10s] [--rate N] [--mail-wait 2m]"},
		{name: "eligibility", run: benchEligibility,
			summary:  "オンライン資格確認の処理能力 / eligibility checks per second from many facilities",
			synopsis: "--target URL [--facilities 1000] [--conns 64] [--duration 10s] [--data DIR] [--db DSN]"},
		{name: "kiosk", run: benchKioskCmd,
			summary:  "コンビニ交付（証明書発行）の処理能力 / certificates issued per second at kiosks",
			synopsis: "--target URL [--conns 16] [--duration 10s] [--kiosks 32] [--data DIR] [--db DSN]"},
		{name: "oidc", run: benchOIDC,
			summary:  "OpenID Connect の完全なログインの処理能力 / complete OpenID Connect logins per second (authorize, card, token, UserInfo)",
			synopsis: "--target URL [--conns 16] [--duration 10s] [--data DIR] [--db DSN] [--client-id RP00000990]"},
		{name: "procure", run: benchProcure,
			summary:  "締切前の1分間の入札と開札 / sealed bids in the last minute before a deadline, then the opening",
			synopsis: "--target URL --data DIR [--db DSN] [--bidders 1000] [--agents BIDDERS] [--window 60s] [--late N] [--cpuprofile FILE]"},
		{name: "tsa", run: benchTSA,
			summary:  "時刻認証局のタイムスタンプ発行能力 / time-stamp tokens per second at the TSA",
			synopsis: "--target URL [--conns 16] [--duration 10s] [--hash sha256]"},
	},
}

// BenchResult is the JSON summary bench auth prints as its last line.
type BenchResult struct {
	Target          string  `json:"target"`
	Conns           int     `json:"conns"`
	DurationSeconds float64 `json:"duration_s"`
	Requests        int64   `json:"requests"`
	Verified        int64   `json:"verified"`
	Errors          int64   `json:"errors"`
	VerifiedPerSec  float64 `json:"verified_per_sec"`
	P50Millis       float64 `json:"p50_ms"`
	P99Millis       float64 `json:"p99_ms"`
	RSAVerifyPerSec float64 `json:"rsa2048_verify_per_sec"`
	Ratio           float64 `json:"ratio"`
	CPUs            int     `json:"cpus"`
	// ServerCPUMillisPerOp is the server process's CPU time per successful
	// operation, from its /metrics before and after firing.
	ServerCPUMillisPerOp float64 `json:"server_cpu_ms_per_op"`
	// ClientCPUMillisPerOp is the bench's own CPU time (this process,
	// user + system) per successful operation over the same window: on
	// one machine, server and client share the cores, and this says how.
	ClientCPUMillisPerOp float64 `json:"client_cpu_ms_per_op,omitempty"`
}

// benchAuth drives full authentications against a running server. Signing
// on the card side is the slow part (an RSA private operation per answer),
// so it first fetches and signs a pool of challenges with the demo cards,
// then fires the verifications from conns connections.
func benchAuth(ctx context.Context, fs *flag.FlagSet, args []string, out io.Writer) error {
	target := fs.String("target", "http://127.0.0.1:8080", "URL of a running mynaplat serve --demo")
	conns := fs.Int("conns", 64, "concurrent connections")
	duration := fs.Duration("duration", 10*time.Second, "how long to fire (at most; stops early when the pool is used up)")
	pool := fs.Int("pool", 30000, "challenges to fetch and sign before firing (each answers one authentication)")
	dataDir := fs.String("data", envOr("MYNAPLAT_DATA", "./data"), "the server's data directory (demo cards and the bench terminal's key)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *conns < 1 || *pool < 1 {
		return errors.New("--conns and --pool must be positive")
	}
	cfgs, err := terminal.LoadConfigs(filepath.Join(*dataDir, "bench"))
	if err != nil || len(cfgs) == 0 {
		return fmt.Errorf("no bench terminal in %s/bench: start the server once with --demo (--data %s)", *dataDir, *dataDir)
	}
	hc := benchHTTPClient(*conns, 30*time.Second)
	term, err := terminal.New(cfgs[0], *target, hc)
	if err != nil {
		return err
	}
	tc := term.Client()
	cards, err := usableCards(ctx, *dataDir, tc)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "bench: %d usable demo cards, terminal %s, target %s\n", len(cards), term.ID, *target)

	rsaRate := measureRSAVerify(2 * time.Second)
	fmt.Fprintf(out, "bench: bare RSA-2048 verify on %d CPUs: %.0f/s\n", runtime.NumCPU(), rsaRate)

	start := time.Now()
	answers, err := signPool(ctx, []*platform.TerminalClient{tc}, cards, *pool, *conns, "")
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "bench: fetched and signed %d challenges in %v\n", len(answers), time.Since(start).Round(time.Millisecond))

	cpu := serverCPUMeter(ctx, hc, *target, out)
	res := fire(ctx, hc, answers, *conns, *duration)
	res.ServerCPUMillisPerOp = cpu(res.Verified)
	res.Target, res.Conns, res.RSAVerifyPerSec, res.CPUs = *target, *conns, rsaRate, runtime.NumCPU()
	if rsaRate > 0 {
		res.Ratio = res.VerifiedPerSec / rsaRate
	}
	fmt.Fprintf(out, "bench: %d verified, %d errors in %.2fs: %.0f/s, p50 %.2f ms, p99 %.2f ms, server CPU %.2f ms each, ratio to bare verify %.3f\n",
		res.Verified, res.Errors, res.DurationSeconds, res.VerifiedPerSec, res.P50Millis, res.P99Millis, res.ServerCPUMillisPerOp, res.Ratio)
	b, _ := json.Marshal(res)
	fmt.Fprintln(out, string(b))
	return nil
}

// benchCard is a demo card ready to sign: PIN verified, key selected.
type benchCard struct {
	mu     sync.Mutex
	cert   []byte
	signer crypto.Signer
}

// usableCards opens the demo cards and keeps those that authenticate now
// (not blocked, revoked or expired), each logged in once.
func usableCards(ctx context.Context, dataDir string, tc *platform.TerminalClient) ([]*benchCard, error) {
	store, err := card.NewStore(filepath.Join(dataDir, "cards"), time.Now)
	if err != nil {
		return nil, err
	}
	infos, err := store.List()
	if err != nil {
		return nil, err
	}
	var out []*benchCard
	for _, in := range infos {
		if !in.Demo || in.DemoPINs == nil || in.AuthTriesLeft == 0 || !in.HasAuthCert {
			continue
		}
		c, err := store.Open(in.ID)
		if err != nil {
			return nil, err
		}
		cl := card.NewClient(c)
		if err := cl.VerifyPIN(card.AuthPIN, in.DemoPINs.Auth); err != nil {
			continue
		}
		cert, err := cl.Certificate(card.Auth)
		if err != nil {
			continue
		}
		signer, err := cl.Signer(card.Auth)
		if err != nil {
			continue
		}
		bc := &benchCard{cert: cert, signer: signer}
		ch, err := tc.Challenge(ctx)
		if err != nil {
			return nil, fmt.Errorf("bench: first challenge: %w", err)
		}
		req, err := platform.Answer(ch, cert, signer)
		if err != nil {
			continue
		}
		ar, err := tc.Authenticate(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("bench: first authentication: %w", err)
		}
		if ar.Report.Result == platform.Passed {
			out = append(out, bc)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("bench: no demo card authenticates (start the server with --demo)")
	}
	return out, nil
}

// measureRSAVerify is this machine's bare RSA-2048 PKCS#1 v1.5 verify rate
// on all CPUs: the yardstick of the authentication rate.
func measureRSAVerify(d time.Duration) float64 {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	sum := sha256.Sum256([]byte("mynaplat"))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	var n atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				for range 64 {
					rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, sum[:], sig)
				}
				n.Add(64)
			}
		})
	}
	wg.Wait()
	return float64(n.Load()) / d.Seconds()
}

// signPool fetches n challenges, round-robin over the terminals, has the
// cards answer them (for purpose), and builds the signed requests.
func signPool(ctx context.Context, tcs []*platform.TerminalClient, cards []*benchCard, n, conns int, purpose string) ([]*platform.PresignedAuth, error) {
	out := make([]*platform.PresignedAuth, n)
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for w := range max(conns/4, runtime.GOMAXPROCS(0)*2) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				tc := tcs[i%len(tcs)]
				ch, err := tc.Challenge(ctx)
				var req platform.AuthRequest
				if err == nil {
					bc := cards[(i+w)%len(cards)]
					bc.mu.Lock()
					req, err = platform.Answer(ch, bc.cert, bc.signer)
					bc.mu.Unlock()
					req.Purpose = purpose
				}
				if err == nil {
					out[i], err = tc.Presign(req)
				}
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, fmt.Errorf("bench: sign pool: %w", firstErr)
	}
	return out, ctx.Err()
}

// fire sends the answers from conns workers until the pool or the time runs
// out, and measures each request's latency. A request counts as verified
// when the platform answers 200 with a PASSED report.
func fire(ctx context.Context, hc *http.Client, answers []*platform.PresignedAuth, conns int, d time.Duration) BenchResult {
	passed := []byte(`"result":"PASSED"`)
	var next, verified, errs atomic.Int64
	lat := make([][]time.Duration, conns)
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for w := range conns {
		wg.Go(func() {
			for time.Now().Before(deadline) && ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(answers) {
					return
				}
				a := answers[i]
				t0 := time.Now()
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.URL, bytes.NewReader(a.Body))
				if err != nil {
					errs.Add(1)
					continue
				}
				req.Header = a.Header
				resp, err := hc.Do(req)
				var body []byte
				if err == nil {
					body, err = io.ReadAll(resp.Body)
					resp.Body.Close()
				}
				lat[w] = append(lat[w], time.Since(t0))
				if err != nil || resp.StatusCode != http.StatusOK || !bytes.Contains(body, passed) {
					errs.Add(1)
					continue
				}
				verified.Add(1)
			}
		})
	}
	wg.Wait()
	return summarize(time.Since(start), lat, verified.Load(), errs.Load())
}

// summarize makes the result of a run from its per-worker latencies.
func summarize(elapsed time.Duration, lat [][]time.Duration, ok, errs int64) BenchResult {
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	pct := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return float64(all[min(len(all)-1, int(p*float64(len(all))))].Microseconds()) / 1000
	}
	return BenchResult{DurationSeconds: elapsed.Seconds(), Requests: int64(len(all)), Verified: ok, Errors: errs,
		VerifiedPerSec: float64(ok) / elapsed.Seconds(), P50Millis: pct(0.50), P99Millis: pct(0.99)}
}

// benchFixtures returns the first n load-test fixtures (facilities, kiosks
// …) kept in path, making the missing ones: prepare opens what making them
// needs and returns add, which makes fixture i, and done.
func benchFixtures[T any](path string, n int, prepare func() (add func(i int) (T, error), done func(), err error)) ([]T, error) {
	var have []T
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &have); err != nil {
			return nil, fmt.Errorf("bench: %s: %w", path, err)
		}
	}
	if len(have) >= n {
		return have[:n], nil
	}
	add, done, err := prepare()
	if err != nil {
		return nil, err
	}
	defer done()
	for i := len(have); i < n; i++ {
		f, err := add(i)
		if err != nil {
			return nil, fmt.Errorf("bench: fixture %d (remove %s to start over on a fresh database): %w", i, path, err)
		}
		have = append(have, f)
	}
	if err := fileutil.WriteJSON(path, have); err != nil {
		return nil, err
	}
	return have, nil
}

// benchHTTPClient is a load test's client: enough idle connections for
// conns workers, each request bounded by timeout.
func benchHTTPClient(conns int, timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{
		MaxIdleConns: conns * 2, MaxIdleConnsPerHost: conns * 2, MaxConnsPerHost: conns * 2}}
}

// benchPoster sends the POSTs of a load test and reads each whole answer.
type benchPoster struct {
	ctx context.Context
	hc  *http.Client
}

func (p benchPoster) post(url string, hdr http.Header, body []byte) (int, http.Header, []byte, error) {
	req, err := http.NewRequestWithContext(p.ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header = hdr
	resp, err := p.hc.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b, err
}

// benchErrors counts a load test's errors and prints the first one.
type benchErrors struct {
	n     atomic.Int64
	first sync.Once
}

func (e *benchErrors) add(format string, args ...any) {
	e.n.Add(1)
	e.first.Do(func() { fmt.Fprintf(os.Stderr, "bench: first error: "+format+"\n", args...) })
}

// serverCPU reads the server's process CPU time (user + system, seconds)
// from its Prometheus metrics. Sampled before and after firing, it gives the
// server's CPU per operation, which the client's own CPU on the same
// machine does not blur.
func serverCPU(ctx context.Context, hc *http.Client, target string) (float64, error) {
	return serverMetric(ctx, hc, target, "process_cpu_seconds_total")
}

// serverMetric is the sum of every series of the metric name (a counter
// or gauge) on the server's /metrics.
func serverMetric(ctx context.Context, hc *http.Client, target, name string) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("bench: server metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("bench: server metrics: %s", resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var sum float64
	found := false
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), name)
		if !ok || rest == "" || (rest[0] != ' ' && rest[0] != '{') {
			continue
		}
		f := strings.Fields(rest[strings.LastIndexByte(rest, '}')+1:])
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return 0, fmt.Errorf("bench: server metrics: %s: %w", name, err)
		}
		sum, found = sum+v, true
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("bench: server metrics: %w", err)
	}
	if !found {
		return 0, fmt.Errorf("bench: the server's metrics have no %s", name)
	}
	return sum, nil
}

// clientCPUMeter samples this process's CPU time now; the function it
// returns gives its CPU milliseconds per operation since (zero where the
// system does not say).
func clientCPUMeter() func(ops int64) float64 {
	before, ok := ownCPU()
	return func(ops int64) float64 {
		after, ok2 := ownCPU()
		if !ok || !ok2 || ops == 0 {
			return 0
		}
		return float64(after-before) / float64(time.Millisecond) / float64(ops)
	}
}

// serverCPUMeter samples the server's CPU time now; the function it
// returns samples again and gives the server's CPU milliseconds per
// operation in between. Without the server's metrics it says so once and
// gives zero.
func serverCPUMeter(ctx context.Context, hc *http.Client, target string, out io.Writer) func(ops int64) float64 {
	before, err := serverCPU(ctx, hc, target)
	return func(ops int64) float64 {
		var after float64
		if err == nil {
			after, err = serverCPU(ctx, hc, target)
		}
		if err != nil {
			fmt.Fprintf(out, "bench: no server CPU per operation: %v\n", err)
			return 0
		}
		if ops == 0 {
			return 0
		}
		return (after - before) * 1000 / float64(ops)
	}
}
