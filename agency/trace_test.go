package agency_test

import (
	"context"
	"testing"

	"github.com/mynaplat/mynaplat/internal/pbworld"
	"github.com/mynaplat/mynaplat/internal/trace"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// TestAuditNamesTheTrace: a member of staff's view of the submissions is
// audited under the trace of the request.
func TestAuditNamesTheTrace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := pbworld.New(t, db)
		ctx := trace.Start(context.Background(), trace.SpanContext{})
		if _, err := w.Agency.Submissions(ctx, pbworld.TaxSakata.ID, "staff"); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM agency_audit WHERE action = 'list' AND trace_id = $1`, trace.ID(ctx)).Scan(&n); err != nil || n != 1 {
			t.Errorf("%d audit rows with the trace (%v), want 1", n, err)
		}
	})
}
