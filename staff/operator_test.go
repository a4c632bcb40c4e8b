package staff_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/internal/trace"
	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/staff"
	"github.com/mynaplat/mynaplat/staff/stafftest"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/web"
)

// opClock is the test's settable clock.
type opClock struct{ t time.Time }

func (c *opClock) now() time.Time { return c.t }

// opWorld is a server with the operator's pages and one municipal back
// office (its first page only), both behind gates on one directory: an
// operator ("op-1", the signed-in operator's own grant), a second
// operator and a registry clerk of 酒田市 ("clerk-1").
type opWorld struct {
	srv   *webtest.Client
	dir   *staff.Directory
	iss   *stafftest.Issuer
	clock *opClock
	// clerkGrant is the clerk's grant.
	clerkGrant staff.Grant
}

const (
	opHome     = "/staff/operator/"
	officeHome = "/office/"
)

func newOpWorld(t *testing.T, db *store.DB) *opWorld {
	t.Helper()
	c := &opClock{time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)}
	w := &opWorld{dir: stafftest.Directory(t, db, c.now), iss: stafftest.NewIssuer(t), clock: c}
	stafftest.Grant(t, w.dir, staff.Grant{PlatformID: "op-1", Name: "霞ヶ関　直人", Office: staff.OperatorOffice, Role: staff.PlatformOperator, StaffNumber: "P-01"})
	stafftest.Grant(t, w.dir, staff.Grant{PlatformID: "op-2", Name: "永田　町子", Office: staff.OperatorOffice, Role: staff.PlatformOperator, StaffNumber: "P-02"})
	w.clerkGrant = stafftest.Grant(t, w.dir, staff.Grant{PlatformID: "clerk-1", Name: "最上　和也", Office: "municipal:062049", Role: staff.RegistryClerk, StaffNumber: "R-062049-01"})
	site, err := web.New(context.Background(), web.Options{DB: db, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	base := staff.GateConfig{Site: site, Keys: w.iss.Keys, Desk: "/staffdesk/test/", Now: c.now}
	gate, err := w.dir.OperatorGate(base)
	if err != nil {
		t.Fatal(err)
	}
	op, err := staff.NewOperator(w.dir, gate)
	if err != nil {
		t.Fatal(err)
	}
	// The clerk's office: the smallest office behind a gate, to see a
	// revoked grant end a live session.
	officeCfg := base
	officeCfg.Directory = w.dir
	officeCfg.Office = func(*http.Request) (string, string, error) { return "municipal:062049", "酒田市", nil }
	officeCfg.Home = func(string) string { return officeHome }
	officeGate, err := staff.NewGate(officeCfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	site.Routes(mux)
	op.Routes(mux)
	mux.HandleFunc("GET /office/{$}", officeGate.Only(func(w http.ResponseWriter, r *http.Request, s *staff.Session) {
		w.Write([]byte("office of " + s.Grant.Name))
	}))
	mux.HandleFunc("GET /office/signin", officeGate.SignIn)
	mux.HandleFunc("POST /office/login", officeGate.Login)
	w.srv = webtest.Start(t, trace.Middleware(site.Protect(mux)))
	return w
}

func (w *opWorld) signIn(c *webtest.Client, home, platformID string) {
	w.iss.SignInAs(c, home, platformID, w.clock.t)
}

var grantIDRe = regexp.MustCompile(`<tr class="grant" data-id="([0-9a-f]+)" data-state="(\w+)" data-office="([^"]+)">\s*<td[^>]*>([^<]+)<`)

// grantsOn are the grants a list page shows: ID → "state office name".
func grantsOn(body string) map[string]string {
	out := map[string]string{}
	for _, m := range grantIDRe.FindAllStringSubmatch(body, -1) {
		out[m[1]] = m[2] + " " + m[3] + " " + strings.TrimSpace(m[4])
	}
	return out
}

// TestOperatorGrants: the operator signs in with their card, grants a
// role (the form refuses what the command line refuses, in both
// languages, and grants nothing), finds it in the filtered list, and
// revokes the clerk's grant: the clerk, signed in at their office, is
// refused at their next request. Every step is in staff_audit under the
// operator's name.
func TestOperatorGrants(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newOpWorld(t, db)
		clerk := w.srv.With(t).Fresh()
		w.signIn(clerk, officeHome, "clerk-1")
		clerk.Step(webtest.Step{Name: "the clerk at work", Path: officeHome, WantContains: []string{"office of 最上　和也"}})

		op := w.srv.With(t).Fresh()
		w.signIn(op, opHome, "op-1")
		list := op.Step(webtest.Step{Name: "the grants", Path: opHome,
			WantContains: []string{`id="staff-strip"`, "霞ヶ関　直人", "P-01", "R-062049-01", `id="grant-form"`}})
		if got := grantsOn(list.Body); len(got) != 3 || got[w.clerkGrant.ID] != "active municipal:062049 最上　和也" {
			t.Errorf("the list shows %v", got)
		}

		form := func(edit func(url.Values)) url.Values {
			v := url.Values{"platform_id": {"pid-new"}, "name": {"鳥海　花子"}, "office": {"municipal:062049"}, "role": {"registry-clerk"},
				"number": {"R-062049-02"}, "from": {"2026-04-01"}, "until": {"2027-04-01"}}
			if edit != nil {
				edit(v)
			}
			return v
		}
		refusals := []struct {
			name  string
			edit  func(url.Values)
			field string
			ja    string
		}{
			{"no platform ID", func(v url.Values) { v.Set("platform_id", " ") }, "platform_id", "プラットフォームIDを入力"},
			{"no name", func(v url.Values) { v.Set("name", "") }, "name", "氏名を1〜40文字"},
			{"unknown office", func(v url.Values) { v.Set("office", "school:1") }, "office", "事務所は"},
			{"no role", func(v url.Values) { v.Set("role", "") }, "role", "役割を選んで"},
			{"a role of another office", func(v url.Values) { v.Set("role", "insurer-clerk") }, "role", "では使えません"},
			{"no staff number", func(v url.Values) { v.Set("number", "") }, "number", "職員番号を"},
			{"a bad first day", func(v url.Values) { v.Set("from", "4/1") }, "from", "開始日は YYYY-MM-DD"},
			{"backwards", func(v url.Values) { v.Set("until", "2026-03-01") }, "until", "終了日は開始日より後"},
		}
		for _, tt := range refusals {
			op.Step(webtest.Step{Name: "refused: " + tt.name, Path: opHome + "grants", Form: form(tt.edit), WantStatus: http.StatusBadRequest,
				WantContains: []string{`id="grant-problem"`, tt.ja, `id="g-` + tt.field + `" name="` + tt.field + `"`, "何も登録されていません"}})
		}
		op.Step(webtest.Step{Name: "refused, in English", Path: opHome + "grants?lang=en", Form: form(func(v url.Values) { v.Set("role", "insurer-clerk") }),
			WantStatus: http.StatusBadRequest, WantContains: []string{"a insurer-clerk works at a insurer office, not municipal:062049", "Nothing was granted."}})
		if gs, _ := w.dir.List(ctx, ""); len(gs) != 3 {
			t.Fatalf("refused forms granted something: %d grants", len(gs))
		}

		op.Step(webtest.Step{Name: "grant", Path: opHome + "grants", Form: form(nil), WantStatus: http.StatusSeeOther, WantLocation: opHome})
		list = op.Step(webtest.Step{Name: "after the grant", Path: opHome, WantContains: []string{"鳥海　花子", "R-062049-02"}})
		if kind, text := list.Flash(); kind != "ok" || !strings.Contains(text, "鳥海　花子") {
			t.Errorf("flash %s %q", kind, text)
		}
		gs, err := w.dir.List(ctx, "municipal:062049")
		if err != nil || len(gs) != 2 {
			t.Fatalf("grants of 酒田市 %+v, %v", gs, err)
		}
		jst := time.FixedZone("JST", 9*3600)
		// Both were made at the test clock's one instant: find the new one.
		g := gs[0]
		if g.PlatformID != "pid-new" {
			g = gs[1]
		}
		if g.PlatformID != "pid-new" || g.Role != staff.RegistryClerk || !g.ValidFrom.Equal(time.Date(2026, 4, 1, 0, 0, 0, 0, jst)) ||
			!g.ValidUntil.Equal(time.Date(2027, 4, 1, 0, 0, 0, 0, jst)) {
			t.Errorf("the grant %+v", g)
		}

		// The filter.
		filtered := op.Step(webtest.Step{Name: "operators only", Path: opHome + "?office=platform-operator&state=active"})
		if got := grantsOn(filtered.Body); len(got) != 2 {
			t.Errorf("the operators' grants: %v", got)
		}
		if !strings.Contains(filtered.Body, "あなたの権限") {
			t.Errorf("the operator's own grant is not marked as theirs")
		}

		// Their own grant is not revoked here.
		list = op.Step(webtest.Step{Name: "the grants", Path: opHome})
		var own string
		for id, s := range grantsOn(list.Body) {
			if strings.HasSuffix(s, "霞ヶ関　直人") {
				own = id
			}
		}
		op.Step(webtest.Step{Name: "revoke their own", Path: opHome + "grants/" + own + "/revoke", Form: url.Values{},
			WantStatus: http.StatusConflict, WantContains: []string{`id="operator-problem"`, "自分の権限はここでは取り消せません"}})
		op.Step(webtest.Step{Name: "revoke an unknown grant", Path: opHome + "grants/nope/revoke", Form: url.Values{}, WantStatus: http.StatusNotFound})

		// Revoke the clerk's grant: their next request is refused.
		op.Step(webtest.Step{Name: "revoke the clerk", Path: opHome + "grants/" + w.clerkGrant.ID + "/revoke", Form: url.Values{},
			WantStatus: http.StatusSeeOther, WantLocation: opHome})
		list = op.Step(webtest.Step{Name: "after the revocation", Path: opHome + "?state=revoked"})
		if got := grantsOn(list.Body); len(got) != 1 || got[w.clerkGrant.ID] != "revoked municipal:062049 最上　和也" {
			t.Errorf("revoked grants %v", got)
		}
		clerk.Step(webtest.Step{Name: "the clerk's next request", Path: officeHome, WantStatus: http.StatusSeeOther, WantLocation: officeHome + "signin"})
		clerk.Step(webtest.Step{Name: "the clerk is told why", Path: officeHome + "signin", WantContains: []string{"権限が取り消された"}})
		refused := w.srv.With(t).Fresh()
		state := stafftest.State(refused, officeHome)
		refused.Step(webtest.Step{Name: "the clerk signs in again", Path: officeHome + "login", WantStatus: http.StatusForbidden,
			Form:         url.Values{"assertion": {w.iss.Assertion(stafftest.StaffLogin("clerk-1", w.clock.t))}, "state": {state}},
			WantContains: []string{`data-code="staff_grant_revoked"`}})

		// The audit names the operator for every action.
		es, err := w.dir.Audit(ctx, "", 100)
		if err != nil {
			t.Fatal(err)
		}
		var grant, revoke, lists int
		for _, e := range es {
			switch {
			case e.Action == "grant" && e.PlatformID == "pid-new":
				grant++
				if !strings.Contains(e.Detail, "by staff:op-1 霞ヶ関　直人") {
					t.Errorf("the grant's row does not name the operator: %+v", e)
				}
			case e.Action == "revoke" && e.PlatformID == "clerk-1":
				revoke++
				if !strings.Contains(e.Detail, "by staff:op-1 霞ヶ関　直人") || !strings.Contains(e.Detail, "P-01") {
					t.Errorf("the revocation's row does not name the operator: %+v", e)
				}
			case e.Action == "list-grants":
				lists++
				if e.PlatformID != "op-1" || e.Name != "霞ヶ関　直人" || e.Role != staff.PlatformOperator {
					t.Errorf("a list's row does not name the operator: %+v", e)
				}
			}
		}
		if grant != 1 || revoke != 1 || lists == 0 {
			t.Errorf("audit: %d grant rows, %d revoke rows, %d list rows", grant, revoke, lists)
		}
	})
}

