package ratelimit

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/internal/httpapi"
)

// clock is a test clock that moves only when told.
type clock struct{ t time.Time }

func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *clock               { return &clock{t: time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)} }
func opts(c *clock, max int) Options { return Options{Now: c.now, MaxKeys: max} }

// step is one thing done to a limiter of Limit{Burst: 3, Every: 10s} and
// what it must answer.
type step struct {
	advance time.Duration
	op      string // "allow" (n tokens), "wait", "charge" (n tokens)
	n       int
	ok      bool
	wait    time.Duration
}

func TestLimiter(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
	}{
		{"a burst, then refused until a token comes back", []step{
			{op: "allow", n: 1, ok: true}, {op: "allow", n: 1, ok: true}, {op: "allow", n: 1, ok: true},
			{op: "allow", n: 1, wait: 10 * time.Second},
			{advance: 4 * time.Second, op: "allow", n: 1, wait: 6 * time.Second},
			{advance: 6 * time.Second, op: "allow", n: 1, ok: true},
			{op: "allow", n: 1, wait: 10 * time.Second},
		}},
		{"n tokens at once", []step{
			{op: "allow", n: 2, ok: true}, {op: "allow", n: 2, wait: 10 * time.Second},
			{op: "allow", n: 4, wait: 30 * time.Second}, // 4 more than 1 left: 30s until 4 are back
			{op: "allow", n: 1, ok: true},
		}},
		{"a full bucket stays full while idle", []step{
			{advance: time.Hour, op: "allow", n: 3, ok: true}, {op: "wait", wait: 10 * time.Second},
		}},
		{"wait takes nothing", []step{
			{op: "wait"}, {op: "wait"}, {op: "allow", n: 3, ok: true}, {op: "wait", wait: 10 * time.Second},
		}},
		{"charge empties the bucket and no further", []step{
			{op: "charge", n: 100}, {op: "wait", wait: 10 * time.Second},
			{advance: 10 * time.Second, op: "wait"},
			{op: "allow", n: 1, ok: true}, {op: "wait", wait: 10 * time.Second},
		}},
		{"charge counts like allow", []step{
			{op: "charge", n: 1}, {op: "charge", n: 1}, {op: "wait"}, {op: "charge", n: 1},
			{op: "wait", wait: 10 * time.Second},
			{advance: 30 * time.Second, op: "allow", n: 3, ok: true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			l := New(Limit{Burst: 3, Every: 10 * time.Second}, opts(c, 0))
			for i, s := range tt.steps {
				c.add(s.advance)
				switch s.op {
				case "allow":
					wait, ok := l.Allow("k", s.n)
					if ok != s.ok || wait != s.wait {
						t.Errorf("step %d: Allow(%d) = %v, %v; want %v, %v", i, s.n, wait, ok, s.wait, s.ok)
					}
				case "wait":
					if got := l.Wait("k"); got != s.wait {
						t.Errorf("step %d: Wait = %v, want %v", i, got, s.wait)
					}
				case "charge":
					l.Charge("k", s.n)
				}
			}
		})
	}
}

// TestLimiterKeysApart: one key's bucket is not another's, and the zero
// Limit (or no limiter) limits nothing.
func TestLimiterKeysApart(t *testing.T) {
	c := newClock()
	l := New(Limit{Burst: 1, Every: time.Minute}, opts(c, 0))
	if _, ok := l.Allow("a", 1); !ok {
		t.Fatal("a refused at first")
	}
	if _, ok := l.Allow("a", 1); ok {
		t.Fatal("a allowed twice")
	}
	if _, ok := l.Allow("b", 1); !ok {
		t.Fatal("b refused because of a")
	}
	for name, off := range map[string]*Limiter{"zero limit": New(Limit{}, opts(c, 0)), "nil": nil} {
		for range 1000 {
			if _, ok := off.Allow("a", 5); !ok {
				t.Fatalf("%s: refused", name)
			}
			off.Charge("a", 5)
		}
		if off.Wait("a") != 0 || off.Len() != 0 {
			t.Errorf("%s: wait %v, %d keys", name, off.Wait("a"), off.Len())
		}
	}
}

