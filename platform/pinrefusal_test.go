package platform

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/internal/ratelimit"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// cardCert reads a card's certificate of purpose p (the signing one needs
// its password).
func cardCert(t *testing.T, cd *card.Card, p card.Purpose) []byte {
	t.Helper()
	cl := card.NewClient(cd)
	defer cl.Logout()
	if p == card.Sign {
		if err := cl.VerifyPIN(card.SignPIN, "SAKATA1975"); err != nil {
			t.Fatal(err)
		}
	}
	der, err := cl.Certificate(p)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// pinRows are the audit rows of PIN refusals: person (or "-"), terminal,
// result, reason, serial.
func pinRows(t *testing.T, db *store.DB) [][5]string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), `SELECT COALESCE(person_id, '-'), terminal_id, result, reason, cert_serial
FROM platform_audit WHERE action = $1 ORDER BY id`, ActionPINRefusal)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out [][5]string
	for rows.Next() {
		var r [5]string
		if err := rows.Scan(&r[0], &r[1], &r[2], &r[3], &r[4]); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// TestPINRefusals: a terminal's report of a PIN the card refused is one
// audit row under the holder's platform ID (on their /me/audit, with the
// tries left), the same ID a holder who never used the platform gets at
// their first login;
// a malformed body, an unknown terminal's key and a certificate not of the
// 利用者証明用 CA are refused in Japanese and English and write nothing.
func TestPINRefusals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db)
		known, knownIs := w.issue(t)
		login := w.auth(t, w.kiosk, answer(t, w.kiosk, known))
		wantResult(t, login, Passed, "", "")
		pid := login.Report.PlatformID
		stranger, strangerIs := w.issue(t)
		authDER, strangerDER := cardCert(t, known, card.Auth), cardCert(t, stranger, card.Auth)
		signDER := cardCert(t, known, card.Sign)
		rogue := &TerminalClient{BaseURL: w.platSrv.URL, TerminalID: "kiosk-sakata-1", Key: make([]byte, 32), Now: w.clock.now}
		body := func(v any) []byte {
			b, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		knownSerial, strangerSerial := knownIs.Auth.Serial, strangerIs.Auth.Serial

		for _, tc := range []struct {
			name string
			tc   *TerminalClient
			body []byte
			// want is the row written, nil for none; code the refusal's.
			want *[5]string
			code httpapi.Code
		}{
			{name: "wrong PIN, 2 tries left", tc: w.kiosk,
				body: body(PINRefusal{Certificate: authDER, PIN: PINAuth, Result: ResultPINWrong, TriesLeft: 2}),
				want: &[5]string{pid, "kiosk-sakata-1", ResultPINWrong, "auth:2", knownSerial}},
			{name: "wrong signing password, 4 tries left", tc: w.kiosk,
				body: body(PINRefusal{Certificate: authDER, PIN: PINSign, Result: ResultPINWrong, TriesLeft: 4}),
				want: &[5]string{pid, "kiosk-sakata-1", ResultPINWrong, "sign:4", knownSerial}},
			{name: "blocked", tc: w.kiosk,
				body: body(PINRefusal{Certificate: authDER, PIN: PINAuth, Result: ResultPINBlocked}),
				want: &[5]string{pid, "kiosk-sakata-1", ResultPINBlocked, "auth:0", knownSerial}},
			{name: "a holder who never used the platform", tc: w.kiosk,
				body: body(PINRefusal{Certificate: strangerDER, PIN: PINAuth, Result: ResultPINWrong, TriesLeft: 1}),
				want: &[5]string{"stranger", "kiosk-sakata-1", ResultPINWrong, "auth:1", strangerSerial}},
			{name: "malformed JSON", tc: w.kiosk, body: []byte(`{"certificate":`), code: CodeInvalid},
			{name: "an unknown field (a PIN)", tc: w.kiosk, code: CodeInvalid,
				body: []byte(`{"certificate":"` + base64.StdEncoding.EncodeToString(authDER) + `","pin":"auth","result":"PIN_WRONG","tries_left":2,"value":"1234"}`)},
			{name: "tries left that do not fit", tc: w.kiosk, code: CodeInvalid,
				body: body(PINRefusal{Certificate: authDER, PIN: PINAuth, Result: ResultPINWrong, TriesLeft: 4})},
			{name: "blocked with tries left", tc: w.kiosk, code: CodeInvalid,
				body: body(PINRefusal{Certificate: authDER, PIN: PINAuth, Result: ResultPINBlocked, TriesLeft: 1})},
			{name: "the signing certificate", tc: w.kiosk, code: CodeUnknownIssuer,
				body: body(PINRefusal{Certificate: signDER, PIN: PINAuth, Result: ResultPINWrong, TriesLeft: 2})},
			{name: "not a certificate", tc: w.kiosk, code: CodeUnknownIssuer,
				body: body(PINRefusal{Certificate: []byte("junk"), PIN: PINAuth, Result: ResultPINWrong, TriesLeft: 2})},
			{name: "an unknown terminal key", tc: rogue, code: CodeUnknownTerminal,
				body: body(PINRefusal{Certificate: authDER, PIN: PINAuth, Result: ResultPINWrong, TriesLeft: 2})},
		} {
			t.Run(tc.name, func(t *testing.T) {
				// Rows sort by time: one a second.
				w.clock.advance(time.Second)
				before := pinRows(t, db)
				_, err := tc.tc.api().Do(ctx, httpapi.Request{Method: http.MethodPost, Path: "/platform/v1/pin-refusals",
					Body: tc.body, ContentType: "application/json"})
				after := pinRows(t, db)
				if tc.want == nil {
					var he *httpapi.Error
					if !errors.As(err, &he) || he.Code != tc.code || he.MessageJA == "" || he.MessageEN == "" {
						t.Fatalf("err = %v, want a problem %s in Japanese and English", err, tc.code)
					}
					if diff := cmp.Diff(before, after); diff != "" {
						t.Errorf("a refused report wrote (-before +after):\n%s", diff)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if len(after) != len(before)+1 {
					t.Fatalf("%d rows written, want 1", len(after)-len(before))
				}
				want := *tc.want
				if want[0] == "stranger" {
					// The ID of the first login, after the report.
					first := w.auth(t, w.kiosk, answer(t, w.kiosk, stranger))
					wantResult(t, first, Passed, "", "")
					want[0] = first.Report.PlatformID
				}
				if diff := cmp.Diff(want, after[len(after)-1]); diff != "" {
					t.Errorf("row (-want +got):\n%s", diff)
				}
			})
		}

		// The holder's audit, as /me/audit reads it: the refusals, newest
		// first, above the login.
		entries, err := w.p.AuditFor(ctx, pid, "test", 10)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range entries {
			got = append(got, e.Action+" "+e.Result+" "+e.Reason)
		}
		want := []string{"pin-refusal PIN_BLOCKED auth:0", "pin-refusal PIN_WRONG sign:4", "pin-refusal PIN_WRONG auth:2", "authenticate PASSED :"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("the holder's audit (-want +got):\n%s", diff)
		}

		// Through the typed client.
		if err := w.kiosk.ReportPINRefusal(ctx, PINRefusal{Certificate: authDER, PIN: PINAuth, Result: ResultPINWrong, TriesLeft: 1}); err != nil {
			t.Fatal(err)
		}
	})
}

