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
	"github.com/mynaplat/mynaplat/community/gate"
	"github.com/mynaplat/mynaplat/community/mail"
	"github.com/mynaplat/mynaplat/community/mail/mailbox"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/mynumber"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/terminal"
)

// bench checkin (issue 20 §4; docs/community-tv.md §5.5, §11): the
// morning's arrivals at the demo's school, 南部町立 南部小学校, against a
// running serve --demo whose mails go to the bench's SMTP server (serve
// --smtp ADDR, ADDR being the bench's --smtp) and whose gate terminals'
// caller key the bench is given (serve --caller-keys gate/terminals=KEY,
// the same list as the bench's --caller-keys: the demo makes fresh keys
// for the pairs inside its process otherwise, which nothing outside
// knows).
//
// Set-up, not timed, kept for the next run in <data>/bench-fixtures/
// (as bench procure does): --children children with JPKI cards issued by
// the demo's centre in a card store of the bench's own
// (<data>/bench/checkin-cards), each logged in once at the platform
// through the demo's bench terminal (a person has a platform ID only after
// a login), and registered at the school with the gate service's
// RegisterChild on the server's database (as bench procure uses the
// services on the server's database: the school's staff page would need a
// staff card). Each run links every child's one parent with a mail address
// of the run's own (LinkParent), so that a mail of an earlier run still
// in the server's outbox is not taken for this run's.
//
// A run: --conns gate readers touch every child's card once (the
// morning's arrivals), POST /gate/nambu-school/v1/touches with the
// card's 利用者証明用 certificate as the gate reads it without a PIN,
// under the gate terminals' caller key; the server asks the platform for
// the holder among the school's children (the real presence read) and
// queues the parent's mail. The run ends when every child has touched or
// at --duration. Then the bench waits for the parents' mails on its SMTP
// server: touch to mail is from before the touch's POST to the mail's
// arrival there. A touch within the server's debounce (a minute) of an
// earlier event of the child, of an earlier run, answers that event: it
// is counted as debounced and expects no mail.

// CheckinBenchResult is the JSON line bench checkin prints last.
type CheckinBenchResult struct {
	BenchResult
	Children      int     `json:"children"`
	Touches       int64   `json:"touches"`
	TouchesPerSec float64 `json:"touches_per_sec"`
	// Events are the touches that made an event (and a mail); Debounced
	// answered an earlier run's event.
	Events    int64 `json:"events"`
	Debounced int64 `json:"debounced"`
	// Mails are this run's mails received by the bench's SMTP server;
	// Lost are events whose mail did not come within --mail-wait (must be
	// 0).
	Mails         int     `json:"mails"`
	Lost          int     `json:"lost_mails"`
	MailP50Millis float64 `json:"touch_to_mail_p50_ms"`
	MailP99Millis float64 `json:"touch_to_mail_p99_ms"`
	MailMaxMillis float64 `json:"touch_to_mail_max_ms"`
	// DrainSeconds is from the last touch to the last mail.
	DrainSeconds float64 `json:"drain_s"`
	SetupSeconds float64 `json:"setup_s"`
	// ServerCPUMillisPerTouch is the server's CPU from the first touch to
	// the last mail, per touch.
	ServerCPUMillisPerTouch float64 `json:"server_cpu_ms_per_touch"`
	Engine                  string  `json:"engine"`
	Rate                    float64 `json:"rate,omitempty"`
}

// checkinSchool is the demo's school the bench's children go to.
const checkinSchool = "nambu-school"

// benchChild is a child's card in the bench's card store, registered at
// the school.
type benchChild struct {
	CardID     string `json:"card_id"`
	PlatformID string `json:"platform_id"`
	Name       string `json:"name"`
}