// TestLimiterBoundedMemory: 100,000 distinct keys, all of them limited at
// once (the worst case: nothing is idle), never keep more than MaxKeys;
// keys whose buckets filled again go first; and the heap stays near what
// MaxKeys costs.
func TestLimiterBoundedMemory(t *testing.T) {
	c := newClock()
	const max = 10_000
	l := New(Limit{Burst: 1, Every: time.Hour}, opts(c, max))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range 100_000 {
		l.Charge("198.51."+strconv.Itoa(i), 1)
		if n := l.Len(); n > max {
			t.Fatalf("after %d keys: %d kept, max %d", i+1, n, max)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	// 10,000 keys of ~12 bytes in a map: well under 4 MB; 100,000 kept
	// would be several times that.
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 4<<20 {
		t.Errorf("heap grew %d bytes for %d keys", grew, l.Len())
	}
	// Keys that are idle again make room before any limited one goes.
	l2 := New(Limit{Burst: 1, Every: time.Second}, opts(c, 4))
	for _, k := range []string{"a", "b", "c"} {
		l2.Charge(k, 1)
	}
	c.add(time.Second) // a, b, c are full again
	l2.Charge("limited", 1)
	l2.Charge("new", 1)
	if l2.Wait("limited") == 0 || l2.Len() != 2 {
		t.Errorf("idle keys not swept first: %d kept, limited waits %v", l2.Len(), l2.Wait("limited"))
	}
}

// TestLogin: an attacker's failures at one source spend that source's and
// that pair's buckets; the holder at another source goes ahead at once;
// failures from many sources block the account for at most Account.Every.
func TestLogin(t *testing.T) {
	c := newClock()
	lim := LoginLimits{Source: Limit{Burst: 30, Every: time.Second}, FailureCost: 3,
		Pair: Limit{Burst: 5, Every: time.Minute}, Account: Limit{Burst: 20, Every: 15 * time.Second}}
	g := NewLogin(lim, opts(c, 0))
	refused := 0
	for range 1000 {
		if g.Check("card-1", "203.0.113.9") > 0 {
			refused++
			continue
		}
		g.Done("card-1", "203.0.113.9", false)
	}
	if refused != 995 {
		t.Errorf("%d of 1000 tries refused, want 995 (the pair's burst is 5)", refused)
	}
	if d := g.Check("card-1", "203.0.113.9"); d <= 0 || d > time.Minute {
		t.Errorf("attacker told to wait %v, want (0, 1m]", d)
	}
	if d := g.Check("card-1", "192.0.2.1"); d != 0 {
		t.Errorf("holder elsewhere waits %v, want 0", d)
	}
	g.Done("card-1", "192.0.2.1", true)

	// Four sources spend the account's 20 failures: the holder waits at
	// most Account.Every, and CheckPair does not make him wait at all.
	for s := range 4 {
		for range 5 {
			g.Done("card-2", fmt.Sprint("10.0.0.", s), false)
		}
	}
	d := g.Check("card-2", "192.0.2.1")
	if d <= 0 || d > lim.Account.Every {
		t.Errorf("holder after a spread attack waits %v, want (0, %v]", d, lim.Account.Every)
	}
	if d := g.CheckPair("card-2", "192.0.2.1"); d != 0 {
		t.Errorf("CheckPair: holder waits %v", d)
	}
	if g.AccountWait("card-2") == 0 {
		t.Error("AccountWait: the account's bucket is empty but it says go")
	}
	c.add(d)
	if d := g.Check("card-2", "192.0.2.1"); d != 0 {
		t.Errorf("after Retry-After the holder still waits %v", d)
	}

	// Failures count FailureCost at the source; successes one.
	c.add(time.Hour)
	for range 10 {
		g.Done("", "198.51.100.7", false)
	}
	if d := g.Check("", "198.51.100.7"); d == 0 {
		t.Error("30 tries' worth of failures: the source still goes ahead")
	}
	for range 30 {
		g.Done("", "198.51.100.8", true)
	}
	if d := g.Check("", "198.51.100.8"); d == 0 {
		t.Error("30 successes: the source still goes ahead")
	}
	c.add(time.Second)
	if d := g.Check("", "198.51.100.8"); d != 0 {
		t.Errorf("a second later: waits %v", d)
	}
}

// TestRefusalAnswer: a refusal written through a role's table is a 429
// problem with Retry-After, the seconds in both languages, and comes back
// to the role's client as ErrLimited with its wait.
func TestRefusalAnswer(t *testing.T) {
	rules := httpapi.Rules{Rule}
	if err := rules.Check(); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rules.Write(w, r, nil, fmt.Errorf("platform: card: %w", Refuse(41500*time.Millisecond)))
	}))
	defer srv.Close()
	resp, err := http.Post(srv.URL, "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "42" || resp.Header.Get("Content-Type") != httpapi.ContentType {
		t.Errorf("answer %d, Retry-After %q, %s", resp.StatusCode, resp.Header.Get("Retry-After"), resp.Header.Get("Content-Type"))
	}
	c := &httpapi.Client{Service: "test", BaseURL: srv.URL, Rules: rules}
	_, err = c.DoJSON(t.Context(), httpapi.Request{Method: http.MethodGet, Path: "/"}, nil)
	if !errors.Is(err, ErrLimited) {
		t.Fatalf("client error %v, want ErrLimited", err)
	}
	d, ok := After(err)
	if !ok || d != 42*time.Second {
		t.Errorf("After = %v, %v; want 42s", d, ok)
	}
	e, _ := errors.AsType[*httpapi.Error](err)
	var secs int
	got := []any{e.Code, e.MessageJA, e.MessageEN, e.Field("retry_after", &secs), secs}
	want := []any{Code, "試行の回数が多すぎるため、受け付けを一時停止しています。42秒後にもう一度お試しください。",
		"Too many tries, so tries are paused. Try again in 42 seconds.", true, 42}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problem (-want +got):\n%s", diff)
	}
}

