// Package trace carries one request's identity across mynaplat's roles, as
// W3C Trace Context (https://www.w3.org/TR/trace-context/) `traceparent`
// headers: a role that receives a request keeps its trace ID (or starts a
// new trace), gives the request a span of its own, and every call it makes
// to another role carries the trace on. Log lines (Handler) and audit rows
// (ID) name the trace, so that one kiosk print can be followed through the
// relay, the town and the seal.
//
// Parsing and formatting the header is OpenTelemetry's propagator's; no
// tracing SDK runs and no span is exported: the IDs are for logs and audit.
package trace

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"

	"go.opentelemetry.io/otel/propagation"
	oteltrace "go.opentelemetry.io/otel/trace"
)

// FromHeader is the span context a request's headers carry, if valid.
func FromHeader(h http.Header) (oteltrace.SpanContext, bool) {
	sc := oteltrace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(), propagation.HeaderCarrier(h)))
	return sc, sc.IsValid()
}

// Start gives ctx a new span: in the trace of parent when parent is valid,
// else in a new trace. The span is what calls made with ctx name as their
// parent.
func Start(ctx context.Context, parent oteltrace.SpanContext) context.Context {
	cfg := oteltrace.SpanContextConfig{TraceFlags: oteltrace.FlagsSampled}
	if parent.IsValid() {
		cfg.TraceID, cfg.TraceFlags, cfg.TraceState = parent.TraceID(), parent.TraceFlags(), parent.TraceState()
	} else {
		rand.Read(cfg.TraceID[:])
	}
	rand.Read(cfg.SpanID[:])
	return oteltrace.ContextWithSpanContext(ctx, oteltrace.NewSpanContext(cfg))
}

// ID is the trace ID of ctx in lower-case hex, or "" when ctx has none.
func ID(ctx context.Context) string {
	sc := oteltrace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return ""
	}
	return sc.TraceID().String()
}

// Inject writes ctx's traceparent into h, for a call to another role. With
// no trace in ctx it writes nothing: the callee starts one.
func Inject(ctx context.Context, h http.Header) {
	propagation.TraceContext{}.Inject(ctx, propagation.HeaderCarrier(h))
}

// Middleware gives every request a span, continuing the caller's trace
// when its traceparent is valid, and answers with the trace ID in a
// Trace-Id header so that a person reporting a problem can quote it.
func Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parent, _ := FromHeader(r.Header)
		ctx := Start(r.Context(), parent)
		w.Header().Set("Trace-Id", ID(ctx))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// Handler adds trace_id to every record logged with a context that has a
// trace (logger.InfoContext(ctx, …)).
func Handler(h slog.Handler) slog.Handler { return handler{h} }

type handler struct{ slog.Handler }

func (h handler) Handle(ctx context.Context, r slog.Record) error {
	if id := ID(ctx); id != "" {
		r.AddAttrs(slog.String("trace_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h handler) WithAttrs(as []slog.Attr) slog.Handler { return handler{h.Handler.WithAttrs(as)} }
func (h handler) WithGroup(name string) slog.Handler    { return handler{h.Handler.WithGroup(name)} }

// SpanContext is a trace position (OpenTelemetry's type); the zero value
// is none, and Start then begins a new trace.
type SpanContext = oteltrace.SpanContext
