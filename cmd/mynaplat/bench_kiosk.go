package main

import (
	"bytes"
	"context"
	"crypto/rand"
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

	"github.com/mynaplat/mynaplat/jlis"
	"github.com/mynaplat/mynaplat/municipal"
	"github.com/mynaplat/mynaplat/platform"
)

// benchKiosk is a kiosk of the load test: its platform terminal and its key
// at the relay.
type benchKiosk struct {
	ID          string `json:"id"`
	TerminalKey string `json:"terminal_key"`
	RelayKey    string `json:"relay_key"`
}

// KioskBenchResult is the JSON summary bench kiosk prints last.
type KioskBenchResult struct {
	BenchResult
	Kiosks         int     `json:"kiosks"`
	Certificates   int64   `json:"certificates"`
	CertsPerSecond float64 `json:"certificates_per_sec"`
	PDFBytes       int64   `json:"pdf_bytes_avg"`
}

// benchKioskCmd drives end-to-end certificate issuance at kiosks: the card's
// answer authenticated at the platform, the order at the relay (the holder's
// attributes read, the job recorded, the municipality's issuance server
// rendering the 住民票の写し with its QR code and the seal's PAdES signature,
// the relay checking it), and the print that hands out the PDF once. The
// card side is signed ahead, as in bench auth.
func benchKioskCmd(ctx context.Context, fs *flag.FlagSet, args []string, out io.Writer) error {
	var d dataFlags
	d.register(fs)
	target := fs.String("target", "http://127.0.0.1:8080", "URL of a running mynaplat serve --demo")
	nkiosk := fs.Int("kiosks", 32, "kiosks issuing at once")
	conns := fs.Int("conns", 16, "concurrent connections (each one kiosk customer at a time)")
	duration := fs.Duration("duration", 10*time.Second, "how long to fire (at most; stops early when the pool is used up)")
	pool := fs.Int("pool", 3000, "card answers to sign before firing (each is one certificate)")
	certType := fs.String("type", string(municipal.Juminhyo), "certificate type to issue")
	jpkiURL := fs.String("jpki-url", os.Getenv("MYNAPLAT_JPKI_URL"), "the JPKI centre's URL, when it does not run on this data dir")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *conns < 1 || *pool < 1 || *nkiosk < 1 || *nkiosk > 10000 {
		return errors.New("--conns and --pool must be positive, --kiosks 1–10000")
	}
	ks, err := benchKiosks(ctx, d, *jpkiURL, *nkiosk, out)
	if err != nil {
		return err
	}
	hc := benchHTTPClient(*conns*2, time.Minute)
	tcs := make([]*platform.TerminalClient, len(ks))
	relayKey := map[string]string{}
	for i, k := range ks {
		key, err := base64.StdEncoding.DecodeString(k.TerminalKey)
		if err != nil {
			return fmt.Errorf("bench: kiosk %s: bad terminal key", k.ID)
		}
		tcs[i] = &platform.TerminalClient{BaseURL: *target, TerminalID: k.ID, Key: key, HTTP: hc}
		relayKey[k.ID] = k.RelayKey
	}
	cards, err := usableCards(ctx, d.data, tcs[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "bench: %d usable demo cards, %d kiosks, target %s\n", len(cards), len(ks), *target)
	start := time.Now()
	answers, err := signPool(ctx, tcs, cards, *pool, *conns, "")
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "bench: fetched and signed %d answers in %v\n", len(answers), time.Since(start).Round(time.Millisecond))
	cpu := serverCPUMeter(ctx, hc, *target, out)
	res := fireIssuance(ctx, hc, *target, answers, relayKey, municipal.CertType(*certType), *conns, *duration)
	res.ServerCPUMillisPerOp = cpu(res.Verified)
	res.Target, res.Conns, res.CPUs, res.Kiosks = *target, *conns, runtime.NumCPU(), len(ks)
	res.Certificates, res.CertsPerSecond = res.Verified, res.VerifiedPerSec
	fmt.Fprintf(out, "bench: %d certificates, %d errors in %.2fs: %.1f/s, p50 %.1f ms, p99 %.1f ms, server CPU %.1f ms each, PDF %d bytes on average\n",
		res.Certificates, res.Errors, res.DurationSeconds, res.CertsPerSecond, res.P50Millis, res.P99Millis, res.ServerCPUMillisPerOp, res.PDFBytes)
	b, _ := json.Marshal(res)
	fmt.Fprintln(out, string(b))
	return nil
}

