package kiosk

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/mynaplat/mynaplat/internal/trace"
	"github.com/mynaplat/mynaplat/jlis"
	"github.com/mynaplat/mynaplat/municipal"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// TestOnePrintIsOneTrace: a kiosk print sent with a known traceparent is
// found under that trace ID in the log lines of the relay, the town and the
// seal, and in their records of it: the relay's job, the town's audit row
// of the issue and the seal register's entry.
func TestOnePrintIsOneTrace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
		const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
		w := newWorld(t, db)
		k := w.kiosk(t, "kiosk-trace")
		a := k.login(t, w.card(t, "酒田　一郎"))
		parent, ok := trace.FromHeader(http.Header{"Traceparent": {traceparent}})
		if !ok {
			t.Fatal("the traceparent does not parse")
		}
		ctx := trace.Start(context.Background(), parent)
		j, err := k.client.Order(ctx, a, jlis.Order{RequestKey: key("trace"), Municipality: "062049", Type: municipal.Juminhyo})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := k.client.Print(ctx, a, j.ID); err != nil {
			t.Fatal(err)
		}
		for role, want := range map[string]string{
			"relay": "certificate rendered for a kiosk",
			"town":  "certificate issued",
			"seal":  "seal: certificate registered",
		} {
			var found bool
			for _, line := range strings.Split(w.logs[role].String(), "\n") {
				if strings.Contains(line, want) && strings.Contains(line, `"trace_id":"`+traceID+`"`) {
					found = true
				}
			}
			if !found {
				t.Errorf("no %s log line %q with the trace:\n%s", role, want, w.logs[role])
			}
		}
		for record, q := range map[string]string{
			"the relay's job":      `SELECT COUNT(*) FROM kiosk_jobs WHERE id = $2 AND trace_id = $1`,
			"the town's audit row": `SELECT COUNT(*) FROM muni_audit WHERE action = 'issue' AND detail LIKE '%' || $2 AND trace_id = $1`,
			"the seal's register":  `SELECT COUNT(*) FROM seal_certificates WHERE number = $2 AND trace_id = $1`,
		} {
			arg := j.ID
			if record != "the relay's job" {
				arg = j.CertNumber
			}
			var n int
			if err := db.QueryRowContext(ctx, q, traceID, arg).Scan(&n); err != nil || n != 1 {
				t.Errorf("%s: %d rows with the trace (%v), want 1", record, n, err)
			}
		}
	})
}
