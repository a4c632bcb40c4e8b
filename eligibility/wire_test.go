package eligibility

import (
	"context"
	"testing"

	"github.com/mynaplat/mynaplat/internal/trace"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

func TestProblemRules(t *testing.T) {
	if err := Rules.Check(); err != nil {
		t.Error(err)
	}
}

// TestAccessLogNamesTheTrace: a staff member's access is logged under the
// trace of the request.
func TestAccessLogNamesTheTrace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := open(t, db)
		ctx := trace.Start(context.Background(), trace.SpanContext{})
		if err := s.LogAccess(ctx, Staff{"06230012", "佐藤"}, "search", "test"); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM elig_access_log WHERE trace_id = $1`, trace.ID(ctx)).Scan(&n); err != nil || n != 1 {
			t.Errorf("%d rows with the trace (%v), want 1", n, err)
		}
	})
}
