package town_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/community/town"
	"github.com/mynaplat/mynaplat/community/tvlogin/tvlogintest"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

func TestRules(t *testing.T) {
	if err := town.Rules.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestAPI: through the typed client, with the person's card login at the
// TV: the checkups, the facilities, a booking, the list and the cancel;
// no login, a login elsewhere than at a TV, another person's booking and
// another town are refused, the refusals with their audit rows only.
func TestAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newSetup(t, db)
		if err := s.suzaka.Record(ctx, "hanako", town.Year{Year: 2025, TakenAt: time.Date(2025, 6, 1, 0, 0, 0, 0, town.JST),
			Results: []town.Result{{Item: "weight", Value: 52.5, Unit: "kg", Low: 0, High: 999}}}); err != nil {
			t.Fatal(err)
		}
		m := tvlogintest.New(t, time.Now())
		mux := http.NewServeMux()
		s.svc.Routes(mux, m.Config())
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		c := &town.Client{BaseURL: srv.URL}
		h, k := m.Mint("hanako", "tv-suzaka-1", nil), m.Mint("kenta", "tv-suzaka-1", nil)

		ch, err := c.Checkups(ctx, h)
		if err != nil || len(ch.Years) != 1 || ch.Years[0].Results[0].Value != 52.5 {
			t.Fatalf("checkups: %+v, %v", ch, err)
		}
		f, err := c.Facilities(ctx, h)
		if err != nil || f.TownJA != "須坂市" || len(f.Facilities) != 1 {
			t.Fatalf("facilities: %+v, %v", f, err)
		}
		b, err := c.Book(ctx, h, f.Town, s.one)
		if err != nil || b.Seat != 1 {
			t.Fatalf("book: %+v, %v", b, err)
		}
		if bs, err := c.Bookings(ctx, h); err != nil || len(bs) != 1 || bs[0].ID != b.ID {
			t.Fatalf("bookings: %+v, %v", bs, err)
		}
		for _, tc := range []struct {
			name  string
			call  func() error
			want  town.Reason
			login bool
		}{
			{"no login", func() error { _, err := c.Checkups(ctx, ""); return err }, "", true},
			{"a kiosk's login", func() error {
				_, err := c.Checkups(ctx, m.Mint("hanako", "k-1", func(c *platform.Claims) { c.TerminalKind = platform.Kiosk }))
				return err
			}, "", true},
			{"a login for a purpose", func() error {
				_, err := c.Bookings(ctx, m.Mint("hanako", "tv-suzaka-1", func(c *platform.Claims) { c.Purpose = "staff" }))
				return err
			}, "", true},
			{"already booked", func() error { _, err := c.Book(ctx, h, "suzaka", s.one); return err }, town.ReasonAlreadyBooked, false},
			{"full", func() error { _, err := c.Book(ctx, k, "suzaka", s.one); return err }, town.ReasonSlotFull, false},
			{"another person's booking", func() error { _, err := c.Cancel(ctx, k, "suzaka", b.ID); return err }, town.ReasonNoBooking, false},
			{"another town's slot", func() error { _, err := c.Book(ctx, h, "nanto", s.nt); return err }, town.ReasonNotResident, false},
			{"not a resident", func() error { _, err := c.Facilities(ctx, m.Mint("nobody", "tv-suzaka-1", nil)); return err }, town.ReasonNotResident, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := tc.call()
				if tc.login {
					if !errors.Is(err, town.ErrAssertion) {
						t.Errorf("got %v, want ErrAssertion", err)
					}
					return
				}
				if town.ReasonOf(err) != tc.want {
					t.Errorf("got %v, want %s", err, tc.want)
				}
			})
		}
		if c, err := c.Cancel(ctx, h, "suzaka", b.ID); err != nil || !c.Cancelled {
			t.Fatalf("cancel: %+v, %v", c, err)
		}
		want := []string{"checkups 0 ok tv-suzaka-1", "facilities 0 ok tv-suzaka-1", "book 1 ok tv-suzaka-1", "bookings 0 ok tv-suzaka-1",
			"book 1 already_booked tv-suzaka-1", "cancel 1 ok tv-suzaka-1"}
		if diff := cmp.Diff(want, actions(t, s.suzaka, "hanako")); diff != "" {
			t.Errorf("hanako's audit (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"book 1 slot_full tv-suzaka-1", "cancel 1 no_booking tv-suzaka-1"}, actions(t, s.suzaka, "kenta")); diff != "" {
			t.Errorf("kenta's audit (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{fmt.Sprintf("book %d not_resident tv-suzaka-1", s.nt)}, actions(t, s.nanto, "hanako")); diff != "" {
			t.Errorf("hanako's refusal in 南砺市 (-want +got):\n%s", diff)
		}
	})
}
