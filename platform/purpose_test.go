package platform

import (
	"context"
	"testing"

	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// TestPurposeOfTerminalKind: a staff terminal (StaffDesk) asks for staff
// sign-ins only and the provider's terminal (App) for outside-service
// logins only (PurposeOIDC), and no other terminal asks for either; a
// refusal is a FAILED report naming the purpose, with its texts in both
// languages, and no assertion.
func TestPurposeOfTerminalKind(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db)
		cd, _ := w.issue(t)
		terminals := map[TerminalKind]*TerminalClient{Kiosk: w.kiosk}
		for _, reg := range []Terminal{
			{ID: "staff-sakata-1", Kind: StaffDesk, Owner: "酒田市", Name: "市民課 職員端末"},
			{ID: "oidc-app-1", Kind: App, Owner: "mynaplat", Name: "デジタル認証アプリ"},
		} {
			key, err := w.p.RegisterTerminal(ctx, reg)
			if err != nil {
				t.Fatal(err)
			}
			terminals[reg.Kind] = w.terminal(t, reg.ID, key)
		}
		for _, tc := range []struct {
			name    string
			kind    TerminalKind
			purpose string
			pass    bool
		}{
			{"the app logs into an outside service", App, PurposeOIDC, true},
			{"the app asks for a service login", App, "", false},
			{"the app asks for an eligibility check", App, PurposeEligibility, false},
			{"the app asks for a staff sign-in", App, PurposeStaff, false},
			{"a kiosk asks for an outside-service login", Kiosk, PurposeOIDC, false},
			{"a staff terminal asks for an outside-service login", StaffDesk, PurposeOIDC, false},
			{"a kiosk logs into a service", Kiosk, "", true},
			{"a kiosk asks for a staff sign-in", Kiosk, PurposeStaff, false},
			{"a staff terminal signs staff in", StaffDesk, PurposeStaff, true},
			{"a staff terminal asks for a service login", StaffDesk, "", false},
			{"an unknown purpose", App, "oidc2", false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				tc2 := terminals[tc.kind]
				req := answer(t, tc2, cd)
				req.Purpose = tc.purpose
				ar := w.auth(t, tc2, req)
				if !tc.pass {
					wantResult(t, ar, Failed, ReasonMalformed, DetailPurpose)
					return
				}
				wantResult(t, ar, Passed, "", "")
				c, err := VerifyAssertion(ar.Assertion, w.p.PublicKeys(), "", w.clock.now())
				if err != nil {
					t.Fatal(err)
				}
				if c.Purpose != tc.purpose || c.TerminalKind != tc.kind {
					t.Errorf("claims purpose %q of a %s terminal, want %q of a %s terminal", c.Purpose, c.TerminalKind, tc.purpose, tc.kind)
				}
				// Only the holder's own logins open their records: a staff
				// sign-in or a provider's login is for its party alone.
				_, err = FetchAudit(ctx, nil, w.platSrv.URL, ar.Assertion)
				if own := tc.purpose == ""; own != (err == nil) {
					t.Errorf("the holder's audit with a %q login: err = %v", tc.purpose, err)
				}
			})
		}
		// An offline answer carries no purpose the app may ask for.
		t.Run("the app sends an offline answer", func(t *testing.T) {
			req := offlineAnswer(t, w, cd, "offline-app-0000001")
			req.Purpose = ""
			ar, err := terminals[App].AuthenticateDeferred(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			wantResult(t, ar, Failed, ReasonMalformed, DetailPurpose)
		})
	})
}

// TestAppTerminalKind: the provider's terminal is a kind a terminal may be
// registered as.
func TestAppTerminalKind(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db)
		if _, err := w.p.RegisterTerminal(ctx, Terminal{ID: "oidc-app-1", Kind: App, Owner: "mynaplat", Name: "app"}); err != nil {
			t.Fatal(err)
		}
		got, err := w.p.Terminal(ctx, "oidc-app-1")
		if err != nil || got.Kind != App {
			t.Fatalf("terminal %+v, %v; want kind %s", got, err, App)
		}
	})
}
