package catv_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/community/catv"
	"github.com/mynaplat/mynaplat/community/tvlogin/tvlogintest"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

func TestRules(t *testing.T) {
	if err := catv.Rules.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestAPI: the TV portal's API answers the person at their TV their
// messages (unread first) and opens one, marking it read once; it
// refuses a login that is not a TV's or not the platform's, a person who
// is not a subscriber at that TV, and another person's message, each
// refusal with its audit row only. A power-on with a login is kept as a
// sign of life.
func TestAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
		m := tvlogintest.New(t, now)
		clk := &clock{now}
		svc, err := catv.NewService(ctx, db, clk.now, nil)
		if err != nil {
			t.Fatal(err)
		}
		op := svc.Operator("suko")
		for _, s := range []catv.Subscriber{
			{PlatformID: "hanako", Terminal: "tv-1", Number: "S-1", Area: "north"},
			{PlatformID: "kenta", Terminal: "tv-1", Number: "S-1", Area: "north"},
		} {
			if err := op.Subscribe(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		all, err := op.Send(ctx, msg(catv.ToAll, "", "", "全員"))
		if err != nil {
			t.Fatal(err)
		}
		own, err := op.Send(ctx, msg(catv.ToPerson, "", "hanako", "花子さんへ"))
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		svc.Routes(mux, catv.APIConfig{Keys: m.JWKS, Issuer: tvlogintest.Issuer})
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		c := &catv.Client{BaseURL: srv.URL}

		hanako := m.Mint("hanako", "tv-1", nil)
		if err := c.PowerOn(ctx, hanako); err != nil {
			t.Fatalf("power-on: %v", err)
		}
		if ons, err := op.PowerOns(ctx, "hanako"); err != nil || len(ons) != 1 {
			t.Errorf("hanako's power-ons %v %v, want one", ons, err)
		}
		got, err := c.Inbox(ctx, hanako)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].ID != own || got[1].ID != all || got[0].Read {
			t.Fatalf("hanako's inbox %+v, want her own then the one to all, unread", got)
		}
		for range 2 {
			if r, err := c.Read(ctx, hanako, own); err != nil || r.TitleJA != "花子さんへ" || !r.Read {
				t.Fatalf("read: %+v %v", r, err)
			}
		}
		if got, err = c.Inbox(ctx, hanako); err != nil || got[0].ID != all || !got[1].Read {
			t.Errorf("after reading, the inbox %+v %v, want the unread first", got, err)
		}

		for _, tc := range []struct {
			name   string
			call   func() error
			reason catv.Reason
			login  bool
		}{
			{"no login", func() error { _, err := c.Inbox(ctx, ""); return err }, "", true},
			{"a kiosk's login", func() error {
				_, err := c.Inbox(ctx, m.Mint("hanako", "tv-1", func(c *platform.Claims) { c.TerminalKind = platform.Kiosk }))
				return err
			}, "", true},
			{"a login for a purpose", func() error {
				_, err := c.Inbox(ctx, m.Mint("hanako", "tv-1", func(c *platform.Claims) { c.Purpose = "staff" }))
				return err
			}, "", true},
			{"another issuer", func() error {
				_, err := c.Inbox(ctx, m.Mint("hanako", "tv-1", func(c *platform.Claims) { c.Issuer = "https://evil.test" }))
				return err
			}, "", true},
			{"expired", func() error {
				_, err := c.Inbox(ctx, m.Mint("hanako", "tv-1", func(c *platform.Claims) { c.Expiry = now.Add(-time.Minute).Unix() }))
				return err
			}, "", true},
			{"another TV", func() error { _, err := c.Inbox(ctx, m.Mint("hanako", "tv-9", nil)); return err }, catv.ReasonNotSubscriber, false},
			{"not a subscriber here", func() error { _, err := c.Inbox(ctx, m.Mint("kiyoshi", "tv-1", nil)); return err }, catv.ReasonNotSubscriber, false},
			{"another person's message", func() error { _, err := c.Read(ctx, m.Mint("kenta", "tv-1", nil), own); return err }, catv.ReasonNoMessage, false},
			{"no such message", func() error { _, err := c.Read(ctx, hanako, 99); return err }, catv.ReasonNoMessage, false},
			{"power-on at another box", func() error { return c.PowerOn(ctx, m.Mint("kiyoshi", "tv-1", nil)) }, catv.ReasonNotSubscriber, false},
			{"power-on without a login", func() error { return c.PowerOn(ctx, "") }, "", true},
		} {
			err := tc.call()
			if tc.login {
				if !errors.Is(err, catv.ErrAssertion) {
					t.Errorf("%s: %v, want ErrAssertion", tc.name, err)
				}
				continue
			}
			if catv.ReasonOf(err) != tc.reason {
				t.Errorf("%s: %v, want %s", tc.name, err, tc.reason)
			}
		}
		// Kenta's refused read marked nothing: the message is unread for
		// him only as long as it is not his; his inbox is unchanged.
		if got, err := c.Inbox(ctx, m.Mint("kenta", "tv-1", nil)); err != nil || len(got) != 1 || got[0].Read {
			t.Errorf("kenta's inbox %+v %v, want the one to all, unread", got, err)
		}
		es, err := op.Audit(ctx, "hanako")
		if err != nil {
			t.Fatal(err)
		}
		var rows []string
		for _, e := range es {
			rows = append(rows, e.Terminal+" "+e.Action+" "+e.Result)
		}
		if diff := cmp.Diff([]string{"tv-1 inbox ok", "tv-1 read ok", "tv-1 read ok", "tv-1 inbox ok", "tv-1 read no_message"}, rows); diff != "" {
			t.Errorf("hanako's audit (-want +got):\n%s", diff)
		}
		// The refusals at a box of no operator are audited under none.
		es, err = svc.Operator("").Audit(ctx, "hanako")
		if err != nil || len(es) != 1 || es[0].Terminal != "tv-9" || es[0].Result != string(catv.ReasonNotSubscriber) {
			t.Errorf("the audit of no operator %+v %v, want the refusal at tv-9", es, err)
		}
	})
}
