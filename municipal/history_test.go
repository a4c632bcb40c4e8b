package municipal

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/staff/stafftest"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// holderAttributes stands in for the platform's attributes of a test
// holder, whose platform ID is "holder:CODE:PERSON_ID": the JPKI
// attributes are the register's record, as they are for the demo's cards.
func holderAttributes(ctx context.Context, s *Service, platformID string) (*jpki.HolderAttributes, error) {
	parts := strings.SplitN(platformID, ":", 3)
	if len(parts) != 3 || parts[0] != "holder" {
		return nil, fmt.Errorf("no test holder %q", platformID)
	}
	p, err := s.Person(ctx, parts[1], parts[2])
	if err != nil {
		return nil, err
	}
	return &jpki.HolderAttributes{Name: p.Name, Kana: p.Kana, BirthDate: p.BirthDate, Sex: p.Sex, Address: p.Address, Municipality: p.Municipality}, nil
}

// TestResidentHistory: 酒田 一郎 reads, with his card login, who read and
// changed his record: the clerk's view and edit by office and staff
// number (never the clerk's name), a kiosk certificate without a clerk,
// nobody else's rows, and, the next time, his own read. A request without
// a valid card login is refused; a holder the register does not know has
// an empty history.
func TestResidentHistory(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, w, srv, st := muniServer(t, db)
		ichiro, hikari := muniPerson(t, w, "酒田　一郎"), muniPerson(t, w, "本間　光")
		base := "/municipal/062049/office/"

		// A kiosk print, then the clerk opens his record, changes it and
		// opens 本間 光's.
		if r, _ := muniPost(t, srv, "062049", w.Keys["062049"].Relay, `{"person_id":"`+ichiro.PersonID+`","type":"juminhyo","copies":1}`); r.Status != http.StatusOK {
			t.Fatalf("kiosk print: %d", r.Status)
		}
		clerk := srv.With(t).Fresh()
		st.signIn(clerk, "062049")
		clerk.Step(webtest.Step{Name: "open his record", Path: base + "persons/" + ichiro.PersonID})
		clerk.Step(webtest.Step{Name: "change it", Path: base + "persons/" + ichiro.PersonID, WantStatus: http.StatusSeeOther,
			Form: url.Values{"address": {"山形県酒田市本町二丁目２番２号"}, "status": {"resident"}}})
		clerk.Step(webtest.Step{Name: "open another record", Path: base + "persons/" + hikari.PersonID})

		holder := "holder:062049:" + ichiro.PersonID
		login := st.iss.Assertion(stafftest.Login{PlatformID: holder, Kind: platform.Kiosk, Terminal: "kiosk-sakata-1", At: st.now()})
		history := func(name, assertion string) []HistoryEntry {
			t.Helper()
			var out struct{ Entries []HistoryEntry }
			srv.With(t).Bearer(assertion).Step(webtest.Step{Name: name, Path: "/municipal/v1/my-history",
				WantNotContains: []string{clerkName("062049"), "clerk-062049", hikari.PersonID},
				Check:           func(t testing.TB, r *webtest.Response) { r.JSON(&out) }})
			return out.Entries
		}
		desk := "酒田市 戸籍住民課 窓口"
		want := []HistoryEntry{
			{Municipality: "酒田市 (062049)", Office: desk, StaffNumber: "R-062049", Action: AuditEdit, Detail: "address"},
			{Municipality: "酒田市 (062049)", Office: desk, StaffNumber: "R-062049", Action: AuditView},
			{Municipality: "酒田市 (062049)", Action: AuditIssue},
		}
		ignoreAt := cmpopts.IgnoreFields(HistoryEntry{}, "At")
		got := history("his history", login)
		// The edit changed the address the register matches by: the
		// platform's attributes follow the register in this test, as the
		// centre's do after a change of address at the counter.
		if len(got) != len(want) {
			t.Fatalf("history %+v", got)
		}
		if !strings.HasPrefix(got[2].Detail, "juminhyo 062049-") {
			t.Errorf("the kiosk row's detail %q", got[2].Detail)
		}
		got[2].Detail = ""
		if d := cmp.Diff(want, got, ignoreAt); d != "" {
			t.Errorf("history (-want +got):\n%s", d)
		}
		if ja, en := got[0].What(); ja != "住民記録の変更（address）" || en != "Your residence record was changed (address)" {
			t.Errorf("what: %q %q", ja, en)
		}
		again := history("his history again", login)
		if len(again) != len(want)+1 || again[0].Action != AuditOwnHistory || again[0].Office != "" || again[0].StaffNumber != "" {
			t.Errorf("the second read: %+v", again)
		}

		// The register's own rows keep the clerk's office and number
		// in their columns.
		es, err := s.Audit(ctx, "062049", 50)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			switch e.Action {
			case AuditView, AuditEdit:
				if e.Office != "municipal:062049" || e.StaffNumber != "R-062049" || !strings.Contains(e.Actor, clerkName("062049")) {
					t.Errorf("a clerk's row %+v", e)
				}
			case AuditOwnHistory:
				if e.Office != "" || e.Actor != "resident:"+holder+" terminal kiosk-sakata-1" || e.PersonID != ichiro.PersonID {
					t.Errorf("the resident's row %+v", e)
				}
			}
		}

		// Refusals and strangers.
		for _, tc := range []struct{ name, assertion string }{
			{"no card login", ""},
			{"another issuer's", stafftest.NewIssuer(t).Assertion(stafftest.Login{PlatformID: holder, Kind: platform.Kiosk, At: st.now()})},
		} {
			srv.With(t).Bearer(tc.assertion).Step(webtest.Step{Name: tc.name, Path: "/municipal/v1/my-history", WantStatus: http.StatusUnauthorized,
				WantContains: []string{`"no_card_login"`, "カードでのログイン"}})
		}
		stranger := "holder:202070:" + muniPerson(t, w, "須坂　花子").PersonID
		if got := history("須坂市's resident", st.iss.Assertion(stafftest.Login{PlatformID: stranger, Kind: platform.Kiosk, At: st.now()})); len(got) != 0 {
			t.Errorf("須坂 花子's history %+v", got)
		}
	})
}