// TestPINRefusalLimit: a terminal's reports are limited (429 with
// Retry-After past PINReports), and another terminal's are not.
func TestPINRefusalLimit(t *testing.T) {
	w := newWorld(t, storetest.SQLite(t))
	ctx := context.Background()
	cd, _ := w.issue(t)
	ref := PINRefusal{Certificate: cardCert(t, cd, card.Auth), PIN: PINAuth, Result: ResultPINBlocked}
	burst := DefaultLimits().PINReports.Burst
	flood := w.addTerminal(t, "kiosk-flood-1", "203.0.113.9")
	for i := range burst {
		if err := flood.ReportPINRefusal(ctx, ref); err != nil {
			t.Fatalf("report %d: %v", i+1, err)
		}
	}
	err := flood.ReportPINRefusal(ctx, ref)
	if d := limited(t, err); d <= 0 {
		t.Errorf("retry after %v", d)
	}
	if !errors.Is(err, ratelimit.ErrLimited) {
		t.Errorf("err = %v", err)
	}
	if err := w.kiosk.ReportPINRefusal(ctx, ref); err != nil {
		t.Errorf("another terminal: %v", err)
	}
	if n := len(pinRows(t, w.p.db)); n != burst+1 {
		t.Errorf("%d rows, want %d (nothing for the refused report)", n, burst+1)
	}
}

