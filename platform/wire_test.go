package platform

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
	if err := callerRules.Check(); err != nil {
		t.Errorf("caller API: %v", err)
	}
}

// TestAuditNamesTheTrace: the audit rows of an authentication and of a
// read of the audit carry the trace of the terminal's request.
func TestAuditNamesTheTrace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		cd, _ := w.issue(t)
		ctx := trace.Start(context.Background(), trace.SpanContext{})
		ch, err := w.kiosk.Challenge(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ar, err := w.kiosk.Authenticate(ctx, answerChallenge(t, ch, cd))
		if err != nil {
			t.Fatal(err)
		}
		wantResult(t, ar, Passed, "", "")
		read := trace.Start(context.Background(), trace.SpanContext{})
		if _, err := FetchAudit(read, nil, w.platSrv.URL, ar.Assertion); err != nil {
			t.Fatal(err)
		}
		for action, ctx := range map[string]context.Context{"authenticate": ctx, "view-audit": read} {
			var n int
			if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM platform_audit WHERE action = $1 AND trace_id = $2`, action, trace.ID(ctx)).Scan(&n); err != nil || n != 1 {
				t.Errorf("%s: %d rows with the trace %s (%v), want 1", action, n, trace.ID(ctx), err)
			}
		}
	})
}
