package business_test

import (
	"context"
	"testing"

	"github.com/mynaplat/mynaplat/internal/pbworld"
	"github.com/mynaplat/mynaplat/internal/trace"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// TestAuditNamesTheTrace: a view of a firm's customers is audited under
// the trace of the request.
func TestAuditNamesTheTrace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := pbworld.New(t, db)
		ctx := trace.Start(context.Background(), trace.SpanContext{})
		if _, err := w.Business.Customers(ctx, pbworld.Firms[0].ID, "staff"); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM business_audit WHERE action = 'list' AND trace_id = $1`, trace.ID(ctx)).Scan(&n); err != nil || n != 1 {
			t.Errorf("%d audit rows with the trace (%v), want 1", n, err)
		}
	})
}