func benchCheckin(ctx context.Context, fs *flag.FlagSet, args []string, out io.Writer) error {
	var d dataFlags
	d.register(fs)
	target := fs.String("target", "http://127.0.0.1:8080", "URL of a running mynaplat serve --demo --smtp ADDR --caller-keys gate/terminals=KEY")
	children := fs.Int("children", 500, "children registered at the school, each with one parent; each touches once")
	conns := fs.Int("conns", 8, "gate readers touching at once")
	duration := fs.Duration("duration", 10*time.Second, "how long to touch at most (the run ends sooner when every child has touched)")
	rate := fs.Float64("rate", 0, "touches per second at most, all readers together (0: as fast as they go)")
	smtpAddr := fs.String("smtp", "127.0.0.1:2525", "loopback host:port the bench's SMTP server listens at: the server's --smtp")
	keys := fs.String("caller-keys", os.Getenv("MYNAPLAT_CALLER_KEYS"), "the server's --caller-keys (API/CALLER=KEY,…): the bench uses gate/terminals")
	mailWait := fs.Duration("mail-wait", 2*time.Minute, "how long to wait for the parents' mails after the last touch")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *children < 1 || *conns < 1 || *duration <= 0 || *rate < 0 || *mailWait <= 0 {
		return errors.New("--children, --conns, --duration and --mail-wait must be positive, --rate not negative")
	}
	ck, err := parseCallerKeys(*keys, nil)
	if err != nil {
		return err
	}
	key := ck.key(apiGate, roleTerminals)
	if key == "" {
		return errors.New("bench: --caller-keys (MYNAPLAT_CALLER_KEYS) has no gate/terminals=KEY: give the server's")
	}
	base := strings.TrimRight(*target, "/")
	hc := benchHTTPClient(*conns, 30*time.Second)
	box, err := mailbox.StartWith(mailbox.Options{Addr: *smtpAddr})
	if err != nil {
		return fmt.Errorf("bench: the SMTP server: %w", err)
	}
	defer box.Close()

	start := time.Now()
	logger := newLogger(false, slog.LevelWarn)
	w, err := openWorld(ctx, d, logger, base)
	if err != nil {
		return err
	}
	defer w.Close()
	// The school's service on the server's database, for the
	// registrations only: it never sends (the server's does).
	school := gateBodies[0].Body
	if school.ID != checkinSchool {
		return fmt.Errorf("bench: the demo's first gate body is %s, not %s", school.ID, checkinSchool)
	}
	svc, err := gate.New(ctx, gate.Config{DB: w.db, Body: school, Logger: logger, Mail: noMail{},
		Presented: func(context.Context, []byte, []string) (string, error) { return "", platform.ErrNotFound }})
	if err != nil {
		return err
	}
	cards, err := card.NewStore(filepath.Join(d.data, "bench", "checkin-cards"), time.Now)
	if err != nil {
		return err
	}
	kids, err := checkinChildren(ctx, d, w, svc, cards, base, hc, *children, out)
	if err != nil {
		return err
	}
	// Each run's parents' addresses are its own (plus-addressed).
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	parentAddr := func(i int) string { return fmt.Sprintf("parent-%05d+%s@bench.example", i, run) }
	certs := make([][]byte, len(kids))
	for i, k := range kids {
		if err := svc.LinkParent(ctx, "bench", k.PlatformID, "bench-parent-"+k.PlatformID, parentAddr(i)); err != nil {
			return fmt.Errorf("bench: link the parent of child %d: %w", i, err)
		}
		cd, err := cards.Open(k.CardID)
		if err != nil {
			return fmt.Errorf("bench: child card %s: %w", k.CardID, err)
		}
		// The gate's read: the certificate, without a PIN.
		if certs[i], err = card.NewClient(cd).Certificate(card.Auth); err != nil {
			return fmt.Errorf("bench: child card %s: %w", k.CardID, err)
		}
	}
	res := CheckinBenchResult{Children: len(kids), Rate: *rate, Engine: "sqlite", SetupSeconds: time.Since(start).Seconds()}
	if d.db != "" {
		res.Engine = "postgres"
	}
	fmt.Fprintf(out, "bench: %d children at %s ready in %.1fs; SMTP at %s\n", len(kids), school.ID, res.SetupSeconds, box.Addr())

	cpu := serverCPUMeter(ctx, hc, base, out)
	f := fireTouches(ctx, base, key, hc, certs, *conns, *duration, *rate)
	res.BenchResult = summarize(f.elapsed, f.lat, f.touches, f.errs)
	res.Touches, res.TouchesPerSec, res.Events, res.Debounced = f.touches, res.VerifiedPerSec, int64(len(f.fresh)), f.debounced

	// The parents' mails: each event's, to its child's parent at this
	// run's address.
	want := map[string]time.Time{}
	for i, t0 := range f.fresh {
		want[parentAddr(i)] = t0
	}
	got := map[string]time.Duration{}
	var last time.Time
	wctx, cancel := context.WithTimeout(ctx, *mailWait)
	defer cancel()
	for seen := 0; len(got) < len(want); {
		mails, err := box.Wait(wctx, seen+1)
		if err != nil {
			break
		}
		for _, m := range mails[seen:] {
			for _, to := range m.To {
				if t0, ok := want[to]; ok {
					if _, dup := got[to]; !dup {
						got[to] = m.Received.Sub(t0)
						if m.Received.After(last) {
							last = m.Received
						}
					}
				}
			}
		}
		seen = len(mails)
	}
	res.ServerCPUMillisPerTouch = cpu(res.Touches)
	res.Mails, res.Lost = len(got), len(want)-len(got)
	if !last.IsZero() {
		// Zero when the last mail came before the last reader stopped.
		res.DrainSeconds = max(0, last.Sub(f.end).Seconds())
	}
	mailLat := slices.Sorted(func(yield func(time.Duration) bool) {
		for _, v := range got {
			if !yield(v) {
				return
			}
		}
	})
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	if n := len(mailLat); n > 0 {
		res.MailP50Millis, res.MailP99Millis, res.MailMaxMillis = ms(mailLat[min(n-1, n/2)]), ms(mailLat[min(n-1, n*99/100)]), ms(mailLat[n-1])
	}
	res.Target, res.Conns, res.CPUs = base, *conns, runtime.NumCPU()
	if res.Lost > 0 {
		fmt.Fprintf(out, "bench: %d mails did not come within --mail-wait %v: was the server started with --smtp %s?\n", res.Lost, *mailWait, box.Addr())
	}
	fmt.Fprintf(out, "bench: %d touches (%d events, %d debounced), %d errors in %.2fs: %.0f/s (touch p50 %.2f ms, p99 %.2f ms); %d mails on the bench's SMTP server, %d lost, touch to mail p50 %.0f ms, p99 %.0f ms, max %.0f ms; server CPU %.2f ms a touch; %s\n",
		res.Touches, res.Events, res.Debounced, res.Errors, res.DurationSeconds, res.TouchesPerSec, res.P50Millis, res.P99Millis,
		res.Mails, res.Lost, res.MailP50Millis, res.MailP99Millis, res.MailMaxMillis, res.ServerCPUMillisPerTouch, res.Engine)
	b, _ := json.Marshal(res)
	fmt.Fprintln(out, string(b))
	return nil
}

