package evac_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/community/evac"
	"github.com/mynaplat/mynaplat/community/tvlogin/tvlogintest"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

func TestRules(t *testing.T) {
	if err := evac.Rules.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestAPI: through the typed client, with the person's card login at the
// TV: an order issued while the TV's stream is open arrives on it (and
// another area's does not), the notice and the acknowledgement; a stream
// reopened with the last event's id is sent what it missed; no login, a
// kiosk's login and a stranger are refused.
func TestAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		s := newSetup(t, db)
		hub := s.svc.NewHub(20 * time.Millisecond)
		go hub.Run(ctx)
		m := tvlogintest.New(t, time.Now())
		mux := http.NewServeMux()
		s.svc.Routes(mux, m.Config(), hub)
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		c := &evac.Client{BaseURL: srv.URL}
		u := m.Mint("umi", "tv-minami-1", nil)

		n, err := c.Notice(ctx, u)
		if evac.ReasonOf(err) != evac.ReasonNoOrder {
			t.Fatalf("notice before: %+v, %v", n, err)
		}
		got := make(chan evac.Event, 8)
		sctx, stop := context.WithCancel(ctx)
		done := make(chan int64)
		go func() {
			last, _ := c.Stream(sctx, u, 0, func(e evac.Event) error { got <- e; return nil })
			done <- last
		}()
		for hub.Streams() == 0 {
			time.Sleep(5 * time.Millisecond)
		}
		if _, err := s.svc.Issue(ctx, officer, evac.OrderInput{Areas: []string{"okukawachi"}, Level: 3}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		o, err := s.svc.Issue(ctx, officer, evac.OrderInput{Areas: []string{"hiwasa"}, Level: 4})
		if err != nil {
			t.Fatal(err)
		}
		select {
		case e := <-got:
			if e.Kind != evac.EventOrder || e.Order != o.ID || e.Area != "hiwasa" {
				t.Fatalf("pushed: %+v", e)
			}
			t.Logf("pushed after %v", time.Since(start))
		case <-time.After(5 * time.Second):
			t.Fatal("the order was not pushed")
		}
		na, err := c.Notice(ctx, u)
		if err != nil || na.Order.ID != o.ID || len(na.Members) != 2 || na.Shelter.ID != "school" || na.Seq < 2 {
			t.Fatalf("notice: %+v, %v", na, err)
		}
		if err := c.Ack(ctx, u, o.ID); err != nil {
			t.Fatal(err)
		}
		stop()
		last := <-done
		// While the TV is away: the order is lifted and another issued.
		if _, err := s.svc.Lift(ctx, officer, o.ID); err != nil {
			t.Fatal(err)
		}
		o2, err := s.svc.Issue(ctx, officer, evac.OrderInput{Areas: []string{"hiwasa", "okukawachi"}, Level: 5})
		if err != nil {
			t.Fatal(err)
		}
		sctx, stop = context.WithCancel(ctx)
		go func() {
			last, _ := c.Stream(sctx, u, last, func(e evac.Event) error { got <- e; return nil })
			done <- last
		}()
		for _, want := range []evac.Event{{Kind: evac.EventLift, Order: o.ID}, {Kind: evac.EventOrder, Order: o2.ID}} {
			select {
			case e := <-got:
				if e.Kind != want.Kind || e.Order != want.Order {
					t.Errorf("replayed %+v, want %+v", e, want)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("%+v was not replayed", want)
			}
		}
		stop()
		<-done
		if err := c.Ack(ctx, u, o.ID); evac.ReasonOf(err) != evac.ReasonOrderClosed {
			t.Errorf("ack of the lifted order: %v", err)
		}
		for _, tc := range []struct {
			name, assertion string
			reason          evac.Reason
		}{
			{"no login", "", ""},
			{"a kiosk's login", m.Mint("umi", "k-1", func(c *platform.Claims) { c.TerminalKind = platform.Kiosk }), ""},
			{"not of the town", m.Mint("nobody", "tv-minami-1", nil), evac.ReasonNotResident},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := c.Notice(ctx, tc.assertion)
				_, serr := c.Stream(ctx, tc.assertion, 0, func(evac.Event) error { return nil })
				for _, err := range []error{err, serr} {
					if tc.reason == "" && !errors.Is(err, evac.ErrAssertion) {
						t.Errorf("got %v, want ErrAssertion", err)
					}
					if tc.reason != "" && evac.ReasonOf(err) != tc.reason {
						t.Errorf("got %v, want %s", err, tc.reason)
					}
				}
			})
		}
	})
}

// TestTouch: a card login at a shelter's terminal checks the person in,
// the next one out; a TV's login is not believed there, and a terminal
// at no shelter is refused.
func TestTouch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newSetup(t, db)
		if err := s.svc.SetShelterTerminal(ctx, "shelter-school-1", "school"); err != nil {
			t.Fatal(err)
		}
		m := tvlogintest.New(t, time.Now())
		mux := http.NewServeMux()
		s.svc.Routes(mux, m.Config(), s.svc.NewHub(0))
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		c := &evac.Client{BaseURL: srv.URL}
		atShelter := func(pid, terminal string) string {
			return m.Mint(pid, terminal, func(c *platform.Claims) { c.TerminalKind = platform.Shelter })
		}
		in, err := c.Touch(ctx, atShelter("umi", "shelter-school-1"))
		if err != nil || !in.ByCard || in.Shelter != "school" || !in.Out.IsZero() {
			t.Fatalf("in: %+v, %v", in, err)
		}
		out, err := c.Touch(ctx, atShelter("umi", "shelter-school-1"))
		if err != nil || out.ID != in.ID || out.Out.IsZero() {
			t.Fatalf("out: %+v, %v", out, err)
		}
		if _, err := c.Touch(ctx, m.Mint("umi", "shelter-school-1", nil)); !errors.Is(err, evac.ErrAssertion) {
			t.Errorf("a TV's login at the shelter: %v", err)
		}
		if _, err := c.Touch(ctx, atShelter("umi", "kiosk-9")); evac.ReasonOf(err) != evac.ReasonShelterClosed {
			t.Errorf("a terminal at no shelter: %v", err)
		}
		if _, err := c.Touch(ctx, atShelter("nobody", "shelter-school-1")); evac.ReasonOf(err) != evac.ReasonNotResident {
			t.Errorf("a stranger: %v", err)
		}
	})
}
