package trace

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestMiddleware(t *testing.T) {
	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	var seen context.Context
	h := Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = r.Context() }))
	for _, tc := range []struct {
		name, header string
		sameTrace    bool
	}{
		{"continues a valid trace", parent, true},
		{"starts one without a header", "", false},
		{"starts one for a malformed header", "00-zz-00f067aa0ba902b7-01", false},
		{"starts one for an all-zero trace", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			if tc.header != "" {
				r.Header.Set("traceparent", tc.header)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			id := ID(seen)
			if len(id) != 32 || w.Header().Get("Trace-Id") != id {
				t.Fatalf("trace %q, header %q", id, w.Header().Get("Trace-Id"))
			}
			if got := id == "4bf92f3577b34da6a3ce929d0e0e4736"; got != tc.sameTrace {
				t.Errorf("trace %s, same as the caller's: %v", id, got)
			}
			out := http.Header{}
			Inject(seen, out)
			tp := out.Get("traceparent")
			if !strings.Contains(tp, id) || strings.Contains(tp, "00f067aa0ba902b7") {
				t.Errorf("onward traceparent %q: want trace %s and a span of this role's own", tp, id)
			}
		})
	}
}

func TestHandler(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(Handler(slog.NewTextHandler(&buf, nil))).With("role", "jlis")
	ctx := Start(context.Background(), SpanContext{})
	log.InfoContext(ctx, "printed")
	log.Info("no context")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if !strings.Contains(lines[0], "trace_id="+ID(ctx)) || !strings.Contains(lines[0], "role=jlis") {
		t.Errorf("line with a trace: %s", lines[0])
	}
	if strings.Contains(lines[1], "trace_id") {
		t.Errorf("line without one: %s", lines[1])
	}
}
