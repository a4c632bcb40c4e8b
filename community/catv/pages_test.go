package catv_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/community/catv"
	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/staff"
	"github.com/mynaplat/mynaplat/staff/stafftest"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/web"
)

// TestSenderPages: without a sender's session the page sends to the
// sign-in and a send is refused; the operator's sender sends to everyone
// (as the operator) and is refused a message to one person, which stores
// nothing; the town's sender sends to one person (as the town); the
// subscribers' inboxes show exactly what reached them.
func TestSenderPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := &clock{time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
		svc, err := catv.NewService(ctx, db, clk.now, nil)
		if err != nil {
			t.Fatal(err)
		}
		op := svc.Operator("suko")
		if err := op.SetProfile(ctx, catv.Profile{Name: "須高ケーブルテレビ", Town: "須坂市"}); err != nil {
			t.Fatal(err)
		}
		for _, s := range []catv.Subscriber{
			{PlatformID: "hanako", Terminal: "tv-1", Number: "S-1", Area: "north"},
			{PlatformID: "kenta", Terminal: "tv-1", Number: "S-1", Area: "north"},
		} {
			if err := op.Subscribe(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		iss := stafftest.NewIssuer(t)
		dir := stafftest.Directory(t, db, clk.now)
		stafftest.Grant(t, dir, staff.Grant{PlatformID: "op-staff", Name: "須高 一郎", Office: "catv:suko", Role: staff.CATVSender, StaffNumber: "C-01"})
		stafftest.Grant(t, dir, staff.Grant{PlatformID: "town-staff", Name: "須坂 市子", Office: "catv:suko", Role: staff.CATVTownSender, StaffNumber: "T-01"})
		site, err := web.New(ctx, web.Options{DB: db, Now: clk.now})
		if err != nil {
			t.Fatal(err)
		}
		p, err := catv.NewPages(svc, site)
		if err != nil {
			t.Fatal(err)
		}
		gate, err := staff.NewOfficeGate(staff.GateConfig{Site: site, Directory: dir, Keys: iss.Keys, Desk: "/staffdesk/test/", Now: clk.now}, p.StaffOffice())
		if err != nil {
			t.Fatal(err)
		}
		p.SetStaff(gate)
		mux := http.NewServeMux()
		site.Routes(mux)
		p.Routes(mux)
		w := webtest.Start(t, site.Protect(mux))
		const home = "/catv/suko/office/"
		form := func(scope, area, person, title string) url.Values {
			return url.Values{"scope": {scope}, "area": {area}, "person": {person}, "title_ja": {title}, "title_en": {title + " (en)"},
				"body_ja": {"本文"}, "body_en": {"Text"}}
		}
		stafftest.NeedStaff(t, w.With(t), home, []webtest.Step{
			{Name: "the form", Path: home},
			{Name: "a send", Path: home + "send", Form: form("all", "", "", "x")},
		})

		c := w.With(t).Fresh()
		iss.SignInAs(c, home, "op-staff", clk.now())
		c.Step(webtest.Step{Name: "the operator's form", Path: home, WantContains: []string{`id="sender">須高ケーブルテレビ`},
			WantNotContains: []string{`value="person"`}})
		c.Step(webtest.Step{Name: "to everyone", Path: home + "send", Form: form("all", "", "", "点検"), WantContains: []string{`id="sent"`}})
		c.Step(webtest.Step{Name: "to one person, as the operator", Path: home + "send", Form: form("person", "", "hanako", "個人"),
			WantStatus: http.StatusUnprocessableEntity, WantContains: []string{`id="problem"`}})

		c = w.With(t).Fresh()
		iss.SignInAs(c, home, "town-staff", clk.now())
		c.Step(webtest.Step{Name: "the town's form", Path: home, WantContains: []string{`id="sender">須坂市`, `value="person"`}})
		c.Step(webtest.Step{Name: "to hanako, as the town", Path: home + "send", Form: form("person", "", "hanako", "健診"), WantContains: []string{`id="sent"`}})
		c.Step(webtest.Step{Name: "to the area, without English", Path: home + "send",
			Form:       url.Values{"scope": {"area"}, "area": {"north"}, "title_ja": {"断水"}, "body_ja": {"本文"}},
			WantStatus: http.StatusUnprocessableEntity, WantContains: []string{`id="problem"`, `value="断水"`}})

		for pid, want := range map[string][]string{"hanako": {"健診 town", "点検 catv"}, "kenta": {"点検 catv"}} {
			ms, err := op.Inbox(ctx, pid, "tv-1")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range ms {
				got = append(got, m.TitleJA+" "+m.SenderKind)
			}
			if len(got) != len(want) || got[0] != want[0] {
				t.Errorf("%s's inbox %v, want %v", pid, got, want)
			}
		}
	})
}
