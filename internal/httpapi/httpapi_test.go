package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/internal/trace"
)

const codeGone Code = "job_gone"

var errGone = errors.New("the job is gone")

var rules = Rules{
	{Err: errGone, Status: http.StatusGone, Code: codeGone, JA: "時間切れです。", EN: "Timed out."},
}

func TestProblemJSON(t *testing.T) {
	p := New(http.StatusForbidden, "pin_blocked", "ロックされています。", "Blocked.").With("tries_left", 0)
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	want := map[string]any{"type": "urn:mynaplat:problem:pin_blocked", "title": "Forbidden", "status": float64(403),
		"detail": "Blocked.", "code": "pin_blocked", "message_ja": "ロックされています。", "message_en": "Blocked.", "tries_left": float64(0)}
	if d := cmp.Diff(want, m); d != "" {
		t.Errorf("wire form (-want +got):\n%s", d)
	}
	var back Problem
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	var n int
	if !back.Field("tries_left", &n) || n != 0 || back.Code != "pin_blocked" || back.Status != 403 {
		t.Errorf("round trip: %+v", back)
	}
	// A problem from elsewhere with only a type still has a code.
	var other Problem
	json.Unmarshal([]byte(`{"type":"urn:mynaplat:problem:x","status":400}`), &other)
	if other.Code != "x" {
		t.Errorf("code from type: %q", other.Code)
	}
}

func TestRules(t *testing.T) {
	passed := New(http.StatusNotFound, "no_koseki", "ありません。", "None.")
	for _, tc := range []struct {
		name string
		err  error
		want Code
		st   int
	}{
		{"sentinel", fmt.Errorf("expire: %w", errGone), codeGone, 410},
		{"problem passed on", fmt.Errorf("town: %w", &Error{Problem: passed, Service: "town"}), "no_koseki", 404},
		{"unknown", errors.New("disk on fire"), "internal", 500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := rules.Problem(tc.err)
			if p.Code != tc.want || p.Status != tc.st || p.MessageJA == "" || p.MessageEN == "" {
				t.Errorf("got %+v", p)
			}
			if tc.name == "unknown" && p.MessageEN != internal.EN {
				t.Errorf("an internal error's details leaked: %q", p.MessageEN)
			}
		})
	}
}

func TestClient(t *testing.T) {
	var calls atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ok", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, 200, map[string]string{"trace": trace.ID(r.Context()), "auth": r.Header.Get("Authorization")})
	})
	mux.HandleFunc("/gone", func(w http.ResponseWriter, r *http.Request) { rules.Write(w, r, nil, errGone) })
	mux.HandleFunc("/html", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "<h1>no</h1>", http.StatusNotFound) })
	mux.HandleFunc("/busy", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		Write(w, New(http.StatusServiceUnavailable, "busy", "混雑", "Busy"))
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
	})
	srv := httptest.NewServer(trace.Middleware(mux))
	defer srv.Close()
	c := &Client{Service: "test", BaseURL: srv.URL, HTTP: NewHTTPClient(300 * time.Millisecond), Auth: Bearer("k"), Retries: 2}
	ctx := trace.Start(context.Background(), trace.SpanContext{})

	var got map[string]string
	if _, err := c.DoJSON(ctx, Request{Method: "GET", Path: "/ok"}, &got); err != nil {
		t.Fatal(err)
	}
	if got["trace"] != trace.ID(ctx) || got["auth"] != "Bearer k" {
		t.Errorf("the trace or the key did not arrive: %v, want trace %s", got, trace.ID(ctx))
	}

	_, err := c.Do(ctx, Request{Method: "POST", Path: "/gone"})
	if !errors.Is(err, codeGone) || errors.Is(err, ErrUnavailable) {
		t.Errorf("problem: %v", err)
	}
	if e, ok := errors.AsType[*Error](err); !ok || e.MessageJA != "時間切れです。" || e.Status != 410 {
		t.Errorf("problem body: %#v", err)
	}

	_, err = c.Do(ctx, Request{Method: "GET", Path: "/html"})
	if !errors.Is(err, Code("http_404")) {
		t.Errorf("HTML answer: %v", err)
	}

	for _, tc := range []struct {
		name  string
		rq    Request
		calls int32
	}{
		{"GET is retried", Request{Method: "GET", Path: "/busy"}, 3},
		{"POST is not", Request{Method: "POST", Path: "/busy"}, 1},
		{"idempotent POST is", Request{Method: "POST", Path: "/busy", Idempotent: true}, 3},
	} {
		calls.Store(0)
		_, err := c.Do(ctx, tc.rq)
		if !errors.Is(err, ErrUnavailable) || !errors.Is(err, Code("busy")) || calls.Load() != tc.calls {
			t.Errorf("%s: %v after %d calls, want %d", tc.name, err, calls.Load(), tc.calls)
		}
	}

	start := time.Now()
	_, err = c.Do(ctx, Request{Method: "POST", Path: "/slow"})
	if !errors.Is(err, ErrUnavailable) || !IsTimeout(err) || time.Since(start) > time.Second {
		t.Errorf("timeout: %v after %v", err, time.Since(start))
	}
}
