package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mynaplat/mynaplat/eligibility"
	"github.com/mynaplat/mynaplat/platform"
)

// benchFacility is a facility of the load test, with its reception terminal.
type benchFacility struct {
	Code        string `json:"code"`
	FacilityKey string `json:"facility_key"`
	TerminalID  string `json:"terminal_id"`
	TerminalKey string `json:"terminal_key"`
}

// EligibilityBenchResult is the JSON summary bench eligibility prints last.
type EligibilityBenchResult struct {
	BenchResult
	Facilities   int     `json:"facilities"`
	ChecksPerSec float64 `json:"checks_per_sec"`
	Checks       int64   `json:"checks"`
}

// benchEligibility drives full eligibility checks — the card's answer
// authenticated at the platform (audit row), then the check at the service
// (five-attribute link, answer, check row) — from many facilities at once.
// The card side (an RSA private operation per answer) is done ahead, as in
// bench auth.
func benchEligibility(ctx context.Context, fs *flag.FlagSet, args []string, out io.Writer) error {
	var d dataFlags
	d.register(fs)
	target := fs.String("target", "http://127.0.0.1:8080", "URL of a running mynaplat serve --demo")
	nfac := fs.Int("facilities", 1000, "facilities (each with a reception terminal) checking at once")
	conns := fs.Int("conns", 64, "concurrent connections")
	duration := fs.Duration("duration", 10*time.Second, "how long to fire (at most; stops early when the pool is used up)")
	pool := fs.Int("pool", 30000, "card answers to sign before firing (each is one check)")
	jpkiURL := fs.String("jpki-url", os.Getenv("MYNAPLAT_JPKI_URL"), "the JPKI centre's URL, when it does not run on this data dir")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *conns < 1 || *pool < 1 || *nfac < 1 || *nfac > 100000 {
		return errors.New("--conns and --pool must be positive, --facilities 1–100000")
	}
	facs, err := benchFacilities(ctx, d, *jpkiURL, *nfac, out)
	if err != nil {
		return err
	}
	hc := benchHTTPClient(*conns, 30*time.Second)
	tcs := make([]*platform.TerminalClient, len(facs))
	for i, f := range facs {
		key, err := base64.StdEncoding.DecodeString(f.TerminalKey)
		if err != nil {
			return fmt.Errorf("bench: facility %s: bad terminal key", f.Code)
		}
		tcs[i] = &platform.TerminalClient{BaseURL: *target, TerminalID: f.TerminalID, Key: key, HTTP: hc}
	}
	cards, err := usableCards(ctx, d.data, tcs[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "bench: %d usable demo cards, %d facilities, target %s\n", len(cards), len(facs), *target)
	rsaRate := measureRSAVerify(2 * time.Second)
	fmt.Fprintf(out, "bench: bare RSA-2048 verify on %d CPUs: %.0f/s\n", runtime.NumCPU(), rsaRate)
	start := time.Now()
	answers, err := signPool(ctx, tcs, cards, *pool, *conns, platform.PurposeEligibility)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "bench: fetched and signed %d answers in %v\n", len(answers), time.Since(start).Round(time.Millisecond))

	cpu := serverCPUMeter(ctx, hc, *target, out)
	res := fireChecks(ctx, hc, *target, answers, facs, *conns, *duration)
	res.ServerCPUMillisPerOp = cpu(res.Verified)
	res.Target, res.Conns, res.RSAVerifyPerSec, res.CPUs, res.Facilities = *target, *conns, rsaRate, runtime.NumCPU(), len(facs)
	res.Checks, res.ChecksPerSec = res.Verified, res.VerifiedPerSec
	if rsaRate > 0 {
		res.Ratio = res.ChecksPerSec / rsaRate
	}
	fmt.Fprintf(out, "bench: %d checks, %d errors in %.2fs: %.0f/s, p50 %.2f ms, p99 %.2f ms, server CPU %.2f ms each, ratio to bare verify %.3f\n",
		res.Checks, res.Errors, res.DurationSeconds, res.ChecksPerSec, res.P50Millis, res.P99Millis, res.ServerCPUMillisPerOp, res.Ratio)
	b, _ := json.Marshal(res)
	fmt.Fprintln(out, string(b))
	return nil
}

