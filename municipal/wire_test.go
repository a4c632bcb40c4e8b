package municipal

import (
	"context"
	"net/http"
	"testing"

	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/internal/trace"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

func TestProblemRules(t *testing.T) {
	if err := Rules.Check(); err != nil {
		t.Error(err)
	}
}

// TestAuditNamesTheTrace: the issue audit row carries the trace of the
// relay's request.
func TestAuditNamesTheTrace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		_, w, srv, _ := muniServer(t, db)
		ichiro := muniPerson(t, w, "酒田　一郎")
		ctx := trace.Start(context.Background(), trace.SpanContext{})
		c := &httpapi.Client{Service: "town", BaseURL: srv.Base(), Auth: httpapi.Bearer(w.Keys["062049"].Relay), Rules: Rules}
		if _, err := c.Do(ctx, httpapi.Request{Method: http.MethodPost, Path: "/municipal/062049/v1/certificates",
			JSON: Request{PersonID: ichiro.PersonID, Type: Juminhyo, Copies: 1}}); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM muni_audit WHERE action = 'issue' AND trace_id = $1`, trace.ID(ctx)).Scan(&n); err != nil || n != 1 {
			t.Errorf("%d audit rows with the trace (%v), want 1", n, err)
		}
	})
}
