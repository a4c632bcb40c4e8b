package eligibility

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/staff"
	"github.com/mynaplat/mynaplat/staff/stafftest"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/web"
)

// officeEnv is the back office on a test server, with a clerk of insurer
// A and one of insurer 06230012 in the staff directory, and a browser on
// it that does not follow redirects.
type officeEnv struct {
	s   *Service
	web *webtest.Client
	iss *stafftest.Issuer
	// at is the gate's and the directory's clock: it stands still.
	at time.Time
}

const officeInsurerA = "39123456"

// The test clerks: 庄内 花子 of insurer A, 鳥海 太郎 of 06230012.
const (
	clerkA      = "pid-clerk-a"
	clerkOther  = "pid-clerk-other"
	clerkAActor = "staff:pid-clerk-a 庄内 花子 (insurer:39123456, insurer-clerk, I-39123456-01)"
)

func newOfficeEnv(t *testing.T, db *store.DB) *officeEnv {
	t.Helper()
	ctx := context.Background()
	s := open(t, db)
	if _, err := s.AddInsurer(ctx, officeInsurerA, "酒田市後期高齢者医療"); err != nil {
		t.Fatal(err)
	}
	e := &officeEnv{s: s, iss: stafftest.NewIssuer(t), at: day(2026, 11, 24)}
	now := func() time.Time { return e.at }
	dir := stafftest.Directory(t, db, now)
	stafftest.Grant(t, dir, staff.Grant{PlatformID: clerkA, Name: "庄内 花子", Office: InsurerOffice(officeInsurerA),
		Role: staff.InsurerClerk, StaffNumber: "I-39123456-01"})
	stafftest.Grant(t, dir, staff.Grant{PlatformID: clerkOther, Name: "鳥海 太郎", Office: InsurerOffice("06230012"),
		Role: staff.InsurerClerk, StaffNumber: "I-06230012-01"})
	site, err := web.New(ctx, web.Options{DB: db, Now: s.now})
	if err != nil {
		t.Fatal(err)
	}
	op, err := s.OfficePages(site)
	if err != nil {
		t.Fatal(err)
	}
	gate, err := staff.NewOfficeGate(staff.GateConfig{Site: site, Directory: dir, Keys: e.iss.Keys, Desk: "/staffdesk/test/", Now: now}, op.StaffOffice())
	if err != nil {
		t.Fatal(err)
	}
	op.SetStaff(gate)
	mux := http.NewServeMux()
	site.Routes(mux)
	op.Routes(mux)
	e.web = webtest.Start(t, site.Protect(mux))
	return e
}

// signIn signs c in at insurer's back office as platformID, with a card
// login at the staff terminal.
func (e *officeEnv) signIn(c *webtest.Client, insurer, platformID string) {
	e.iss.SignInAs(c, InsurerHome(insurer), platformID, e.at)
}

// insurerRoutes are every route of insurer's back office behind the gate,
// for the record id.
func insurerRoutes(insurer, id string) []webtest.Step {
	home := InsurerHome(insurer)
	return []webtest.Step{
		{Name: "the list", Path: home},
		{Name: "a search", Path: home + "?kana=サカタ"},
		{Name: "the add form", Path: home + "new"},
		{Name: "an add", Path: home + "new", Form: url.Values{"symbol": {"1"}, "number": {"2"}}},
		{Name: "a record", Path: home + "records/" + id},
		{Name: "an end", Path: home + "records/" + id + "/end", Form: url.Values{"lost_on": {"2026-12-01"}}},
		{Name: "a job change", Path: home + "records/" + id + "/change-job", Form: url.Values{"insurer": {"06230012"}}},
		{Name: "the queue", Path: home + "queue"},
		{Name: "a decision", Path: home + "queue/x/decide", Form: url.Values{"decision": {"approve"}}},
	}
}

