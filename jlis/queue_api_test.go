package jlis

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/internal/callerkey"
	"github.com/mynaplat/mynaplat/municipal"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// TestQueueAPI: the 本籍地 queue's API refuses a call without a key or with
// a key of no caller; a known caller sees and decides the same
// registrations as through Queue(), with the same errors, and every call
// leaves a row naming the caller.
func TestQueueAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newRegWorld(t, db, yamagata("酒田　一朗"))
		d := w.doc(w.issued.Auth.Serial)
		cert, sig := w.sign(t, d)
		r, err := w.s.Register(ctx, d, cert, sig)
		if err != nil || r.Status != RegPending {
			t.Fatalf("register: %+v %v", r, err)
		}
		key := callerkey.New()
		mux := http.NewServeMux()
		w.s.QueueRoutes(mux, callerkey.Keys{}.Add("municipal", key))
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)

		for _, tc := range []struct{ name, key string }{{"no key", ""}, {"wrong key", callerkey.New()}} {
			c := NewQueueClient(srv.URL, tc.key, nil)
			if _, err := c.Pending(ctx, "062014"); !errors.Is(err, callerkey.CodeUnauthorized) {
				t.Errorf("%s: pending: %v, want %s", tc.name, err, callerkey.CodeUnauthorized)
			}
			if err := c.Decide(ctx, "062014", r.ID, "clerk", true); !errors.Is(err, callerkey.CodeUnauthorized) {
				t.Errorf("%s: decide: %v, want %s", tc.name, err, callerkey.CodeUnauthorized)
			}
		}

		c := NewQueueClient(srv.URL, key, nil)
		got, err := c.Pending(ctx, "062014")
		if err != nil {
			t.Fatal(err)
		}
		want, err := w.s.Queue().Pending(ctx, "062014")
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, got); d != "" || len(got) != 1 {
			t.Errorf("pending over HTTP (-in process +HTTP):\n%s", d)
		}
		if err := c.Decide(ctx, "062014", r.ID, "", true); !errors.Is(err, municipal.ErrInvalid) {
			t.Errorf("no clerk: %v, want municipal.ErrInvalid", err)
		}
		if err := c.Decide(ctx, "062049", r.ID, "窓口 花子", true); !errors.Is(err, municipal.ErrNotFound) {
			t.Errorf("another municipality's: %v, want municipal.ErrNotFound", err)
		}
		if err := c.Decide(ctx, "062014", r.ID, "窓口 花子", true); err != nil {
			t.Fatal(err)
		}
		if left, err := c.Pending(ctx, "062014"); err != nil || len(left) != 0 {
			t.Errorf("after the decision: %+v, %v", left, err)
		}

		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM kiosk_calls WHERE caller = 'municipal'`).Scan(&n); err != nil || n != 5 {
			t.Errorf("audit rows naming the caller = %d, %v; want 5", n, err)
		}
	})
}