func TestSeconds(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want int
	}{{0, 1}, {time.Millisecond, 1}, {time.Second, 1}, {time.Second + 1, 2}, {59500 * time.Millisecond, 60}} {
		if got := Seconds(tt.d); got != tt.want {
			t.Errorf("Seconds(%v) = %d, want %d", tt.d, got, tt.want)
		}
	}
}

func TestSource(t *testing.T) {
	for addr, want := range map[string]string{"192.0.2.1:5555": "192.0.2.1", "[2001:db8::1]:443": "2001:db8::1", "inproc": "inproc"} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = addr
		if got := Source(r); got != want {
			t.Errorf("Source(%q) = %q, want %q", addr, got, want)
		}
	}
}

// BenchmarkLimiter is the hot path: Wait and Charge of keys already kept,
// from every core (the platform checks a few buckets per answer).
//
//	go test -run '^$' -bench . ./internal/ratelimit/
func BenchmarkLimiter(b *testing.B) {
	l := New(Limit{Burst: 1 << 30, Every: time.Nanosecond}, Options{})
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = "card:" + strconv.Itoa(i) + "\x00terminal-" + strconv.Itoa(i%7)
		l.Charge(keys[i], 1)
	}
	b.Run("Allow", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				l.Allow(keys[i&1023], 1)
				i++
			}
		})
	})
	b.Run("LoginCheckDone", func(b *testing.B) {
		g := NewLogin(LoginLimits{Source: Limit{Burst: 1 << 30, Every: time.Nanosecond},
			Pair: Limit{Burst: 1 << 30, Every: time.Nanosecond}, Account: Limit{Burst: 1 << 30, Every: time.Nanosecond}}, Options{})
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				k := keys[i&1023]
				g.Check(k, "terminal-1")
				g.Done(k, "terminal-1", false)
				i++
			}
		})
	})
}

// TestClockGoesBack: a key charged while the clock read a later time is
// not refused for the gap when the clock goes back (a test world's clock,
// or the wall clock stepped back).
func TestClockGoesBack(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	l := New(Limit{Burst: 2, Every: time.Minute}, Options{Now: func() time.Time { return now }})
	l.Charge("k", 2)
	now = now.Add(-36 * 24 * time.Hour)
	if w := l.Wait("k"); w > time.Minute {
		t.Errorf("after the clock went back 36 days: wait %v, want at most a minute", w)
	}
	if w, ok := l.Allow("k", 1); !ok && w > time.Minute {
		t.Errorf("after the clock went back 36 days: refused for %v", w)
	}
}