// TestInsurerRoutesNeedStaff: without a staff session, and with another
// insurer's clerk signed in, every route of the back office sends a GET to
// the sign-in (303) and refuses anything else (403), and shows and changes
// nothing.
func TestInsurerRoutesNeedStaff(t *testing.T) {
	ctx := context.Background()
	e := newOfficeEnv(t, storetest.SQLite(t))
	own, err := e.s.AddInsured(ctx, insured(officeInsurerA, "1", ichiro, day(2020, 4, 1)))
	if err != nil {
		t.Fatal(err)
	}
	try := func(c *webtest.Client) {
		t.Helper()
		stafftest.NeedStaff(t, c, InsurerHome(officeInsurerA), insurerRoutes(officeInsurerA, own.ID), "酒田　一郎", "サカタ")
	}
	try(e.web.With(t))
	// Another insurer's clerk is no clerk here.
	c := e.web.With(t).Fresh()
	e.signIn(c, "06230012", clerkOther)
	c.Step(webtest.Step{Name: "their own office", Path: InsurerHome("06230012")})
	try(c)
	// The old key login is gone (only the office's GET pages match its
	// path), and an unknown insurer has no office.
	c.Step(webtest.Step{Name: "the old key login", Path: "/insurer/login", Form: url.Values{"insurer": {officeInsurerA}, "key": {"k"}, "staff": {"x"}},
		WantStatus: http.StatusMethodNotAllowed})
	c.Step(webtest.Step{Name: "an unknown insurer", Path: InsurerHome("99999999"), WantStatus: http.StatusNotFound})
	if log, err := e.s.AccessLog(ctx, officeInsurerA, 10); err != nil || len(log) != 0 {
		t.Errorf("access rows after refusals: %+v %v", log, err)
	}
	if rec, err := e.s.ViewRecord(ctx, Staff{officeInsurerA, "test"}, own.ID); err != nil || !rec.LostOn.IsZero() {
		t.Errorf("the record after refusals: %+v %v", rec, err)
	}
}

// TestOfficePagesKeepToTheirInsurer: another insurer's record is a 404, a
// page of personal data leaves an access row, and the record page never
// shows the platform ID.
func TestOfficePagesKeepToTheirInsurer(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newOfficeEnv(t, db)
		c := e.web.With(t)
		e.signIn(c, officeInsurerA, clerkA)
		home := InsurerHome(officeInsurerA)
		c.Step(webtest.Step{Name: "the list with the staff strip", Path: home, WantContains: []string{`id="staff-strip"`, "庄内 花子",
			"保険者事務担当", "I-39123456-01", "staff-logout"}})
		own, err := e.s.AddInsured(ctx, insured(officeInsurerA, "1", ichiro, day(2020, 4, 1)))
		if err != nil {
			t.Fatal(err)
		}
		foreign, err := e.s.AddInsured(ctx, insured("06230012", "2", officeNamesake, day(2020, 4, 1)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.Link(ctx, "pid-secret-ichiro", ichiro); err != nil {
			t.Fatal(err)
		}
		r := c.Get(home + "records/" + own.ID)
		if code, body := r.Status, r.Body; code != http.StatusOK || !strings.Contains(body, "紐付け済み") || strings.Contains(body, "pid-secret-ichiro") || !strings.Contains(body, "令和2年4月1日") {
			t.Errorf("own record: %d, linked shown %v, platform ID shown %v", code, strings.Contains(body, "紐付け済み"), strings.Contains(body, "pid-secret"))
		}
		if code := c.Get(home + "records/" + foreign.ID).Status; code != http.StatusNotFound {
			t.Errorf("another insurer's record: %d", code)
		}
		for _, q := range []string{"kana=さかた", "kana=ｻｶﾀ", "number=1", "kana=イチ%25"} {
			body := c.Get(home + "?" + q).Body
			found := strings.Contains(body, home+"records/"+own.ID)
			if found != (q != "kana=イチ%25") || strings.Contains(body, foreign.ID) {
				t.Errorf("search %s: own found %v, foreign shown %v", q, found, strings.Contains(body, foreign.ID))
			}
		}
		log, err := e.s.AccessLog(ctx, officeInsurerA, 100)
		if err != nil {
			t.Fatal(err)
		}
		var views, searches int
		for _, a := range log {
			if a.Actor != clerkAActor {
				t.Errorf("actor %q", a.Actor)
			}
			switch a.Action {
			case ActionViewRecord:
				views++
			case ActionSearch:
				searches++
			}
		}
		if views != 1 || searches != 5 { // the list is a search too
			t.Errorf("access log: %d views, %d searches: %+v", views, searches, log)
		}
	})
}
