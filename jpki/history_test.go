package jpki

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

func TestHistoryRules(t *testing.T) {
	if err := historyRules.Check(); err != nil {
		t.Error(err)
	}
}

// TestMyHistory: a holder reads what the counters did to their card —
// issuance, a read, a revocation and a PIN reset, each with the counter's
// office, the clerk's staff number and the approver's, never a name or a
// platform ID — and nothing of another holder's card; a request without a
// valid assertion is refused; each read leaves an audit row naming the
// holder.
func TestMyHistory(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newCounterEnv(t, db)
		town := adult.Municipality
		mine, is := e.issued(t)
		_, theirs := e.issued(t)
		e.clock.advance(time.Minute)
		if _, err := e.client.CardRecord(ctx, mine.ID()); err != nil {
			t.Fatal(err)
		}
		e.clock.advance(time.Minute)
		if _, err := e.client.RevokeCertificate(ctx, RevokeRequest{CardID: mine.ID(), Kind: Sign, Serial: is.Sign.Serial,
			Reason: KeyCompromise, Approval: e.approval(town)}); err != nil {
			t.Fatal(err)
		}
		e.clock.advance(time.Minute)
		if _, err := e.client.RecordPINReset(ctx, PINResetRequest{CardID: mine.ID(), PIN: PINAuth, Approval: e.approval(town)}); err != nil {
			t.Fatal(err)
		}
		// A refused call changed nothing and is not in the history.
		if _, err := e.client.RecordPINReset(ctx, PINResetRequest{CardID: mine.ID(), PIN: PINAuth}); !errors.Is(err, ErrNoApproval) {
			t.Fatalf("a reset without approval: %v", err)
		}

		// The platform's part, faked: "token-X" is X's assertion, and
		// holder "pid-mine" has the card's authentication certificate.
		holders := Holders{
			Verify: func(_ context.Context, token string) (string, string, error) {
				pid, ok := strings.CutPrefix(token, "token-")
				if !ok {
					return "", "", fmt.Errorf("%w: bad signature", ErrNoCardLogin)
				}
				return pid, "kiosk-1", nil
			},
			Certificates: func(_ context.Context, pid string) ([]LinkageRef, error) {
				switch pid {
				case "pid-mine":
					return []LinkageRef{{Kind: Auth, Serial: is.Auth.Serial}}, nil
				case "pid-theirs":
					return []LinkageRef{{Kind: Auth, Serial: theirs.Auth.Serial}}, nil
				}
				return []LinkageRef{{Kind: Auth, Serial: "no-such-serial"}}, nil
			},
		}
		mux := http.NewServeMux()
		e.c.HistoryRoutes(mux, holders)
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)

		got, err := MyHistory(ctx, nil, srv.URL, "token-pid-mine")
		if err != nil {
			t.Fatal(err)
		}
		muni, office, clerk, super := "須坂市 (202070)", "長野県須坂市 電子証明書窓口", clerkAt(town).StaffNumber, supervisorAt(town).StaffNumber
		want := []HistoryEntry{
			{Municipality: muni, Office: office, StaffNumber: clerk, ApproverNumber: super, Action: "pin-reset", Detail: "auth", CardID: mine.ID()},
			{Municipality: muni, Office: office, StaffNumber: clerk, ApproverNumber: super, Action: "revoke", Detail: "sign", CardID: mine.ID()},
			{Municipality: muni, Office: office, StaffNumber: clerk, Action: "card", CardID: mine.ID()},
			{Municipality: muni, Office: office, StaffNumber: clerk, Action: "issue-card", CardID: mine.ID()},
		}
		if diff := cmp.Diff(want, got, cmp.Transformer("noTime", func(e HistoryEntry) HistoryEntry { e.At = time.Time{}; return e })); diff != "" {
			t.Errorf("history (-want +got):\n%s", diff)
		}
		for i := 1; i < len(got); i++ {
			if got[i].At.After(got[i-1].At) {
				t.Errorf("entry %d (%s) is newer than entry %d", i, got[i].At, i-1)
			}
		}
		if ja, en := got[0].What(); ja != "利用者証明用電子証明書の暗証番号の初期化・再設定" || en != "Authentication PIN reset" {
			t.Errorf("a PIN reset reads %q / %q", ja, en)
		}

		// The answer names nobody: no name, no platform ID of the staff.
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/jpki/v1/my-history", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer token-pid-mine")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, secret := range []string{clerkAt(town).Name, supervisorAt(town).Name, clerkAt(town).PlatformID, supervisorAt(town).PlatformID, is.Sign.Serial} {
			if strings.Contains(string(body), secret) {
				t.Errorf("the history shows %q: %s", secret, body)
			}
		}

		for _, tc := range []struct {
			name, token string
			want        int
		}{
			{"another holder", "token-pid-theirs", 1},
			{"a holder of no card", "token-pid-nobody", 0},
		} {
			es, err := MyHistory(ctx, nil, srv.URL, tc.token)
			if err != nil || len(es) != tc.want {
				t.Errorf("%s: %d entries, %v; want %d", tc.name, len(es), err, tc.want)
			}
			for _, e := range es {
				if e.CardID == mine.ID() {
					t.Errorf("%s sees the card %s", tc.name, mine.ID())
				}
			}
		}
		if _, err := MyHistory(ctx, nil, srv.URL, "forged"); !errors.Is(err, CodeNoCardLogin) {
			t.Errorf("a forged assertion: %v, want %s", err, CodeNoCardLogin)
		}

		audit, err := e.c.AuditSince(ctx, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		var reads []string
		for _, a := range audit {
			if a.Action == AuditOwnHistory {
				reads = append(reads, a.Actor+" "+a.Subject)
			}
		}
		// The reads share the test clock's time: compare them sorted.
		slices.Sort(reads)
		wantReads := []string{"resident:pid-mine terminal kiosk-1 " + mine.ID(), "resident:pid-mine terminal kiosk-1 " + mine.ID(),
			"resident:pid-nobody terminal kiosk-1 ", "resident:pid-theirs terminal kiosk-1 " + theirs.CardID}
		if diff := cmp.Diff(wantReads, reads); diff != "" {
			t.Errorf("audit rows of the reads (-want +got):\n%s", diff)
		}
	})
}
