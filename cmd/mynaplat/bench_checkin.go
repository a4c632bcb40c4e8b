package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mynaplat/mynaplat/community/gate"
	"github.com/mynaplat/mynaplat/community/mail"
	"github.com/mynaplat/mynaplat/community/mail/mailbox"
	"github.com/mynaplat/mynaplat/internal/callerkey"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/store"
)

// CheckinBenchResult is the JSON summary bench checkin prints last.
type CheckinBenchResult struct {
	BenchResult
	Children        int     `json:"children"`
	Touches         int64   `json:"touches"`
	TouchesPerSec   float64 `json:"touches_per_sec"`
	Mails           int     `json:"mails"`
	MailP50Millis   float64 `json:"touch_to_mail_p50_ms"`
	MailP99Millis   float64 `json:"touch_to_mail_p99_ms"`
	MailMaxMillis   float64 `json:"touch_to_mail_max_ms"`
	DrainSeconds    float64 `json:"drain_s"`
	Engine          string  `json:"engine"`
	Rate            float64 `json:"rate,omitempty"`
	PresenceStandIn bool    `json:"presence_stand_in"`
}

// benchCheckin measures the children's check-in (docs/community-tv.md §5.5,
// §11) in one process: a school's gate service on a fresh database (SQLite
// in a temporary directory, or --db), its touch API over HTTP on the
// loopback under a caller key, its mail worker, and the in-process SMTP
// server (community/mail/mailbox, as the tests and the demo use). conns
// gate readers touch the cards of --children children, each with one
// parent, for --duration; then it waits for every parent's mail on the
// SMTP server. The touch-to-mail time is from before the touch's POST to
// the outbox's mark of the mail as accepted by the server (the mailbox has
// taken it by then). The platform's presence read is a stand-in (a map
// from the certificate to the child, among the body's children, as
// platform.PresentedPerson answers): its cost is the platform's, measured
// by bench auth's side of the platform, not here.
func benchCheckin(ctx context.Context, fs *flag.FlagSet, args []string, out io.Writer) error {
	children := fs.Int("children", 500, "children registered at the school, each with one parent")
	conns := fs.Int("conns", 8, "gate readers touching at once")
	duration := fs.Duration("duration", 10*time.Second, "how long to touch")
	rate := fs.Float64("rate", 0, "touches per second at most, all readers together (0: as fast as they go)")
	dsn := fs.String("db", os.Getenv("MYNAPLAT_BENCH_DB"), "PostgreSQL DSN (empty: SQLite in a temporary directory)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *children < 1 || *conns < 1 || *duration <= 0 || *rate < 0 {
		return errors.New("--children, --conns and --duration must be positive, --rate not negative")
	}
	dir, err := os.MkdirTemp("", "mynaplat-bench-checkin-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	db, err := store.Open(ctx, store.Options{DSN: *dsn, DataDir: dir})
	if err != nil {
		return err
	}
	defer db.Close()
	box, err := mailbox.Start()
	if err != nil {
		return err
	}
	defer box.Close()
	sender, err := mail.NewSender(mail.Config{Addr: box.Addr(), From: "gate@bench.example"}, time.Now)
	if err != nil {
		return err
	}
	// A body of its own per run, so that a PostgreSQL database used before
	// holds nothing of it.
	body := gate.Body{ID: "bench-" + strconv.FormatInt(time.Now().UnixNano(), 36), Name: "負荷試験小学校", NameEN: "Bench school", Phone: "000"}
	holders := map[string]string{}
	presented := func(_ context.Context, der []byte, among []string) (string, error) {
		id, ok := holders[string(der)]
		if !ok || !slices.Contains(among, id) {
			return "", platform.ErrNotFound
		}
		return id, nil
	}
	// The service's errors (an internal error behind a failed touch) go to
	// stderr.
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	svc, err := gate.New(ctx, gate.Config{DB: db, Body: body, Presented: presented, Mail: sender, Debounce: -1, Logger: logger})
	if err != nil {
		return err
	}
	for i := range *children {
		id := fmt.Sprintf("child-%05d", i)
		holders["card-"+id] = id
		if err := svc.RegisterChild(ctx, "bench", id, fmt.Sprintf("負荷　太郎%d", i)); err != nil {
			return err
		}
		if err := svc.LinkParent(ctx, "bench", id, "parent-"+id, fmt.Sprintf("parent-%05d@bench.example", i)); err != nil {
			return err
		}
	}
	key := callerkey.New()
	mux := http.NewServeMux()
	svc.Routes(mux, gate.APIConfig{Gates: callerkey.Keys{}.Add("terminals", key)})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	wctx, stopWorker := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { svc.Run(wctx, time.Second) })
	defer func() { stopWorker(); wg.Wait() }()

	type touch struct {
		ref string
		t0  time.Time
	}
	var next, touches, errs atomic.Int64
	lat := make([][]time.Duration, *conns)
	done := make([][]touch, *conns)
	hc := benchHTTPClient(*conns, 30*time.Second)
	start := time.Now()
	deadline := start.Add(*duration)
	// With --rate, a pacer lets the readers touch at that rate at most (an
	// open loop: a slow answer does not slow the touches down).
	var tokens chan struct{}
	if *rate > 0 {
		tokens = make(chan struct{}, *conns)
		go func() {
			t := time.NewTicker(time.Duration(float64(time.Second) / *rate))
			defer t.Stop()
			for time.Now().Before(deadline) {
				<-t.C
				select {
				case tokens <- struct{}{}:
				default:
				}
			}
			close(tokens)
		}()
	}
	var fw sync.WaitGroup
	for w := range *conns {
		fw.Go(func() {
			cl := &gate.Client{BaseURL: srv.URL, Body: body.ID, Key: key, HTTP: hc}
			for time.Now().Before(deadline) && ctx.Err() == nil {
				if tokens != nil {
					if _, ok := <-tokens; !ok {
						return
					}
				}
				id := fmt.Sprintf("child-%05d", int(next.Add(1)-1)%*children)
				t0 := time.Now()
				ev, err := cl.Touch(ctx, "gate-"+strconv.Itoa(w), []byte("card-"+id))
				lat[w] = append(lat[w], time.Since(t0))
				if err != nil {
					if errs.Add(1) == 1 {
						fmt.Fprintf(os.Stderr, "bench: the first error: %v\n", err)
					}
					continue
				}
				touches.Add(1)
				done[w] = append(done[w], touch{ref: "event:" + strconv.FormatInt(ev.ID, 10) + ":parent-" + id, t0: t0})
			}
		})
	}
	fw.Wait()
	elapsed := time.Since(start)
	n := int(touches.Load())
	wctx2, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if _, err := box.Wait(wctx2, n); err != nil {
		return fmt.Errorf("bench: the mails: %w", err)
	}
	drain := time.Since(start.Add(elapsed))
	var mailLat []time.Duration
	for _, ts := range done {
		for _, tc := range ts {
			st, err := svc.Outbox().Status(ctx, tc.ref)
			if err != nil {
				return fmt.Errorf("bench: mail %s: %w", tc.ref, err)
			}
			if st.Sent.IsZero() {
				// The server has it, the mark is a moment behind.
				time.Sleep(50 * time.Millisecond)
				if st, err = svc.Outbox().Status(ctx, tc.ref); err != nil || st.Sent.IsZero() {
					return fmt.Errorf("bench: mail %s not marked sent: %v", tc.ref, err)
				}
			}
			mailLat = append(mailLat, st.Sent.Sub(tc.t0))
		}
	}
	slices.Sort(mailLat)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	pct := func(p float64) float64 {
		if len(mailLat) == 0 {
			return 0
		}
		return ms(mailLat[min(len(mailLat)-1, int(p*float64(len(mailLat))))])
	}
	engine := "sqlite"
	if *dsn != "" {
		engine = "postgres"
	}
	res := CheckinBenchResult{BenchResult: summarize(elapsed, lat, int64(n), errs.Load()), Children: *children, Touches: int64(n),
		Mails: len(box.Mails()), MailP50Millis: pct(0.50), MailP99Millis: pct(0.99), DrainSeconds: drain.Seconds(), Engine: engine,
		PresenceStandIn: true, Rate: *rate}
	if len(mailLat) > 0 {
		res.MailMaxMillis = ms(mailLat[len(mailLat)-1])
	}
	res.Target, res.Conns, res.CPUs = srv.URL, *conns, runtime.NumCPU()
	res.TouchesPerSec = res.VerifiedPerSec
	fmt.Fprintf(out, "bench: %d touches, %d errors in %.2fs: %.0f/s (touch p50 %.2f ms, p99 %.2f ms); %d mails on the SMTP server, touch to mail p50 %.0f ms, p99 %.0f ms, max %.0f ms; %s\n",
		n, res.Errors, res.DurationSeconds, res.TouchesPerSec, res.P50Millis, res.P99Millis, res.Mails, res.MailP50Millis, res.MailP99Millis, res.MailMaxMillis, engine)
	b, _ := json.Marshal(res)
	fmt.Fprintln(out, string(b))
	return nil
}