// benchFacilities returns n load-test facilities, registering those missing
// (facility at the service, reception terminal at the platform) in the
// server's database; they are kept in <data>/bench-fixtures/facilities.json.
func benchFacilities(ctx context.Context, d dataFlags, jpkiURL string, n int, out io.Writer) ([]benchFacility, error) {
	start := time.Now()
	return benchFixtures(filepath.Join(d.data, "bench-fixtures", "facilities.json"), n, func() (func(int) (benchFacility, error), func(), error) {
		logger := newLogger(false, slog.LevelWarn)
		db, p, err := openLocalPlatform(ctx, d, jpkiURL, logger)
		if err != nil {
			return nil, nil, err
		}
		svc, err := eligibility.Open(ctx, eligibility.Config{DB: db, Logger: logger})
		if err != nil {
			db.Close()
			return nil, nil, err
		}
		add := func(i int) (benchFacility, error) {
			// Prefecture code 99 does not exist: these are the load test's.
			f := benchFacility{Code: fmt.Sprintf("99%08d", i), TerminalID: fmt.Sprintf("bench-reception-%d", i)}
			if f.FacilityKey, err = svc.AddFacility(ctx, f.Code, fmt.Sprintf("負荷試験 医療機関 %d", i)); err != nil {
				return f, err
			}
			if f.TerminalKey, err = p.RegisterTerminal(ctx, platform.Terminal{ID: f.TerminalID, Kind: platform.Reception,
				Owner: "負荷試験", Name: "負荷試験 受付 " + f.Code}); err != nil {
				return f, err
			}
			return f, svc.AddFacilityTerminal(ctx, f.Code, f.TerminalID)
		}
		return add, func() {
			db.Close()
			fmt.Fprintf(out, "bench: registered facilities up to %d in %v\n", n, time.Since(start).Round(time.Millisecond))
		}, nil
	})
}

// fireChecks runs one full check per answer: the authentication, then the
// eligibility check with the assertion, from the answer's facility. A check
// counts when both succeed and the answer is one of the five values.
func fireChecks(ctx context.Context, hc *http.Client, target string, answers []*platform.PresignedAuth, facs []benchFacility,
	conns int, d time.Duration) EligibilityBenchResult {
	byTerminal := map[string]string{}
	for _, f := range facs {
		byTerminal[f.TerminalID] = f.FacilityKey
	}
	checkURL := strings.TrimRight(target, "/") + "/eligibility/v1/checks"
	var next, ok atomic.Int64
	lat := make([][]time.Duration, conns)
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	var errs benchErrors
	fail, post := errs.add, benchPoster{ctx, hc}.post
	for w := range conns {
		wg.Go(func() {
			for time.Now().Before(deadline) && ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(answers) {
					return
				}
				a := answers[i]
				t0 := time.Now()
				status, _, body, err := post(a.URL, a.Header, a.Body)
				var ar platform.AuthResponse
				if err != nil || status != http.StatusOK || json.Unmarshal(body, &ar) != nil || ar.Assertion == "" {
					lat[w] = append(lat[w], time.Since(t0))
					fail("auth: %d %v %.200s", status, err, body)
					continue
				}
				cb, _ := json.Marshal(eligibility.CardCheckRequest{Assertion: ar.Assertion, Consent: eligibility.Consent{Limit: true}})
				hdr := http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + byTerminal[a.Header.Get("X-Mynaplat-Terminal")]}}
				status, _, body, err = post(checkURL, hdr, cb)
				lat[w] = append(lat[w], time.Since(t0))
				var res eligibility.CheckResult
				if err != nil || status != http.StatusCreated || json.Unmarshal(body, &res) != nil || res.Validity == "" {
					fail("check: %d %v %.200s", status, err, body)
					continue
				}
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	return EligibilityBenchResult{BenchResult: summarize(time.Since(start), lat, ok.Load(), errs.n.Load())}
}