// noMail is the transport of the bench's school service, which registers
// and never sends.
type noMail struct{}

func (noMail) Send(context.Context, mail.Message) error {
	return errors.New("bench: the bench's school service sends no mail")
}

// checkinChildren returns n children, making the missing ones: a card
// issued by the demo's centre, one login at the platform through the
// demo's bench terminal, the registration at the school.
func checkinChildren(ctx context.Context, d dataFlags, w *world, svc *gate.Service, cards *card.Store, base string, hc *http.Client, n int, out io.Writer) ([]benchChild, error) {
	start := time.Now()
	return benchFixtures(filepath.Join(d.data, "bench-fixtures", "checkin-children.json"), n, func() (func(int) (benchChild, error), func(), error) {
		cfgs, err := terminal.LoadConfigs(filepath.Join(d.data, "bench"))
		if err != nil || len(cfgs) == 0 {
			return nil, nil, fmt.Errorf("no bench terminal in %s/bench: start the server once with --demo (--data %s)", d.data, d.data)
		}
		term, err := terminal.New(cfgs[0], base, hc)
		if err != nil {
			return nil, nil, err
		}
		add := func(i int) (benchChild, error) {
			c := benchChild{Name: fmt.Sprintf("負荷　児童%d", i+1)}
			num, err := mynumber.New()
			if err != nil {
				return c, err
			}
			r := jpki.Resident{Name: c.Name, Kana: "フカ　ジドウ", BirthDate: time.Date(2016, 4, 1, 0, 0, 0, 0, time.UTC),
				Sex: jpki.Female, Address: "鳥取県西伯郡南部町法勝寺１番地", Municipality: "313891"}
			cd, err := cards.Create(card.Spec{Label: "負荷試験 児童", AuthPIN: "1357", SignPIN: fmt.Sprintf("CHILD%05d", i+1), TextPIN: "1357",
				MyNumber: num, Name: c.Name, Address: r.Address, BirthDate: "20160401", Sex: "2"})
			if err != nil {
				return c, err
			}
			c.CardID = cd.ID()
			if _, err := w.centre.IssueCard(ctx, r, cd); err != nil {
				return c, err
			}
			ar, err := term.Login(ctx, cd, "1357")
			if err != nil {
				return c, err
			}
			if ar.Report.PlatformID == "" {
				return c, fmt.Errorf("bench: child %d did not log in: %s", i, ar.Report.MessageEN)
			}
			c.PlatformID = ar.Report.PlatformID
			return c, svc.RegisterChild(ctx, "bench", c.PlatformID, c.Name)
		}
		return add, func() {
			fmt.Fprintf(out, "bench: children up to %d made in %v\n", n, time.Since(start).Round(time.Millisecond))
		}, nil
	})
}

