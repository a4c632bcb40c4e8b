package counter_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/counter"
	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/staff"
	"github.com/mynaplat/mynaplat/staff/stafftest"
	"github.com/mynaplat/mynaplat/wareki"
)

// The centre and the staff directory agree on the role that approves.
func TestSupervisorRole(t *testing.T) {
	if string(staff.CounterSupervisor) != jpki.CounterSupervisorRole {
		t.Errorf("staff.CounterSupervisor %q, jpki.CounterSupervisorRole %q", staff.CounterSupervisor, jpki.CounterSupervisorRole)
	}
}

// counterRoutes are every route of the counter behind the gate.
func counterRoutes(card, req string) []webtest.Step {
	c, q := "/counter/cards/"+card, "/counter/requests/"+req
	return []webtest.Step{
		{Name: "the cards", Path: "/counter/"},
		{Name: "the issue form", Path: "/counter/issue"},
		{Name: "an issue", Path: "/counter/issue", Form: issueForm()},
		{Name: "a card", Path: c},
		{Name: "a renewal", Path: c + "/renew", Form: url.Values{}},
		{Name: "a change of address", Path: c + "/address", Form: url.Values{"address": {"長野県須坂市"}}},
		{Name: "a request", Path: c + "/requests", Form: url.Values{"action": {"loss"}, "identity": {"card"}}},
		{Name: "a request's page", Path: q},
		{Name: "a request run", Path: q, Form: url.Values{}},
		{Name: "a request cancelled", Path: q + "/cancel", Form: url.Values{}},
		{Name: "a PIN pad", Path: q + "/pin"},
		{Name: "a PIN reset", Path: q + "/pin", Form: url.Values{"pin": {"1234"}, "pin_confirm": {"1234"}}},
	}
}

// TestCounterRoutesNeedStaff: without a staff session, and with 酒田市's
// counter clerk refused at 須坂市's counter, every route of the counter
// sends a GET to the sign-in (303) and refuses anything else (403),
// showing no resident and changing nothing.
func TestCounterRoutesNeedStaff(t *testing.T) {
	e := newCounterEnv(t)
	loc, _ := e.follow(t, e.post(t, "/counter/issue", "/counter/issue", issueForm()))
	id := strings.TrimPrefix(loc, "/counter/cards/")
	req := e.request(t, loc, url.Values{"action": {"loss"}})
	rid := strings.TrimPrefix(req, "/counter/requests/")
	before := e.current(t, id)
	try := func(c *webtest.Client) {
		t.Helper()
		// A session with its CSRF token first, so that the forms reach the
		// gate rather than the site's forgery check.
		c.Step(webtest.Step{Name: "the sign-in page", Path: "/counter/signin", WantContains: []string{`id="staff-signin"`}})
		stafftest.NeedStaff(t, c, counter.Home, counterRoutes(id, rid), "須坂　花子", "スザカ")
	}
	try(e.web.Fresh())
	c := e.web.Fresh()
	state := stafftest.State(c, counter.Home)
	c.Step(webtest.Step{Name: "酒田市's clerk at 須坂市's counter", Path: "/counter/login", WantStatus: http.StatusForbidden,
		Form:         url.Values{"assertion": {e.iss.Assertion(stafftest.StaffLogin(sakataID, e.now()))}, "state": {state}},
		WantContains: []string{`data-code="staff_other_office"`}})
	try(c)
	if infos, _ := e.cards.List(); len(infos) != 1 {
		t.Errorf("%d cards after the refusals, want 1", len(infos))
	}
	if diff := e.current(t, id); diff[jpki.Auth] != before[jpki.Auth] || diff[jpki.Sign] != before[jpki.Sign] {
		t.Errorf("certificates changed: %v → %v", before, diff)
	}
}

