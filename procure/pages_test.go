package procure

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/staff"
	"github.com/mynaplat/mynaplat/staff/stafftest"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/web"
)

const officerPID = "pid-officer"

type pagesEnv struct {
	*env
	iss *stafftest.Issuer
	web *webtest.Client
}

func newPagesEnv(t *testing.T, db *store.DB) *pagesEnv {
	e := &pagesEnv{env: newEnv(t, db), iss: stafftest.NewIssuer(t)}
	dir := stafftest.Directory(t, db, e.clock.now)
	stafftest.Grant(t, dir, staff.Grant{PlatformID: officerPID, Name: "審査 太郎", Office: staff.ProcureOffice, Role: staff.ProcureOfficer,
		StaffNumber: "Q-01"})
	site, err := web.New(e.ctx, web.Options{DB: db, Now: e.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPages(e.svc, site)
	if err != nil {
		t.Fatal(err)
	}
	gate, err := staff.NewOfficeGate(staff.GateConfig{Site: site, Directory: dir, Keys: e.iss.Keys, Desk: "/staffdesk/test/", Now: e.clock.now},
		p.StaffOffice())
	if err != nil {
		t.Fatal(err)
	}
	p.SetStaff(gate)
	mux := http.NewServeMux()
	site.Routes(mux)
	p.Routes(mux)
	e.web = webtest.Start(t, site.Protect(mux))
	return e
}

// TestOfficeNeedsStaff: without an officer's session every office page sends to the sign-in and
// every decision is refused, and nothing of the application shows.
func TestOfficeNeedsStaff(t *testing.T) {
	e := newPagesEnv(t, storetest.SQLite(t))
	f := e.mustApply(agentA, e.person(agentA), application(e.power(numberA, agentA, 365, MatterQualify)))
	home := officeHome
	steps := []webtest.Step{
		{Name: "the list", Path: home},
		{Name: "an application", Path: home + f.ApplicationID},
		{Name: "a grant", Path: home + f.ApplicationID + "/grant", Form: url.Values{"from": {"2026-12-01"}, "until": {"2028-11-30"}}},
		{Name: "a correction", Path: home + f.ApplicationID + "/correction", Form: url.Values{"note_ja": {"x"}, "note_en": {"x"}}},
		{Name: "a refusal", Path: home + f.ApplicationID + "/refuse", Form: url.Values{"code": {"tax_unpaid"}}},
	}
	stafftest.NeedStaff(t, e.web.With(t), home, steps, nameA)
	if d := must(e.svc.AgentApplication(e.ctx, agentA, f.ApplicationID)); d.State != StateSubmitted {
		t.Errorf("state %s after the refused decisions", d.State)
	}
}

// TestOfficeReview: an officer signs in, opens the application (an audited
// read), asks for a correction, and after the agent signs again grants it;
// the public list shows it.
func TestOfficeReview(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newPagesEnv(t, db)
		card := e.person(agentA)
		power := e.power(numberA, agentA, 3*365, MatterQualify)
		f := e.mustApply(agentA, card, application(power))
		c := e.web.With(t).Fresh()
		e.iss.SignInAs(c, officeHome, officerPID, e.clock.now())
		c.Step(webtest.Step{Name: "the list", Path: officeHome, WantContains: []string{nameA, `data-id="` + f.ApplicationID + `"`}})
		c.Step(webtest.Step{Name: "the application", Path: officeHome + f.ApplicationID,
			WantContains: []string{numberA, "情報処理", `id="grant"`, "須坂 一郎", `id="outlasting"`, `data-power="` + power + `"`}})
		c.Step(webtest.Step{Name: "a correction without English", Path: officeHome + f.ApplicationID + "/correction",
			Form: url.Values{"note_ja": {"営業年数を確認してください。"}}, WantStatus: http.StatusSeeOther,
			WantLocation: officeHome + f.ApplicationID})
		c.Step(webtest.Step{Name: "the refusal shown", Path: officeHome + f.ApplicationID, WantContains: []string{"補正の内容"}})
		c.Step(webtest.Step{Name: "a correction", Path: officeHome + f.ApplicationID + "/correction",
			Form: url.Values{"note_ja": {"営業年数を確認してください。"}, "note_en": {"Check the years in business."}}, WantStatus: http.StatusSeeOther,
			WantLocation: officeHome})
		if d := must(e.svc.AgentApplication(e.ctx, agentA, f.ApplicationID)); d.State != StateCorrection || d.NoteJA != "営業年数を確認してください。" {
			t.Fatalf("after the correction: %s %q", d.State, d.NoteJA)
		}
		e.mustApply(agentA, card, application(power))
		c.Step(webtest.Step{Name: "the second version", Path: officeHome + f.ApplicationID, WantContains: []string{"第2版"}})
		from, until := e.clock.now().In(jst).Format("2006-01-02"), e.clock.days(730).In(jst).Format("2006-01-02")
		c.Step(webtest.Step{Name: "the grant", Path: officeHome + f.ApplicationID + "/grant", Form: url.Values{"from": {from}, "until": {until}},
			WantStatus: http.StatusSeeOther, WantLocation: officeHome})
		q := must(e.svc.Qualification(e.ctx, numberA))
		if got := jstDate(q.ValidUntil); got != until {
			t.Errorf("valid until %s, want %s", got, until)
		}
		c.Fresh().Step(webtest.Step{Name: "the public list", Path: "/procure/list", WantContains: []string{nameA, q.Code, `data-grade="`}})
		var reads int
		for _, a := range must(e.svc.Audit(e.ctx, f.ApplicationID)) {
			if a.Action == "read" {
				reads++
				if a.Actor == "" {
					t.Errorf("a read without its actor")
				}
			}
		}
		if reads != 3 {
			t.Errorf("%d audited reads, want 3", reads)
		}
	})
}
