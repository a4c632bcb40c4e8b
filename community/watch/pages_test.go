package watch_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/community/watch"
	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/staff"
	"github.com/mynaplat/mynaplat/staff/stafftest"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/web"
)

// TestStaffPage: without a staff session the board sends to the sign-in
// and a handling is refused; the centre's staff member sees everyone with
// today's state and the flags, is refused a handling without a note (in
// its words, nothing changed), handles the flag with a note and registers
// an absence; a staff member of another office kind is not let in.
func TestStaffPage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		if _, err := f.svc.Input(ctx, "ichiro", "tv-2", watch.Answer{Feeling: 3, BP: 1, Choice: 1}); err != nil {
			t.Fatal(err)
		}
		iss := stafftest.NewIssuer(t)
		dir := stafftest.Directory(t, db, f.clk.now)
		stafftest.Grant(t, dir, staff.Grant{PlatformID: "nurse", Name: "保健 師子", Office: "watch:nambu", Role: staff.WatchStaff, StaffNumber: "H-01"})
		stafftest.Grant(t, dir, staff.Grant{PlatformID: "clerk", Name: "天萬 公彦", Office: "municipal:313891", Role: staff.RegistryClerk, StaffNumber: "R-01"})
		site, err := web.New(ctx, web.Options{DB: db, Now: f.clk.now})
		if err != nil {
			t.Fatal(err)
		}
		p, err := watch.NewPages(f.svc, site)
		if err != nil {
			t.Fatal(err)
		}
		gate, err := staff.NewOfficeGate(staff.GateConfig{Site: site, Directory: dir, Keys: iss.Keys, Desk: "/staffdesk/test/", Now: f.clk.now}, p.StaffOffice())
		if err != nil {
			t.Fatal(err)
		}
		p.SetStaff(gate)
		mux := http.NewServeMux()
		site.Routes(mux)
		p.Routes(mux)
		w := webtest.Start(t, site.Protect(mux))
		home := watch.OfficeHome("nambu")
		rows, _, err := f.svc.Board(ctx, "test")
		if err != nil {
			t.Fatal(err)
		}
		var flag int64
		for _, r := range rows {
			for _, fl := range r.Flags {
				flag = fl.ID
			}
		}
		handle := fmt.Sprintf("%sflags/%d/handle", home, flag)
		stafftest.NeedStaff(t, w.With(t), home, []webtest.Step{
			{Name: "the board", Path: home},
			{Name: "a handling", Path: handle, Form: url.Values{"note": {"x"}}},
		})

		c := w.With(t).Fresh()
		iss.SignInAs(c, home, "nurse", f.clk.now())
		c.Step(webtest.Step{Name: "the board", Path: home, WantContains: []string{"法勝寺 トメ", "南部 一郎", `data-state="answered"`,
			fmt.Sprintf(`id="flag-%d"`, flag), "答えが基準外"}})
		c.Step(webtest.Step{Name: "no note", Path: handle, Form: url.Values{"note": {""}}, WantStatus: http.StatusUnprocessableEntity,
			WantContains: []string{`id="problem"`, "対応の記録（メモ）を書いてください。", fmt.Sprintf(`id="flag-%d"`, flag)}})
		c.Step(webtest.Step{Name: "handled", Path: handle, Form: url.Values{"note": {"電話で確認、訪問予定"}}, WantStatus: http.StatusSeeOther})
		c.Step(webtest.Step{Name: "the board after", Path: home, WantContains: []string{`id="handled"`, "電話で確認、訪問予定", "H-01 保健 師子"},
			WantNotContains: []string{fmt.Sprintf(`id="flag-%d"`, flag)}})
		c.Step(webtest.Step{Name: "an absence", Path: home + "absences", Form: url.Values{"person": {"tome"}, "from": {"2026-12-08"}, "to": {"2026-12-10"}},
			WantStatus: http.StatusSeeOther})
		c.Step(webtest.Step{Name: "a bad absence", Path: home + "absences", Form: url.Values{"person": {"tome"}, "from": {"2026-12-10"}, "to": {"2026-12-08"}},
			WantStatus: http.StatusUnprocessableEntity, WantContains: []string{"不在の期間が正しくありません"}})
		f.clk.set(f.clk.now().Add(4 * time.Hour))
		c = w.With(t).Fresh()
		iss.SignInAs(c, home, "nurse", f.clk.now())
		c.Step(webtest.Step{Name: "the board at noon", Path: home, WantContains: []string{`data-state="absent"`, `data-state="missing"`}})
		if got := actions(t, f.svc, "ichiro"); got[len(got)-1] != "handle ok" {
			t.Errorf("ichiro's audit %v", got)
		}

		other := w.With(t).Fresh()
		other.Step(webtest.Step{Name: "a clerk of the town hall signs in", Path: home + "login",
			Form:       url.Values{"assertion": {iss.Assertion(stafftest.StaffLogin("clerk", f.clk.now()))}, "state": {stafftest.State(other, home)}},
			WantStatus: http.StatusForbidden, WantContains: []string{"staff_other_office"}, WantNotContains: []string{"法勝寺 トメ"}})
	})
}
