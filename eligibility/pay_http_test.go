package eligibility

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/store/storetest"
)

func TestPayAPI(t *testing.T) {
	w := payNewWorld(t, storetest.SQLite(t))
	payLink(t, w)
	check := payCheck(t, w, payFacility, "pid-ichiro")
	mux := http.NewServeMux()
	w.s.PaymentRoutes(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	type answer struct {
		code     int
		body     []byte
		replayed bool
	}
	do := func(method, path, key, idem string, body any) answer {
		t.Helper()
		if body == nil {
			body = []byte(nil) // no body, but still of type JSON
		}
		c := webtest.New(t, srv.URL).Bearer(key)
		if idem != "" {
			c = c.WithHeader("Idempotency-Key", idem)
		}
		resp := c.Send(webtest.Step{Method: method, Path: path, JSON: body})
		out := []byte(resp.Body)
		// Whatever the answer, it never carries the token or the card number.
		for _, secret := range []string{w.token, payPAN, "tok_"} {
			if strings.Contains(string(out), secret) {
				t.Errorf("%s %s: the answer contains %q: %s", method, path, secret, out)
			}
		}
		return answer{resp.Status, out, resp.Header.Get("Idempotent-Replayed") == "true"}
	}

	first := do("POST", "/eligibility/v1/payments", w.key, "k-1", map[string]any{"check_id": check, "amount": 3000})
	if first.code != http.StatusCreated || first.replayed {
		t.Fatalf("pay: %d %s", first.code, first.body)
	}
	var p Payment
	if err := json.Unmarshal(first.body, &p); err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	json.Unmarshal(first.body, &fields)
	for k := range fields {
		switch k {
		case "payment_id", "check_id", "amount", "refunded", "status", "last4", "created_at":
		default:
			t.Errorf("unexpected field %q in %s", k, first.body)
		}
	}
	if p.Last4 != "1111" || p.Amount != 3000 || p.Status != "captured" {
		t.Errorf("payment %s", first.body)
	}
	replay := do("POST", "/eligibility/v1/payments", w.key, "k-1", map[string]any{"check_id": check, "amount": 3000})
	if replay.code != http.StatusOK || !replay.replayed || !bytes.Equal(replay.body, first.body) {
		t.Errorf("replay: %d %v %s", replay.code, replay.replayed, replay.body)
	}
	w.wantCounts(t, payCounts{CardcoPayments: 1, EligPayments: 1, Available: payLimit - 3000})

	for _, tc := range []struct {
		name, method, path, key, idem string
		body                          any
		want                          int
		code                          httpapi.Code
	}{
		{"no facility key", "POST", "/eligibility/v1/payments", "", "k-2", map[string]any{"check_id": check, "amount": 1}, 401, CodeUnauthorized},
		{"no Idempotency-Key", "POST", "/eligibility/v1/payments", w.key, "", map[string]any{"check_id": check, "amount": 1}, 400, CodeInvalid},
		{"unknown field", "POST", "/eligibility/v1/payments", w.key, "k-3", map[string]any{"check_id": check, "amount": 1, "token": "x"}, 400, CodeInvalid},
		{"key reused", "POST", "/eligibility/v1/payments", w.key, "k-1", map[string]any{"check_id": check, "amount": 1}, 422, CodeIdempotencyKeyReused},
		{"another facility's check", "POST", "/eligibility/v1/payments", w.otherKey, "k-4", map[string]any{"check_id": check, "amount": 1}, 404, CodeNotFound},
		{"insufficient funds", "POST", "/eligibility/v1/payments", w.key, "k-5", map[string]any{"check_id": check, "amount": payLimit}, 402, CodeInsufficientFunds},
		{"get", "GET", "/eligibility/v1/payments/" + p.ID, w.key, "", nil, 200, ""},
		{"get another facility's", "GET", "/eligibility/v1/payments/" + p.ID, w.otherKey, "", nil, 404, CodeNotFound},
		{"refund", "POST", "/eligibility/v1/payments/" + p.ID + "/refunds", w.key, "r-1", map[string]any{"amount": 1000}, 201, ""},
		{"refund replay", "POST", "/eligibility/v1/payments/" + p.ID + "/refunds", w.key, "r-1", map[string]any{"amount": 1000}, 200, ""},
		{"over-refund", "POST", "/eligibility/v1/payments/" + p.ID + "/refunds", w.key, "r-2", map[string]any{"amount": 2001}, 409, CodeRefundExceeds},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := do(tc.method, tc.path, tc.key, tc.idem, tc.body)
			if a.code != tc.want {
				t.Fatalf("status %d, want %d: %s", a.code, tc.want, a.body)
			}
			if tc.code != "" {
				var pr httpapi.Problem
				if err := json.Unmarshal(a.body, &pr); err != nil || pr.Code != tc.code || pr.MessageJA == "" || pr.MessageEN == "" {
					t.Errorf("problem %s, want code %s", a.body, tc.code)
				}
			}
		})
	}
	w.wantCounts(t, payCounts{CardcoPayments: 1, EligPayments: 1, Available: payLimit - 2000})

	// The company is down: 503 with Retry-After, nothing recorded.
	w.coSrv.Close()
	down := do("POST", "/eligibility/v1/payments", w.key, "k-6", map[string]any{"check_id": check, "amount": 100})
	if down.code != http.StatusServiceUnavailable || !strings.Contains(string(down.body), "card_company_unavailable") {
		t.Errorf("company down: %d %s", down.code, down.body)
	}
}
