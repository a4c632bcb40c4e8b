package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
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

// TestInternalRule: a table with an internal rule answers an error no rule
// names in its own words (and headers), on the wire too, and its client
// matches ErrInternal; a table without one keeps the generic words.
func TestInternalRule(t *testing.T) {
	own := ownInternalRule()
	withOwn := append(slices.Clip(rules), own)
	for _, tc := range []struct {
		name   string
		rs     Rules
		ja, en string
		retry  string
	}{
		{"generic", rules, internal.JA, internal.EN, ""},
		{"own words", withOwn, own.JA, own.EN, "1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.rs.Check(); err != nil {
				t.Fatal(err)
			}
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				tc.rs.Write(w, r, nil, errors.New("disk on fire"))
			}))
			defer srv.Close()
			c := &Client{Service: "test", BaseURL: srv.URL, Rules: tc.rs}
			_, err := c.Do(t.Context(), Request{Method: "POST", Path: "/", Idempotent: true})
			e, ok := errors.AsType[*Error](err)
			if !ok {
				t.Fatalf("not a problem: %v", err)
			}
			got := []any{e.Status, e.Code, e.MessageJA, e.MessageEN, e.Header.Get("Retry-After"), errors.Is(err, ErrInternal), errors.Is(err, ErrUnavailable)}
			want := []any{500, CodeInternal, tc.ja, tc.en, tc.retry, tc.retry != "", true}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("answer (-want +got):\n%s", d)
			}
			// A 500 that asks to be sent again (Retry-After) is, when the call
			// may be sent again; the generic one is final.
			if n, want := calls.Load(), map[bool]int32{false: 1, true: 3}[tc.retry != ""]; n != want {
				t.Errorf("%d calls, want %d", n, want)
			}
		})
	}
	if err := (Rules{{Err: ErrInternal, Status: 400, Code: CodeInternal, JA: "a", EN: "b"}}).Check(); err == nil {
		t.Error("an internal rule with a 4xx status passed the check")
	}
}

// ownInternalRule is a package's internal rule as cardco's: nothing
// was kept, so the same request may be sent again.
func ownInternalRule() Rule {
	r := InternalRule("内部エラーが発生しました。処理は行われていません。", "Internal error; nothing was done.")
	r.Header = http.Header{"Retry-After": {"1"}}
	return r
}

func TestClient(t *testing.T) {
	var calls atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ok", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, 200, map[string]string{"trace": trace.ID(r.Context()), "auth": r.Header.Get("Authorization")})
	})
	mux.HandleFunc("/gone", func(w http.ResponseWriter, r *http.Request) { rules.Write(w, r, nil, errGone) })
	mux.HandleFunc("/final", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		Write(w, New(http.StatusBadGateway, "bad_answer", "不正な応答", "Bad answer"))
	})
	mux.HandleFunc("/html", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "<h1>no</h1>", http.StatusNotFound) })
	mux.HandleFunc("/busy", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Retry-After", "1")
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
	if e, ok := errors.AsType[*Error](err); !ok || !e.Bare || !errors.Is(err, Code("http_404")) {
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
		{"a problem without Retry-After is final", Request{Method: "GET", Path: "/final"}, 1},
	} {
		calls.Store(0)
		_, err := c.Do(ctx, tc.rq)
		if !errors.Is(err, ErrUnavailable) || calls.Load() != tc.calls {
			t.Errorf("%s: %v after %d calls, want %d", tc.name, err, calls.Load(), tc.calls)
		}
	}

	start := time.Now()
	_, err = c.Do(ctx, Request{Method: "POST", Path: "/slow"})
	if !errors.Is(err, ErrUnavailable) || !IsTimeout(err) || time.Since(start) > time.Second {
		t.Errorf("timeout: %v after %v", err, time.Since(start))
	}
}