// benchKiosks returns n load-test kiosks, registering those missing
// (terminal at the platform, kiosk at the relay) in the server's database;
// they are kept in <data>/bench-fixtures/kiosks.json (not in <data>/bench,
// whose every file is read as a terminal configuration by bench auth).
func benchKiosks(ctx context.Context, d dataFlags, jpkiURL string, n int, out io.Writer) ([]benchKiosk, error) {
	return benchFixtures(filepath.Join(d.data, "bench-fixtures", "kiosks.json"), n, func() (func(int) (benchKiosk, error), func(), error) {
		logger := newLogger(false, slog.LevelWarn)
		db, p, err := openLocalPlatform(ctx, d, jpkiURL, logger)
		if err != nil {
			return nil, nil, err
		}
		svc, err := jlis.Open(ctx, jlis.Config{DB: db, Logger: logger})
		if err != nil {
			db.Close()
			return nil, nil, err
		}
		add := func(i int) (benchKiosk, error) {
			k := benchKiosk{ID: fmt.Sprintf("bench-kiosk-%d", i)}
			if k.TerminalKey, err = p.RegisterTerminal(ctx, platform.Terminal{ID: k.ID, Kind: platform.Kiosk,
				Owner: "負荷試験", Name: fmt.Sprintf("負荷試験 マルチコピー機 %d", i)}); err != nil {
				return k, err
			}
			k.RelayKey, err = svc.AddKiosk(ctx, k.ID, "負荷試験")
			return k, err
		}
		return add, func() { db.Close(); fmt.Fprintf(out, "bench: registered kiosks up to %d\n", n) }, nil
	})
}

// fireIssuance runs one issuance per answer: authenticate, order at the
// relay (which has the municipality render and seal it), print. It counts
// when the PDF arrives and its job is the one ordered.
func fireIssuance(ctx context.Context, hc *http.Client, target string, answers []*platform.PresignedAuth, relayKey map[string]string,
	t municipal.CertType, conns int, d time.Duration) KioskBenchResult {
	var next, ok, pdfBytes atomic.Int64
	lat := make([][]time.Duration, conns)
	start := time.Now()
	deadline := start.Add(d)
	var errs benchErrors
	fail, post := errs.add, benchPoster{ctx, hc}.post
	relay := strings.TrimRight(target, "/") + "/jlis/v1/"
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
				status, _, body, err := post(a.URL, a.Header, a.Body)
				var ar platform.AuthResponse
				if err != nil || status != http.StatusOK || json.Unmarshal(body, &ar) != nil || ar.Assertion == "" {
					lat[w] = append(lat[w], time.Since(t0))
					fail("auth: %d %v %.200s", status, err, body)
					continue
				}
				kioskID := a.Header.Get("X-Mynaplat-Terminal")
				hdr := http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + relayKey[kioskID]}}
				home, err := holderResidence(ctx, post, relay, hdr, ar.Assertion)
				if err != nil {
					lat[w] = append(lat[w], time.Since(t0))
					fail("menu: %v", err)
					continue
				}
				ob, _ := json.Marshal(jlis.OrderBody{Assertion: ar.Assertion, Order: jlis.Order{RequestKey: rand.Text(),
					Municipality: home, Type: t}})
				status, _, body, err = post(relay+"jobs", hdr, ob)
				var job jlis.Job
				if err != nil || status != http.StatusOK || json.Unmarshal(body, &job) != nil || job.State != jlis.Rendered {
					lat[w] = append(lat[w], time.Since(t0))
					fail("order: %d %v %.200s", status, err, body)
					continue
				}
				pb, _ := json.Marshal(map[string]string{"assertion": ar.Assertion})
				status, h, body, err := post(relay+"jobs/"+job.ID+"/print", hdr, pb)
				lat[w] = append(lat[w], time.Since(t0))
				var printed jlis.Job
				if err != nil || status != http.StatusOK || !bytes.HasPrefix(body, []byte("%PDF-")) ||
					json.Unmarshal([]byte(h.Get(jlis.JobHeader)), &printed) != nil || printed.ID != job.ID {
					fail("print: %d %v %.200s", status, err, body)
					continue
				}
				pdfBytes.Add(int64(len(body)))
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	res := KioskBenchResult{BenchResult: summarize(time.Since(start), lat, ok.Load(), errs.n.Load())}
	if n := ok.Load(); n > 0 {
		res.PDFBytes = pdfBytes.Load() / n
	}
	return res
}

// holderResidence asks the relay's menu for the holder's 住所地, as a kiosk
// does before showing the certificates.
func holderResidence(_ context.Context, post func(string, http.Header, []byte) (int, http.Header, []byte, error),
	relay string, hdr http.Header, assertion string) (string, error) {
	mb, _ := json.Marshal(map[string]string{"assertion": assertion})
	status, _, body, err := post(relay+"menu", hdr, mb)
	var m jlis.Menu
	if err != nil || status != http.StatusOK || json.Unmarshal(body, &m) != nil {
		return "", fmt.Errorf("%d %v %.200s", status, err, body)
	}
	return m.Residence, nil
}
