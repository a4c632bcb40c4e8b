package town_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/community/catv"
	"github.com/mynaplat/mynaplat/internal/callerkey"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// TestRemindThroughOperator: the sweep posts to the operators' machine
// API under the town's caller key, and the person finds one reminder on
// their TV — also when an earlier post's answer was lost (the same
// reference posted before the sweep) and when two sweeps run at once.
func TestRemindThroughOperator(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newSetup(t, db)
		ops, err := catv.NewService(ctx, db, time.Now, nil)
		if err != nil {
			t.Fatal(err)
		}
		op := ops.Operator("suko")
		if err := op.SetProfile(ctx, catv.Profile{Name: "須高ケーブルテレビ", Town: "須坂市"}); err != nil {
			t.Fatal(err)
		}
		if err := op.Subscribe(ctx, catv.Subscriber{PlatformID: "hanako", Terminal: "tv-suzaka-1", Number: "1", Area: "北部"}); err != nil {
			t.Fatal(err)
		}
		key := callerkey.New()
		mux := http.NewServeMux()
		ops.TownRoutes(mux, callerkey.Keys{}.Add("town", key))
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		sender := &catv.TownClient{BaseURL: srv.URL, Key: key}

		b, err := s.suzaka.Book(ctx, hanako, s.three)
		if err != nil {
			t.Fatal(err)
		}
		// A post whose answer was lost: the operator has the message, the
		// booking no mark.
		if _, err := sender.Send(ctx, catv.TownMessage{Town: "須坂市", PlatformID: "hanako", TitleJA: "明日のご予約：須坂市 体育館",
			TitleEN: "Your booking tomorrow", BodyJA: "本文", BodyEN: "Text", Ref: fmt.Sprintf("town:suzaka:booking:%d:reminder", b.ID)}); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 2)
		for range 2 {
			go func() { _, err := s.svc.Remind(ctx, sender); done <- err }()
		}
		for range 2 {
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
		inbox, err := op.Inbox(ctx, "hanako", "tv-suzaka-1")
		if err != nil {
			t.Fatal(err)
		}
		if len(inbox) != 1 || inbox[0].Sender != "須坂市" || inbox[0].TitleJA != "明日のご予約：須坂市 体育館" {
			t.Fatalf("her inbox: %+v", inbox)
		}
		bs, err := s.svc.Bookings(ctx, hanako)
		if err != nil || len(bs) != 1 || bs[0].RemindedAt.IsZero() {
			t.Fatalf("the booking is not marked reminded: %+v, %v", bs, err)
		}
		var reminds int
		for _, a := range actions(t, s.suzaka, "hanako") {
			if a == fmt.Sprintf("remind %d ok tv-suzaka-1", b.ID) {
				reminds++
			}
		}
		if reminds != 1 {
			t.Errorf("%d remind audit rows, want 1", reminds)
		}
	})
}
