package jlis

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/municipal"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/seal"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/wareki"
)

// validOrder is the relay's rule for an order, before it looks at the card.
func validOrder(o Order) bool {
	return len(o.RequestKey) >= 16 && len(o.RequestKey) <= 64 && o.Type.Valid() && o.Copies >= 0 && o.Copies <= municipal.MaxCopies
}

// FuzzOrderBody sends arbitrary bodies to POST /jlis/v1/jobs of a relay
// whose platform knows no keys: every answer is a JSON problem — 400
// invalid_request for a body that is not one OrderBody or not a valid
// order, 401 card_auth for a valid order (its assertion cannot verify) —
// never a 500, never a job; and what decodes encodes and decodes to itself.
func FuzzOrderBody(f *testing.F) {
	ctx := context.Background()
	db := storetest.SQLite(f)
	start := time.Date(2026, 11, 24, 10, 0, 0, 0, wareki.JST()) // a Tuesday, within every service's hours
	now := func() time.Time { return start }
	svc, err := Open(ctx, Config{DB: db, Now: now})
	if err != nil {
		f.Fatal(err)
	}
	auth, err := seal.OpenAuthority(f.TempDir(), now)
	if err != nil {
		f.Fatal(err)
	}
	reg, err := seal.New(ctx, seal.Config{DB: db, Authority: auth, Now: now})
	if err != nil {
		f.Fatal(err)
	}
	relay, err := NewRelay(svc, RelayConfig{Issuer: "https://platform.invalid",
		Keys: func(context.Context) (platform.JWKS, error) { return platform.JWKS{}, nil },
		Attributes: func(context.Context, string) (*jpki.HolderAttributes, error) {
			return nil, errors.New("no attributes in the fuzzer")
		},
		Endpoints: map[string]Endpoint{"062049": {BaseURL: "http://127.0.0.1:1", Key: "relay"}}, Seal: reg})
	if err != nil {
		f.Fatal(err)
	}
	kioskKey, err := svc.AddKiosk(ctx, "kiosk-fuzz", "fuzz")
	if err != nil {
		f.Fatal(err)
	}
	mux := http.NewServeMux()
	relay.Routes(mux)

	for _, s := range []string{
		`{"assertion":"eyJhbGciOiJFUzI1NiJ9.e30.c2ln","request_key":"request-key-0001-0000","municipality":"062049","type":"juminhyo"}`,
		`{"assertion":"a","request_key":"request-key-0002-0000","municipality":"062049","type":"tax","options":{"year":2026},"copies":3}`,
		`{"assertion":"a","request_key":"request-key-0003-0000","municipality":"062014","type":"koseki-zenbu","options":{"household":true,"honseki":true,"relation":true,"my_number":true}}`,
		`{"assertion":"a","request_key":"short","municipality":"062049","type":"juminhyo"}`,
		`{"assertion":"a","request_key":"request-key-0004-0000","type":"passport"}`,
		`{"assertion":"a","request_key":"request-key-0005-0000","type":"inkan","copies":11}`,
		`{"assertion":"a","request_key":"request-key-0006-0000","type":"inkan","copies":-1}`,
		`{"Type":"juminhyo","type":"fuhyo","REQUEST_KEY":"request-key-0007-0000"}`,
		`{"assertion":"a","options":{"year":1e400}}`,
		`{"assertion":"\u0000","municipality":"\ud800"}`,
		`{"assertion":"a","person_id":"p-1"}`,
		`{"assertion":"a"} {"assertion":"b"}`,
		`{"assertion":`,
		`[]`, `null`, `{}`, `""`, ``, `{"copies":"2"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPost, "/jlis/v1/jobs", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+kioskKey)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)

		var p httpapi.Problem
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Code == "" || p.MessageJA == "" || p.MessageEN == "" {
			t.Fatalf("answer %d %q for %q: not a JSON problem", rec.Code, rec.Body, body)
		}
		if ct := rec.Header().Get("Content-Type"); ct != httpapi.ContentType {
			t.Errorf("Content-Type %q", ct)
		}
		var in OrderBody
		decoded := httpapi.Decode(strings.NewReader(body), &in, MaxBody) == nil
		want := map[bool]struct {
			status int
			code   httpapi.Code
		}{false: {http.StatusBadRequest, CodeInvalidRequest}, true: {http.StatusUnauthorized, CodeCardAuth}}[decoded && validOrder(in.Order)]
		if rec.Code != want.status || p.Code != want.code {
			t.Fatalf("%q: %d %s, want %d %s", body, rec.Code, p.Code, want.status, want.code)
		}
		if decoded {
			b, err := json.Marshal(in)
			if err != nil {
				t.Fatal(err)
			}
			var again OrderBody
			if err := httpapi.Decode(strings.NewReader(string(b)), &again, MaxBody); err != nil {
				t.Fatalf("%s does not decode: %v", b, err)
			}
			if diff := cmp.Diff(in, again); diff != "" {
				t.Fatalf("round trip of %q (-first +again):\n%s", body, diff)
			}
		}
		var jobs int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM kiosk_jobs`).Scan(&jobs); err != nil || jobs != 0 {
			t.Fatalf("%d jobs recorded (%v)", jobs, err)
		}
	})
}
