package jpki

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

// TestAuditNamesTheTrace: an operator's read of a holder's attributes is
// audited under the trace of the operator's request.
func TestAuditNamesTheTrace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		_, is := e.newCard(t, adult)
		ctx := trace.Start(context.Background(), trace.SpanContext{})
		if _, err := (&Client{BaseURL: e.srv.URL, Token: e.token}).Attributes(ctx, Auth, is.Auth.Serial); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM jpki_audit WHERE action = 'attributes' AND trace_id = $1`, trace.ID(ctx)).Scan(&n); err != nil || n != 1 {
			t.Errorf("%d audit rows with the trace (%v), want 1", n, err)
		}
	})
}
