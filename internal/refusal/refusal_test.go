package refusal_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/internal/refusal"
)

var errRefused = errors.New("test: refused")

type reason string

func (reason) Refused() error { return errRefused }

func (r reason) Messages() (ja, en string) { return "満員です。", "Full: " + string(r) }

var errOther = errors.New("test: other")

var rules = httpapi.Rules{{Err: errOther, Status: http.StatusConflict, Code: "other", JA: "他。", EN: "Other."}}

// TestRoundTrip: a refusal is answered 422 with its reason as the code and
// comes back through the client as the same refusal; another error goes
// through the rules both ways.
func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		status int
		code   httpapi.Code
		reason reason
	}{
		{"refusal", fmt.Errorf("book: %w", &refusal.Of[reason]{Reason: "slot_full"}), refusal.Status, "slot_full", "slot_full"},
		{"rule", errOther, http.StatusConflict, "other", ""},
		{"answer", nil, http.StatusOK, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				refusal.Answer[reason](w, r, rules, nil, map[string]int{"n": 1}, tc.err)
			}))
			defer srv.Close()
			rec := httptest.NewRecorder()
			refusal.Answer[reason](rec, httptest.NewRequest(http.MethodGet, "/", nil), rules, nil, map[string]int{"n": 1}, tc.err)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d", rec.Code, tc.status)
			}
			if tc.code != "" {
				var p httpapi.Problem
				if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Code != tc.code || p.MessageJA == "" || p.MessageEN == "" {
					t.Errorf("problem %+v (%v)", p, err)
				}
			}
			var out map[string]int
			err := refusal.Call[reason](context.Background(), &httpapi.Client{Service: "test", BaseURL: srv.URL, Rules: rules, Retries: -1},
				httpapi.Request{Method: http.MethodGet, Path: "/"}, &out)
			if got := refusal.ReasonOf[reason](err); got != tc.reason {
				t.Errorf("reason %q, want %q (%v)", got, tc.reason, err)
			}
			if tc.reason != "" && (!errors.Is(err, errRefused) || err.Error() != "test: refused: "+string(tc.reason)) {
				t.Errorf("refusal error %q does not wrap the package's sentinel", err)
			}
			if tc.name == "rule" && !errors.Is(err, errOther) {
				t.Errorf("rule error %v, want errOther", err)
			}
			if tc.name == "answer" && (err != nil || cmp.Diff(map[string]int{"n": 1}, out) != "") {
				t.Errorf("answer %v, %v", out, err)
			}
		})
	}
}
