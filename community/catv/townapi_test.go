package catv_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/community/catv"
	"github.com/mynaplat/mynaplat/internal/callerkey"
	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// TestTownAPI: a town system with its caller key posts a message to one
// person, which reaches the person's operator in that town once per
// reference; no key, no reference and a person who subscribes nowhere in
// the town are refused, the refusals with their audit rows only.
func TestTownAPI(t *testing.T) {
	if err := catv.TownRules.Check(); err != nil {
		t.Fatal(err)
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := &clock{time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
		svc, err := catv.NewService(ctx, db, clk.now, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, op := range []struct{ id, town, pid string }{{"suko", "須坂市", "hanako"}, {"tonami", "南砺市", "kiyoshi"}} {
			o := svc.Operator(op.id)
			if err := o.SetProfile(ctx, catv.Profile{Name: op.id, Town: op.town}); err != nil {
				t.Fatal(err)
			}
			if err := o.Subscribe(ctx, catv.Subscriber{PlatformID: op.pid, Terminal: "tv-" + op.id, Number: "1", Area: "a"}); err != nil {
				t.Fatal(err)
			}
		}
		key := callerkey.New()
		mux := http.NewServeMux()
		svc.TownRoutes(mux, callerkey.Keys{}.Add("town", key))
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		c := &catv.TownClient{BaseURL: srv.URL, Key: key}
		m := catv.TownMessage{Town: "須坂市", PlatformID: "hanako", TitleJA: "明日のご予約", TitleEN: "Your booking tomorrow",
			BodyJA: "体育館", BodyEN: "Gym", Ref: "booking:1:reminder"}
		sent, err := c.Send(ctx, m)
		if err != nil || len(sent) != 1 || sent[0].Operator != "suko" {
			t.Fatalf("send: %+v, %v", sent, err)
		}
		again, err := c.Send(ctx, m)
		if err != nil || len(again) != 1 || again[0] != sent[0] {
			t.Fatalf("send again: %+v, %v; want %+v", again, err, sent)
		}
		inbox, err := svc.Operator("suko").Inbox(ctx, "hanako", "tv-suko")
		if err != nil || len(inbox) != 1 || inbox[0].Sender != "須坂市" || inbox[0].Scope != catv.ToPerson {
			t.Fatalf("inbox: %+v, %v", inbox, err)
		}

		for _, tc := range []struct {
			name string
			c    *catv.TownClient
			m    func(m catv.TownMessage) catv.TownMessage
			want catv.Reason
		}{
			{"not a subscriber in that town", c, func(m catv.TownMessage) catv.TownMessage { m.PlatformID = "kiyoshi"; return m }, catv.ReasonNoRecipient},
			{"no reference", c, func(m catv.TownMessage) catv.TownMessage { m.Ref = ""; return m }, catv.ReasonBadMessage},
			{"no English", c, func(m catv.TownMessage) catv.TownMessage { m.Ref, m.BodyEN = "x", ""; return m }, catv.ReasonBadMessage},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if _, err := tc.c.Send(ctx, tc.m(m)); catv.ReasonOf(err) != tc.want {
					t.Errorf("got %v, want %s", err, tc.want)
				}
			})
		}
		bad := &catv.TownClient{BaseURL: srv.URL, Key: callerkey.New()}
		if _, err := bad.Send(ctx, m); !errors.Is(err, callerkey.ErrUnauthorized) {
			if e, ok := errors.AsType[*httpapi.Error](err); !ok || e.Status != http.StatusUnauthorized {
				t.Errorf("an unknown key: %v, want 401", err)
			}
		}
		audit, err := svc.Operator("").Audit(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		var refusals int
		for _, a := range audit {
			if a.Result != "ok" {
				refusals++
			}
		}
		if refusals != 2 {
			t.Errorf("%d refusals audited under no operator, want 2 (the third is the operator's): %+v", refusals, audit)
		}
		if inbox, _ := svc.Operator("tonami").Inbox(ctx, "kiyoshi", "tv-tonami"); len(inbox) != 0 {
			t.Errorf("南砺市's subscriber got %+v", inbox)
		}
	})
}
