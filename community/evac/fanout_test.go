package evac_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/community/evac"
	"github.com/mynaplat/mynaplat/community/tvlogin/tvlogintest"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// TestFanOut measures the push (docs/community-tv.md §7, §11): n TVs'
// streams open in the order's area (MYNAPLAT_EVAC_STREAMS, 300 unless
// set), one order, the time from the order to the last stream's receipt
// and none missed; and the memory the streams hold, per stream (this
// process holds both ends, so it is an upper bound for the server's). On
// SQLite; the hub polls every 250 ms as served.
func TestFanOut(t *testing.T) {
	n := 300
	if v, err := strconv.Atoi(os.Getenv("MYNAPLAT_EVAC_STREAMS")); err == nil && v > 0 {
		n = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := newSetup(t, storetest.SQLite(t))
	if err := s.svc.AddArea(ctx, evac.Area{ID: "bench", NameJA: "負荷試験", NameEN: "Bench"}); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := s.svc.AddHousehold(ctx, evac.Household{ID: fmt.Sprintf("b-%05d", i), Area: "bench",
			Members: []evac.Member{{PlatformID: fmt.Sprintf("p-%05d", i), Name: "試験"}}}); err != nil {
			t.Fatal(err)
		}
	}
	hub := s.svc.NewHub(0)
	go hub.Run(ctx)
	m := tvlogintest.New(t, time.Now())
	mux := http.NewServeMux()
	s.svc.Routes(mux, m.Config(), hub)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	tr := &http.Transport{DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext, MaxIdleConnsPerHost: n}
	c := &evac.Client{BaseURL: srv.URL, StreamHTTP: &http.Client{Transport: tr}}
	assertions := make([]string, n)
	for i := range n {
		assertions[i] = m.Mint(fmt.Sprintf("p-%05d", i), "tv-bench", nil)
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var received atomic.Int64
	var last atomic.Int64
	sctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c.Stream(sctx, assertions[i], 0, func(e evac.Event) error {
				if e.Kind == evac.EventOrder {
					received.Add(1)
					now := time.Now().UnixNano()
					for {
						l := last.Load()
						if now <= l || last.CompareAndSwap(l, now) {
							break
						}
					}
				}
				return nil
			})
		})
	}
	for deadline := time.Now().Add(2 * time.Minute); hub.Streams() < n; {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d streams open", hub.Streams(), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	runtime.GC()
	var open runtime.MemStats
	runtime.ReadMemStats(&open)
	issued := time.Now()
	if _, err := s.svc.Issue(ctx, officer, evac.OrderInput{Areas: []string{"bench"}, Level: 4, Drill: true}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); received.Load() < int64(n) && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	took := time.Duration(last.Load() - issued.UnixNano())
	stop()
	wg.Wait()
	if got := received.Load(); got != int64(n) {
		t.Fatalf("%d of %d TVs received the order", got, n)
	}
	perStream := float64(open.HeapInuse+open.StackInuse-before.HeapInuse-before.StackInuse) / float64(n)
	t.Logf("%d streams: the order reached the last TV %v after it was issued, 0 missed; %.1f KB per stream (both ends, heap and stacks)",
		n, took.Round(time.Millisecond), perStream/1024)
	if took > 5*time.Second {
		t.Errorf("the last TV received the order %v after it was issued, want ≤ 5 s", took)
	}
}