// TestOperatorPagesNeedTheOperator: without a staff session every page of
// the operator sends to the sign-in (GET) or refuses and changes nothing
// (POST); a clerk signed in at another office, who signs in here with
// their own card, is refused as another office's staff and gets no page.
func TestOperatorPagesNeedTheOperator(t *testing.T) {
	w := newOpWorld(t, storetest.SQLite(t))
	ctx := context.Background()
	steps := []webtest.Step{
		{Name: "the list", Path: opHome},
		{Name: "the list, filtered", Path: opHome + "?office=municipal:062049"},
		{Name: "grant", Path: opHome + "grants", Form: url.Values{"platform_id": {"x"}, "name": {"x"}, "office": {staff.OperatorOffice},
			"role": {"platform-operator"}, "number": {"X"}}},
		{Name: "revoke", Path: opHome + "grants/" + w.clerkGrant.ID + "/revoke", Form: url.Values{}},
	}
	anon := w.srv.With(t).Fresh()
	anon.Step(webtest.Step{Name: "a session", Path: opHome + "signin"}) // so that the forms carry a CSRF token
	stafftest.NeedStaff(t, anon, opHome, steps, "最上　和也", "R-062049-01")

	clerk := w.srv.With(t).Fresh()
	w.signIn(clerk, officeHome, "clerk-1")
	clerk.Step(webtest.Step{Name: "the clerk at their office", Path: officeHome})
	state := stafftest.State(clerk, opHome)
	clerk.Step(webtest.Step{Name: "the clerk signs in at the operator's", Path: opHome + "login", WantStatus: http.StatusForbidden,
		Form:         url.Values{"assertion": {w.iss.Assertion(stafftest.StaffLogin("clerk-1", w.clock.t))}, "state": {state}},
		WantContains: []string{`data-code="staff_other_office"`}})
	for _, s := range steps {
		s.WantStatus = http.StatusSeeOther
		if s.Form != nil {
			s.WantStatus = http.StatusForbidden
		}
		s.WantNotContains = []string{"R-062049-01"}
		clerk.Step(s)
	}
	if g, err := w.dir.Get(ctx, w.clerkGrant.ID); err != nil || !g.RevokedAt.IsZero() {
		t.Errorf("the clerk's grant after the refusals: %+v, %v", g, err)
	}
	if gs, _ := w.dir.List(ctx, staff.OperatorOffice); len(gs) != 2 {
		t.Errorf("the refusals granted something: %d operators", len(gs))
	}
}
