package platform

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/internal/callerkey"
	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// TestDisclosure: the provider's report of what it gave an outside
// service writes one audit row on the holder's history, under the caller,
// with the recipient and the items; a malformed body, an unknown item, an
// unknown person or a call without the caller's key is refused in
// Japanese and English and writes nothing.
func TestDisclosure(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db)
		cd, _ := w.issue(t)
		person := w.auth(t, w.kiosk, answer(t, w.kiosk, cd)).Report.PlatformID

		key := callerkey.New()
		mux := http.NewServeMux()
		w.p.CallerRoutes(mux, callerkey.Keys{}.Add("oidc", key))
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		c := NewCallerClient(srv.URL, key, nil)
		const tx = "7b0c5a3e-2f4d-4c1a-9e8b-0a1b2c3d4e5f"

		rows := func() []string {
			t.Helper()
			r, err := db.QueryContext(ctx, `SELECT person_id, terminal_id, result, reason FROM platform_audit WHERE action = $1 ORDER BY id`, ActionOIDCDisclosure)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			var out []string
			for r.Next() {
				var p, term, res, reason string
				if err := r.Scan(&p, &term, &res, &reason); err != nil {
					t.Fatal(err)
				}
				out = append(out, strings.Join([]string{p, term, res, reason}, " "))
			}
			return out
		}

		// Refusals through the client: the sentinels, nothing written.
		for _, tc := range []struct {
			name   string
			c      *CallerClient
			person string
			d      Disclosure
			want   error
		}{
			{"no key", NewCallerClient(srv.URL, "", nil), person, Disclosure{Recipient: "RP", Items: []string{ItemName}}, callerkey.CodeUnauthorized},
			{"unknown person", c, "nobody", Disclosure{Recipient: "RP", Items: []string{ItemName}}, ErrNotFound},
			{"unknown item", c, person, Disclosure{Recipient: "RP", Items: []string{ItemName, "my_number"}}, ErrUnknownItem},
			{"no items", c, person, Disclosure{Recipient: "RP"}, ErrInvalid},
			{"an item twice", c, person, Disclosure{Recipient: "RP", Items: []string{ItemName, ItemName}}, ErrInvalid},
			{"no recipient", c, person, Disclosure{Recipient: " ", Items: []string{ItemName}}, ErrInvalid},
			{"a recipient of 201 characters", c, person, Disclosure{Recipient: strings.Repeat("須", 201), Items: []string{ItemName}}, ErrInvalid},
			{"a control character", c, person, Disclosure{Recipient: "RP\n(RP1)", Items: []string{ItemName}}, ErrInvalid},
			{"a signature without its transaction", c, person, Disclosure{Recipient: "RP", Items: []string{ItemSignature}}, ErrInvalid},
			{"a transaction that is not a UUID", c, person, Disclosure{Recipient: "RP", Items: []string{ItemName}, SignTransactionID: "tx-1"}, ErrInvalid},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if err := tc.c.Disclose(ctx, tc.person, tc.d); !errors.Is(err, tc.want) {
					t.Errorf("Disclose: %v, want %v", err, tc.want)
				}
				if got := rows(); len(got) != 0 {
					t.Errorf("rows written: %q", got)
				}
			})
		}

		// Refusals of bodies the client does not send: each answered
		// with its code and both texts.
		for _, tc := range []struct {
			name, body string
			code       httpapi.Code
		}{
			{"not JSON", `{"recipient":`, CodeInvalid},
			{"an unknown field", `{"recipient":"RP","items":["name"],"my_number":"123456789018"}`, CodeInvalid},
			{"two objects", `{"recipient":"RP","items":["name"]}{}`, CodeInvalid},
			{"an unknown item", `{"recipient":"RP","items":["name","photo"]}`, CodeUnknownItem},
			{"too long", `{"recipient":"` + strings.Repeat("a", 5000) + `","items":["name"]}`, CodeInvalid},
		} {
			t.Run(tc.name, func(t *testing.T) {
				req, _ := http.NewRequest(http.MethodPost, srv.URL+"/platform/v1/persons/"+person+"/disclosures", bytes.NewReader([]byte(tc.body)))
				req.Header.Set("Authorization", "Bearer "+key)
				resp, err := http.DefaultTransport.RoundTrip(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var p httpapi.Problem
				if err := httpapi.Decode(resp.Body, &p, 64<<10); err != nil {
					t.Fatal(err)
				}
				if resp.StatusCode != http.StatusBadRequest || p.Code != tc.code || p.MessageJA == "" || p.MessageEN == "" {
					t.Errorf("answer %d %+v, want 400 %s with both texts", resp.StatusCode, p, tc.code)
				}
				if got := rows(); len(got) != 0 {
					t.Errorf("rows written: %q", got)
				}
			})
		}

		// Two disclosures: two rows, the items in reading order.
		for _, d := range []Disclosure{
			{Recipient: "須坂市ウェブサイト (RP00000001)", Items: []string{ItemBirthdate, ItemName}},
			{Recipient: "日本生命 (RP00000002)", Items: []string{ItemSignature}, SignTransactionID: tx},
		} {
			if err := c.Disclose(ctx, person, d); err != nil {
				t.Fatal(err)
			}
			w.clock.advance(time.Second) // rows sort by time
		}
		want := []string{
			person + ` caller:oidc OK {"recipient":"須坂市ウェブサイト (RP00000001)","items":["name","birthdate"]}`,
			person + ` caller:oidc OK {"recipient":"日本生命 (RP00000002)","items":["signature"],"sign_transaction_id":"` + tx + `"}`,
		}
		if diff := cmp.Diff(want, rows()); diff != "" {
			t.Errorf("rows (-want +got):\n%s", diff)
		}
		// The holder's history has them.
		entries, err := w.p.AuditFor(ctx, person, "test", 50)
		if err != nil {
			t.Fatal(err)
		}
		var got []Disclosure
		for _, e := range entries {
			if e.Action == ActionOIDCDisclosure {
				d, ok := ParseDisclosureReason(e.Reason)
				if !ok {
					t.Errorf("reason %q does not read back", e.Reason)
				}
				got = append(got, d)
			}
		}
		if len(got) != 2 || !slices.ContainsFunc(got, func(d Disclosure) bool { return d.SignTransactionID == tx }) {
			t.Errorf("the holder's history: %+v", got)
		}
	})
}