// touchesFired is what the readers' touches gave.
type touchesFired struct {
	elapsed       time.Duration
	end           time.Time
	lat           [][]time.Duration
	touches, errs int64
	debounced     int64
	// fresh are the touch times of the touches that made an event, by
	// child.
	fresh map[int]time.Time
}

// fireTouches has conns readers touch each card once, in order, until
// every card has touched or duration has passed; with rate, at that rate
// at most (an open loop: a slow answer does not slow the touches down).
func fireTouches(ctx context.Context, base, key string, hc *http.Client, certs [][]byte, conns int, duration time.Duration, rate float64) touchesFired {
	f := touchesFired{lat: make([][]time.Duration, conns), fresh: map[int]time.Time{}}
	var mu sync.Mutex
	var next, touches, debounced atomic.Int64
	var errs benchErrors
	start := time.Now()
	deadline := start.Add(duration)
	var tokens chan struct{}
	if rate > 0 {
		tokens = make(chan struct{}, conns)
		go func() {
			t := time.NewTicker(time.Duration(float64(time.Second) / rate))
			defer t.Stop()
			defer close(tokens)
			for time.Now().Before(deadline) && int(next.Load()) < len(certs) {
				<-t.C
				select {
				case tokens <- struct{}{}:
				default:
				}
			}
		}()
	}
	var wg sync.WaitGroup
	for r := range conns {
		wg.Go(func() {
			cl := &gate.Client{BaseURL: base, Body: checkinSchool, Key: key, HTTP: hc}
			terminal := "bench-gate-" + strconv.Itoa(r)
			for time.Now().Before(deadline) && ctx.Err() == nil {
				if tokens != nil {
					if _, ok := <-tokens; !ok {
						return
					}
				}
				i := int(next.Add(1) - 1)
				if i >= len(certs) {
					return
				}
				t0 := time.Now()
				ev, err := cl.Touch(ctx, terminal, certs[i])
				f.lat[r] = append(f.lat[r], time.Since(t0))
				if err != nil {
					errs.add("child %d: %v", i, err)
					continue
				}
				touches.Add(1)
				// The event's time is the server's clock, on this machine
				// (ms): earlier than the touch is an earlier run's event.
				if ev.At.Before(t0.Truncate(time.Millisecond)) {
					debounced.Add(1)
					continue
				}
				mu.Lock()
				f.fresh[i] = t0
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	f.end = time.Now()
	f.elapsed = f.end.Sub(start)
	f.touches, f.errs, f.debounced = touches.Load(), errs.n.Load(), debounced.Load()
	return f
}