// otherTownCard is a card of a resident of 酒田市, issued by the
// program's own counter.
func (e *counterEnv) otherTownCard(t *testing.T) string {
	t.Helper()
	cd, err := e.cards.Create(card.Spec{AuthPIN: "1234", SignPIN: "ABC123", TextPIN: "1234", MyNumber: "123456789018",
		Name: "酒田　次郎", Address: "山形県酒田市本町一丁目１番地", BirthDate: "19800101", Sex: "1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.centre.IssueCard(context.Background(), jpki.Resident{Name: "酒田　次郎", Kana: "サカタ　ジロウ",
		BirthDate: time.Date(1980, 1, 1, 0, 0, 0, 0, wareki.JST()), Sex: jpki.Male, Address: "山形県酒田市本町一丁目１番地", Municipality: "062049"}, cd); err != nil {
		t.Fatal(err)
	}
	return cd.ID()
}

// callRefusals counts the centre's audited refusals of the clerk's calls
// with code.
func (e *counterEnv) callRefusals(t *testing.T, code string) int {
	t.Helper()
	var n int
	if err := e.db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM jpki_counter_calls WHERE result = $1 AND staff_platform_id = $2 AND town = $3`,
		"REFUSED:"+code, clerkID, town).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// staffRefusals counts the directory's audited refusals of approvals with
// code, naming platformID.
func (e *counterEnv) staffRefusals(t *testing.T, platformID, code string) int {
	t.Helper()
	rows, err := e.dir.Audit(context.Background(), counter.OfficeID(town), 100)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, a := range rows {
		if a.PlatformID == platformID && a.Result == "REFUSED:"+code && a.Action == "approve" {
			n++
		}
	}
	return n
}

// TestCounterRefusals: another town's card, a procedure run without its
// approval, the clerk approving their own request, a clerk (not a
// supervisor) or another counter's clerk approving, and an approval after
// its time: each is refused with a page in Japanese and English that says
// so, changes nothing, and leaves an audit row naming the person.
func TestCounterRefusals(t *testing.T) {
	e := newCounterEnv(t)
	loc, _ := e.follow(t, e.post(t, "/counter/issue", "/counter/issue", issueForm()))
	id := strings.TrimPrefix(loc, "/counter/cards/")
	live := e.current(t, id)
	sakata := e.otherTownCard(t)

	for _, lang := range []struct{ code, other, approval, self, notSuper, late string }{
		{"ja", "ほかの市区町村の住民です", "責任者の承認が必要です", "自分の申請を承認できません", "責任者の権限が必要です", "承認の受付時間を過ぎました"},
		{"en", "lives in another municipality", "This procedure needs a supervisor", "cannot approve their own request", "does not let you approve this request", "The time to approve this request has passed"},
	} {
		e.web.SetCookie("lang", lang.code)
		c := e.web.With(t)
		// Another town's card: its page, a request, the issue to its town.
		n := e.callRefusals(t, "other_town")
		c.Step(webtest.Step{Name: lang.code + ": another town's card", Path: "/counter/cards/" + sakata, WantStatus: http.StatusForbidden,
			WantContains: []string{lang.other}, WantNotContains: []string{"酒田　次郎"}})
		r := e.post(t, loc, "/counter/cards/"+sakata+"/requests", url.Values{"action": {"loss"}, "identity": {"documents"}})
		if r.Status != http.StatusForbidden || !strings.Contains(r.Body, lang.other) {
			t.Errorf("%s: a request for another town's card: %d", lang.code, r.Status)
		}
		if got := e.callRefusals(t, "other_town"); got != n+2 {
			t.Errorf("%s: %d audited refusals of another town's card, want %d", lang.code, got, n+2)
		}
		form := issueForm()
		form.Set("municipality", "062049")
		if r := e.post(t, "/counter/issue", "/counter/issue", form); r.Status != http.StatusUnprocessableEntity {
			t.Errorf("%s: issue to another town: %d", lang.code, r.Status)
		}

		// Run without the approval: the centre refuses and says so.
		n = e.callRefusals(t, "approval_missing")
		req := e.request(t, loc, url.Values{"action": {"loss"}})
		if r := e.post(t, req, req, url.Values{}); r.Status != http.StatusForbidden || !strings.Contains(r.Body, lang.approval) {
			t.Errorf("%s: a loss without approval: %d\n%s", lang.code, r.Status, r.Body)
		}
		if got := e.callRefusals(t, "approval_missing"); got != n+1 {
			t.Errorf("%s: %d audited refusals without approval, want %d", lang.code, got, n+1)
		}

		approvals := []struct {
			name, by, code, want string
			wait                 time.Duration
		}{
			{"self-approval", clerkID, string(staff.CodeSelfApproval), lang.self, 0},
			{"a clerk approves", clerk2ID, string(staff.CodeNotApprover), lang.notSuper, 0},
			{"another counter's clerk approves", sakataID, string(staff.CodeOtherOffice), "", 0},
			{"too late", supervisorID, string(staff.CodeApprovalExpired), lang.late, 6 * time.Minute},
		}
		for _, tc := range approvals {
			t.Run(lang.code+" "+tc.name, func(t *testing.T) {
				req := e.request(t, loc, url.Values{"action": {"revoke"}, "cert": {"sign:" + live[jpki.Sign]}, "reason": {"keyCompromise"}})
				before := e.staffRefusals(t, tc.by, tc.code)
				if tc.code == string(staff.CodeOtherOffice) {
					before = 0
				}
				var r *webtest.Response
				if tc.wait > 0 {
					// The supervisor's terminal got the request's state in
					// time, and posts it after the time is up.
					page := e.web.With(t).Get(req)
					m := deskStateRe.FindStringSubmatch(html.UnescapeString(page.Body))
					if m == nil {
						t.Fatalf("no approval state on %s", req)
					}
					*e.clock = e.clock.Add(tc.wait)
					defer func() { *e.clock = e.clock.Add(-tc.wait) }()
					e.web.With(t).Step(webtest.Step{Name: "the request past its time", Path: req, WantContains: []string{`id="request-expired"`}})
					r = e.web.With(t).PostForm("/counter/login", url.Values{"assertion": {e.iss.Assertion(stafftest.StaffLogin(tc.by, e.now()))}, "state": {m[1]}})
				} else {
					r = e.approve(t, req, tc.by)
				}
				if r.Status != http.StatusForbidden || !strings.Contains(r.Body, `data-code="`+tc.code+`"`) || !strings.Contains(r.Body, tc.want) {
					t.Fatalf("status %d, want 403 %s with %q:\n%s", r.Status, tc.code, tc.want, r.Body)
				}
				if tc.code != string(staff.CodeOtherOffice) {
					if got := e.staffRefusals(t, tc.by, tc.code); got != before+1 {
						t.Errorf("%d audited refusals, want %d", got, before+1)
					}
				}
				// Nothing approved: running it is refused.
				if r := e.post(t, req, req, url.Values{}); r.Status != http.StatusForbidden {
					t.Errorf("run after a refused approval: %d", r.Status)
				}
			})
		}
		if got := e.current(t, id); got[jpki.Sign] != live[jpki.Sign] || got[jpki.Auth] != live[jpki.Auth] {
			t.Fatalf("%s: the refusals changed the certificates: %v → %v", lang.code, live, got)
		}
	}

	// The approved revocation runs once; the centre's audit names the
	// clerk, the supervisor and how the person was identified.
	e.web.SetCookie("lang", "ja")
	req := e.approved(t, loc, url.Values{"action": {"revoke"}, "cert": {"sign:" + live[jpki.Sign]}, "reason": {"keyCompromise"}, "identity": {"documents"}})
	if r := e.post(t, req, req, url.Values{}); r.Status != http.StatusSeeOther {
		t.Fatalf("the approved revocation: %d\n%s", r.Status, r.Body)
	}
	e.web.With(t).Step(webtest.Step{Name: "the request is used up", Path: req, WantStatus: http.StatusNotFound})
	var staffCol, approver, identity string
	if err := e.db.QueryRowContext(context.Background(), `SELECT staff, approver, identity FROM jpki_audit WHERE action = 'revoke' AND subject = $1`,
		id+" sign:"+live[jpki.Sign]).Scan(&staffCol, &approver, &identity); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(staffCol, clerkID) || !strings.Contains(staffCol, "臥竜　翼") || !strings.Contains(staffCol, "C-202070-01") ||
		!strings.Contains(approver, supervisorID) || !strings.Contains(approver, "counter-supervisor") || identity != "documents" {
		t.Errorf("audit row: staff %q, approver %q, identity %q", staffCol, approver, identity)
	}
}