// FuzzParseDisclosure: the parser never panics; what it accepts is valid,
// says the same once written again, and its audit reason reads back.
func FuzzParseDisclosure(f *testing.F) {
	for _, s := range []string{
		`{"recipient":"須坂市ウェブサイト (RP00000001)","items":["name","birthdate"]}`,
		`{"recipient":"RP","items":["signature"],"sign_transaction_id":"7b0c5a3e-2f4d-4c1a-9e8b-0a1b2c3d4e5f"}`,
		`{"recipient":"RP","items":["signature"]}`,
		`{"recipient":"RP","items":["name","name"]}`,
		`{"recipient":"RP","items":["photo"]}`,
		`{"recipient":"","items":["name"]}`,
		`{"recipient":"a\u0000b","items":["gender"]}`,
		`{"recipient":"RP","items":["name"]} {}`,
		`{"recipient":"RP","items":null,"sign_transaction_id":"x"}`,
		`[]`, ``, `{`, `{"value":"1234"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseDisclosure(b)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			return
		}
		if err := d.validate(); err != nil {
			t.Fatalf("accepted an invalid disclosure: %v", err)
		}
		again, err := ParseDisclosure(mustJSON(t, d))
		if err != nil || !cmp.Equal(d, again) {
			t.Fatalf("round trip: %+v → %+v, %v", d, again, err)
		}
		back, ok := ParseDisclosureReason(DisclosureReason(d))
		if !ok || back.Recipient != d.Recipient || back.SignTransactionID != d.SignTransactionID ||
			!cmp.Equal(slices.Sorted(slices.Values(back.Items)), slices.Sorted(slices.Values(d.Items))) {
			t.Fatalf("reason of %+v reads back as %+v, %v", d, back, ok)
		}
	})
}