func TestRulesCheck(t *testing.T) {
	if err := rules.Check(); err != nil {
		t.Errorf("a good table: %v", err)
	}
	errOther := fmt.Errorf("other: %w", errGone)
	for _, tc := range []struct {
		name string
		rs   Rules
	}{
		{"no code", Rules{{Err: errGone, Status: 410, JA: "a", EN: "b"}}},
		{"no text", Rules{{Err: errGone, Status: 410, Code: codeGone, JA: "a"}}},
		{"not an error status", Rules{{Err: errGone, Status: 200, Code: codeGone, JA: "a", EN: "b"}}},
		{"shadowed", Rules{{Err: errGone, Status: 410, Code: codeGone, JA: "a", EN: "b"}, {Err: errOther, Status: 400, Code: "other", JA: "a", EN: "b"}}},
	} {
		if err := tc.rs.Check(); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

func TestRulesClientSide(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/gone", func(w http.ResponseWriter, r *http.Request) { rules.Write(w, r, nil, errGone) })
	mux.HandleFunc("/tsa", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/timestamp-reply")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte{0x30, 0})
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := &Client{Service: "test", BaseURL: srv.URL, Rules: rules}
	_, err := c.Do(context.Background(), Request{Method: "GET", Path: "/gone"})
	if !errors.Is(err, errGone) || !errors.Is(err, codeGone) {
		t.Errorf("the sentinel of the code: %v", err)
	}
	resp, err := c.Do(context.Background(), Request{Method: "POST", Path: "/tsa",
		Answer: func(status int, h http.Header) bool { return h.Get("Content-Type") == "application/timestamp-reply" }})
	if err != nil || resp.Status != 400 || len(resp.Body) != 2 {
		t.Errorf("an answer with a 4xx status: %+v, %v", resp, err)
	}
}

func TestRuleDetailAndHeader(t *testing.T) {
	errBad := errors.New("bad")
	rs := Rules{{Err: errBad, Status: 400, Code: "bad", JA: "不正", EN: "Bad", Detail: true,
		Header: http.Header{"Retry-After": {"5"}}}}
	rec := httptest.NewRecorder()
	rs.Write(rec, httptest.NewRequest("GET", "/", nil), nil, fmt.Errorf("%w: amount must be positive", errBad))
	var p Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Detail != "bad: amount must be positive" || rec.Header().Get("Retry-After") != "5" ||
		rec.Header().Get("Content-Type") != ContentType {
		t.Errorf("got %+v %v %v", p, rec.Header(), err)
	}
}

func TestDecode(t *testing.T) {
	type body struct {
		A int `json:"a"`
	}
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{`{"a":1}`, true},
		{"{\"a\":1}\n ", true},
		{`{"a":1}]`, false},
		{`{"a":1}}`, false},
		{`{"a":1}{"a":2}`, false},
		{`{"a":1} x`, false},
		{`{"b":1}`, false},
		{`[]`, false},
		{``, false},
		{`{"a":` + strings.Repeat("1", 100) + `}`, false},
	} {
		var b body
		err := Decode(strings.NewReader(tc.in), &b, 64)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrBody)) {
			t.Errorf("Decode(%q) = %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}

// FuzzProblem: any answer body decodes without a panic, through the
// client's path (a problem content type), and a decoded problem encodes
// again.
func FuzzProblem(f *testing.F) {
	f.Add([]byte(`{"type":"urn:mynaplat:problem:job_gone","title":"Gone","status":410,"code":"job_gone","message_ja":"時間切れ","message_en":"Gone","tries_left":2}`))
	f.Add([]byte(`{"type":5}`))
	f.Add([]byte(`{"code":"x","fields":{"a":[1,2]}}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`<html>`))
	c := &Client{Service: "fuzz", Rules: rules}
	f.Fuzz(func(t *testing.T, b []byte) {
		var p Problem
		if json.Unmarshal(b, &p) == nil {
			if _, err := json.Marshal(p); err != nil {
				t.Errorf("a decoded problem does not encode: %v", err)
			}
			var n int
			p.Field("tries_left", &n)
		}
		resp := &http.Response{StatusCode: 400, Status: "400 Bad Request", Header: http.Header{"Content-Type": {ContentType}}}
		err := c.problem(resp, b)
		if e, ok := errors.AsType[*Error](err); !ok || e.Status != 400 || e.Code == "" {
			t.Errorf("answer %q: %#v", b, err)
		}
	})
}
