package jlis

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

type testClock struct{ t atomic.Int64 }

func (c *testClock) now() time.Time          { return time.Unix(0, c.t.Load()) }
func (c *testClock) advance(d time.Duration) { c.t.Add(int64(d)) }

func openKiosk(t *testing.T, db *store.DB) (*Service, *testClock) {
	t.Helper()
	c := &testClock{}
	c.t.Store(time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC).UnixNano())
	s, err := Open(context.Background(), Config{DB: db, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

func TestQueriesKeepPlaceholderOrder(t *testing.T) {
	for _, q := range allQueries {
		if err := store.CheckPlaceholders(q); err != nil {
			t.Errorf("%v in %s", err, q)
		}
	}
}

func TestJobLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, _ := openKiosk(t, db)
		j, err := s.Request(ctx, "kiosk-1", "req-1", "pid-a", "062049", "juminhyo", Options{Household: true})
		if err != nil {
			t.Fatal(err)
		}
		again, err := s.Request(ctx, "kiosk-1", "req-1", "pid-a", "062049", "juminhyo", Options{Household: true})
		if err != nil || again.ID != j.ID || !again.Replayed {
			t.Fatalf("request again: %+v %v", again, err)
		}
		if _, err := s.Request(ctx, "kiosk-1", "req-1", "pid-b", "062049", "juminhyo", Options{}); !errors.Is(err, ErrInvalid) {
			t.Errorf("request key of another person: %v", err)
		}
		if err := s.Rendered(ctx, j.ID, "R8-000001", 200, []byte("%PDF a")); err != nil {
			t.Fatal(err)
		}
		if err := s.Rendered(ctx, j.ID, "R8-000002", 200, []byte("%PDF other")); !errors.Is(err, ErrJobGone) {
			t.Errorf("second render: %v", err)
		}
		for _, tc := range []struct{ kiosk, pid string }{{"kiosk-2", "pid-a"}, {"kiosk-1", "pid-b"}} {
			if _, err := s.Print(ctx, tc.kiosk, tc.pid, j.ID); !errors.Is(err, ErrNotYours) {
				t.Errorf("print at %s for %s: %v", tc.kiosk, tc.pid, err)
			}
		}
		p, err := s.Print(ctx, "kiosk-1", "pid-a", j.ID)
		if err != nil || string(p.PDF) != "%PDF a" || p.State != Printed || p.Fee != 200 || p.Replayed {
			t.Fatalf("print: %+v %v", p, err)
		}
		// A retried print: neither printed nor charged again.
		p, err = s.Print(ctx, "kiosk-1", "pid-a", j.ID)
		if err != nil || !p.Replayed || p.PDF != nil {
			t.Fatalf("print again: %+v %v", p, err)
		}
		if err := s.Cancel(ctx, j.ID, "walked away"); !errors.Is(err, ErrJobGone) {
			t.Errorf("cancel a printed job: %v", err)
		}
	})
}

// TestTimedOutJobIsCancelledWhole is the Yokohama incident: a job whose
// wait timed out is cancelled whole — its render is dropped and it never
// prints, for its holder or for the next person.
func TestTimedOutJobIsCancelledWhole(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, clock := openKiosk(t, db)
		slow, _ := s.Request(ctx, "kiosk-1", "req-slow", "pid-a", "062049", "juminhyo", Options{})
		rendered, _ := s.Request(ctx, "kiosk-1", "req-rendered", "pid-a", "062049", "inkan", Options{})
		if err := s.Rendered(ctx, rendered.ID, "R8-1", 200, []byte("%PDF of a")); err != nil {
			t.Fatal(err)
		}
		clock.advance(JobTTL + time.Second)
		// The render arriving late is refused even before the sweep.
		if err := s.Rendered(ctx, slow.ID, "R8-2", 200, []byte("%PDF late")); !errors.Is(err, ErrJobGone) {
			t.Errorf("late render: %v", err)
		}
		if _, err := s.Print(ctx, "kiosk-1", "pid-a", rendered.ID); !errors.Is(err, ErrJobGone) {
			t.Errorf("print past the deadline: %v", err)
		}
		n, err := s.Expire(ctx)
		if err != nil || n != 2 {
			t.Fatalf("expire: %d %v", n, err)
		}
		// The next person at the same kiosk gets only their own job.
		next, _ := s.Request(ctx, "kiosk-1", "req-next", "pid-b", "062049", "juminhyo", Options{})
		if err := s.Rendered(ctx, next.ID, "R8-3", 200, []byte("%PDF of b")); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{slow.ID, rendered.ID} {
			if _, err := s.Print(ctx, "kiosk-1", "pid-b", id); err == nil {
				t.Errorf("the next person printed job %s", id)
			}
			j, _ := s.Job(ctx, id)
			if j.State != Cancelled || j.Reason != "timeout" {
				t.Errorf("job %s: %s %s", id, j.State, j.Reason)
			}
		}
		p, err := s.Print(ctx, "kiosk-1", "pid-b", next.ID)
		if err != nil || string(p.PDF) != "%PDF of b" {
			t.Fatalf("next print: %v", err)
		}
	})
}

// TestConcurrentJobsNeverCross: 200 people at 200 kiosks at once each get
// only their own document.
func TestConcurrentJobsNeverCross(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, _ := openKiosk(t, db)
		var wg sync.WaitGroup
		errs := make(chan error, 200)
		for i := range 200 {
			wg.Go(func() {
				kiosk, pid := fmt.Sprintf("kiosk-%d", i), fmt.Sprintf("pid-%d", i)
				j, err := s.Request(ctx, kiosk, "r", pid, "062049", "juminhyo", Options{})
				if err == nil {
					err = s.Rendered(ctx, j.ID, fmt.Sprint(i), 200, []byte("%PDF "+pid))
				}
				var p *Job
				if err == nil {
					p, err = s.Print(ctx, kiosk, pid, j.ID)
				}
				if err == nil && string(p.PDF) != "%PDF "+pid {
					err = fmt.Errorf("%s got %q", pid, p.PDF)
				}
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
	})
}
