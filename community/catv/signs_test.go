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
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// TestSigns: the health centre reads a person's power-ons in a time range
// under its caller key, each read audited naming the caller; without the
// key it is refused.
func TestSigns(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
		clk := &clock{now}
		svc, err := catv.NewService(ctx, db, clk.now, nil)
		if err != nil {
			t.Fatal(err)
		}
		op := svc.Operator("chukai")
		if err := op.Subscribe(ctx, catv.Subscriber{PlatformID: "tome", Terminal: "tv-nambu-1", Number: "C-1", Area: "法勝寺"}); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := op.PowerOn(ctx, "tome", "tv-nambu-1"); err != nil {
				t.Fatal(err)
			}
		}
		key := callerkey.New()
		mux := http.NewServeMux()
		svc.SignRoutes(mux, callerkey.Keys{}.Add("watch", key))
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)

		c := &catv.SignsClient{BaseURL: srv.URL, Key: key}
		got, err := c.Signs(ctx, "tome", now, now.Add(time.Hour))
		if err != nil || len(got) != 2 || !got[0].Before(got[1]) {
			t.Fatalf("signs %v %v, want two, oldest first", got, err)
		}
		if got, err := c.Signs(ctx, "tome", now.Add(time.Hour), now.Add(2*time.Hour)); err != nil || len(got) != 0 {
			t.Errorf("signs out of range %v %v", got, err)
		}
		if _, err := (&catv.SignsClient{BaseURL: srv.URL, Key: "wrong"}).Signs(ctx, "tome", now, now.Add(time.Hour)); !errors.Is(err, callerkey.ErrUnauthorized) {
			t.Errorf("without the key: %v", err)
		}
		audit, err := op.Audit(ctx, "tome")
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range audit {
			if e.Action == "signs" && e.Terminal == "caller:watch" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d audit rows of the caller's reads at the operator, want 1 (the empty answer under no operator): %+v", n, audit)
		}
	})
}
