package evac_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/mynaplat/mynaplat/community/evac"
	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/staff"
	"github.com/mynaplat/mynaplat/staff/stafftest"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/web"
)

// TestOfficePages: every page needs the officer's session; an order
// without areas is refused with nothing issued; an order issued goes to
// its board; the lookup by name and the check-in by name (marked on the
// board); a shelter closed; the lift; the audit names the officer.
func TestOfficePages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newSetup(t, db)
		iss := stafftest.NewIssuer(t)
		dir := stafftest.Directory(t, db, s.clk.now)
		stafftest.Grant(t, dir, staff.Grant{PlatformID: "officer", Name: "浜崎 恵子", Office: "evac:minami", Role: staff.EvacOfficer, StaffNumber: "M-01"})
		site, err := web.New(ctx, web.Options{DB: db, Now: s.clk.now})
		if err != nil {
			t.Fatal(err)
		}
		p, err := evac.NewPages(s.svc, s.svc.NewHub(0), site)
		if err != nil {
			t.Fatal(err)
		}
		gate, err := staff.NewOfficeGate(staff.GateConfig{Site: site, Directory: dir, Keys: iss.Keys, Desk: "/staffdesk/test/", Now: s.clk.now}, p.StaffOffice())
		if err != nil {
			t.Fatal(err)
		}
		p.SetStaff(gate)
		mux := http.NewServeMux()
		site.Routes(mux)
		p.Routes(mux)
		w := webtest.Start(t, site.Protect(mux))
		const home = "/evac/minami/office/"
		stafftest.NeedStaff(t, w.With(t), home, []webtest.Step{
			{Name: "the office", Path: home},
			{Name: "an order", Path: home + "issue", Form: url.Values{"area": {"hiwasa"}, "level": {"4"}}},
			{Name: "a check-in by name", Path: home + "checkin", Form: url.Values{"person": {"umi"}, "shelter": {"school"}}},
		})
		if os, err := s.svc.Orders(ctx); err != nil || len(os) != 0 {
			t.Fatalf("orders without a session: %+v, %v", os, err)
		}
		c := w.With(t).Fresh()
		iss.SignInAs(c, home, "officer", s.clk.now())
		c.Step(webtest.Step{Name: "the office", Path: home, WantContains: []string{`id="area-hiwasa"`, `id="open-hall"`, `id="close-school"`}})
		c.Step(webtest.Step{Name: "no areas", Path: home + "issue", Form: url.Values{"level": {"4"}},
			WantStatus: http.StatusUnprocessableEntity, WantContains: []string{`id="problem"`}})
		c.Step(webtest.Step{Name: "an order for 日和佐浦", Path: home + "issue", Form: url.Values{"area": {"hiwasa"}, "level": {"4"}, "drill": {"1"}},
			WantStatus: http.StatusSeeOther, WantLocation: home + "orders/1"})
		c.Step(webtest.Step{Name: "its board", Path: home + "orders/1", WantContains: []string{`id="household-h-1"`, "美波 海", `id="lift"`, "board.js"}})
		c.Step(webtest.Step{Name: "look up 空", Path: home + "?name=" + url.QueryEscape("空"), WantContains: []string{`id="found"`, "美波 空"},
			WantNotContains: []string{"美波 海"}})
		c.Step(webtest.Step{Name: "check 空 in by name", Path: home + "checkin", Form: url.Values{"person": {"sora"}, "shelter": {"school"}},
			WantContains: []string{`id="checked-in"`}})
		c.Step(webtest.Step{Name: "again", Path: home + "checkin", Form: url.Values{"person": {"sora"}, "shelter": {"school"}},
			WantStatus: http.StatusUnprocessableEntity, WantContains: []string{`id="problem"`}})
		c.Step(webtest.Step{Name: "the board marks it", Path: home + "orders/1", WantContains: []string{"氏名で受付"}})
		c.Step(webtest.Step{Name: "close the school", Path: home + "shelters/school/close", Form: url.Values{}, WantStatus: http.StatusSeeOther})
		c.Step(webtest.Step{Name: "lift", Path: home + "orders/1/lift", Form: url.Values{}, WantStatus: http.StatusSeeOther})
		if o, err := s.svc.Order(ctx, 1); err != nil || o.Live() {
			t.Errorf("after the lift: %+v, %v", o, err)
		}
		if sh, err := s.svc.Shelters(ctx); err != nil || sh[2].ID != "school" || sh[2].Open {
			t.Errorf("the school after its close: %+v, %v", sh, err)
		}
		want := []string{"issue  invalid_order", "issue 1 ok", "board 1 ok", "report 1 ok", "lookup 空 ok", "checkin school sora ok",
			"checkin school sora already_checked_in", "board 1 ok", "report 1 ok", "shelter_close school ok", "lift 1 ok"}
		got := actions(t, s.svc, "M-01")
		for i := range got {
			got[i] = got[i][:len(got[i])-len(" ")-len(lastWord(got[i]))]
		}
		if len(got) != len(want) {
			t.Fatalf("the officer's audit: %q, want %q", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("audit row %d: %q, want %q", i, got[i], want[i])
			}
		}
	})
}

// lastWord is the text after the last space (the audit row's terminal).
func lastWord(s string) string {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == ' ' {
			return s[i+1:]
		}
	}
	return s
}
