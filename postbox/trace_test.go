package postbox_test

import (
	"context"
	"testing"

	"github.com/mynaplat/mynaplat/internal/pbworld"
	"github.com/mynaplat/mynaplat/internal/trace"
	"github.com/mynaplat/mynaplat/postbox"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/verify"
)

// TestAuditNamesTheTrace: a party's delivery over the API is audited under
// the trace of the party's request.
func TestAuditNamesTheTrace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := pbworld.New(t, db)
		sc := w.Demo()
		kojo := w.Document(sc.Box, sc.KojoID)
		ctx := trace.Start(context.Background(), trace.SpanContext{})
		if _, err := w.Client("nissay").Deliver(ctx, postbox.Delivery{DeliveryID: "d-trace", CustomerRef: pbworld.IchiroRefs["nissay"],
			Type: kojo.Type, Title: kojo.Title, Format: verify.FormatCMS, Data: kojo.Data, Power: kojo.Power}); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM postbox_audit WHERE action = 'deliver' AND trace_id = $1`, trace.ID(ctx)).Scan(&n); err != nil || n != 1 {
			t.Errorf("%d audit rows with the trace (%v), want 1", n, err)
		}
	})
}