// TestPINRefusalLimitApp: an App terminal (the OpenID provider's page,
// which everyone uses) has its reports counted per card, so one card's
// flood leaves another card's report recorded.
func TestPINRefusalLimitApp(t *testing.T) {
	w := newWorld(t, storetest.SQLite(t))
	ctx := context.Background()
	key, err := w.p.RegisterTerminal(ctx, Terminal{ID: "oidc-app-1", Kind: App, Owner: "mynaplat", Name: "app"})
	if err != nil {
		t.Fatal(err)
	}
	app := w.from(t, "oidc-app-1", key, "203.0.113.10")
	one, _ := w.issue(t)
	two, _ := w.issue(t)
	flood := PINRefusal{Certificate: cardCert(t, one, card.Auth), PIN: PINAuth, Result: ResultPINBlocked}
	for i := range DefaultLimits().PINReports.Burst {
		if err := app.ReportPINRefusal(ctx, flood); err != nil {
			t.Fatalf("report %d: %v", i+1, err)
		}
	}
	if d := limited(t, app.ReportPINRefusal(ctx, flood)); d <= 0 {
		t.Errorf("retry after %v", d)
	}
	other := PINRefusal{Certificate: cardCert(t, two, card.Auth), PIN: PINAuth, Result: ResultPINWrong, TriesLeft: 2}
	if err := app.ReportPINRefusal(ctx, other); err != nil {
		t.Errorf("another card at the same App terminal: %v", err)
	}
}

// FuzzParsePINRefusal: the parser never panics, and what it accepts is
// valid and says the same once written again.
func FuzzParsePINRefusal(f *testing.F) {
	for _, s := range []string{
		`{"certificate":"MIIB","pin":"auth","result":"PIN_WRONG","tries_left":2}`,
		`{"certificate":"MIIB","pin":"sign","result":"PIN_BLOCKED","tries_left":0}`,
		`{"certificate":"MIIB","pin":"auth","result":"PIN_WRONG","tries_left":2} {}`,
		`{"certificate":"MIIB","pin":"text","result":"PIN_WRONG","tries_left":2}`,
		`{"certificate":null,"pin":"auth","result":"PIN_BLOCKED","tries_left":-1}`,
		`{"certificate":"!!","pin":"auth"}`,
		`[]`, ``, `{`, `{"value":"1234"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := ParsePINRefusal(b)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			return
		}
		if err := req.validate(); err != nil {
			t.Fatalf("accepted an invalid report: %v", err)
		}
		again, err := ParsePINRefusal(mustJSON(t, req))
		if err != nil || !cmp.Equal(req, again) {
			t.Fatalf("round trip: %+v → %+v, %v", req, again, err)
		}
		if _, _, ok := ParsePINRefusalReason(PINRefusalReason(req.PIN, req.TriesLeft)); !ok {
			t.Fatalf("reason of %+v does not read back", req)
		}
	})
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
