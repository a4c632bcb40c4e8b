package municipal

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/internal/trace"
	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/staff"
	"github.com/mynaplat/mynaplat/staff/stafftest"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/web"
)

// muniServer serves the API and the back office of a seeded service, and
// returns a browser on it that does not follow redirects.
func muniServer(t *testing.T, db *store.DB) (*Service, *DemoWorld, *webtest.Client, *officeStaff) {
	t.Helper()
	return muniServerWith(t, db, nil)
}

// officeStaff are the back offices' staff of a test server: a registry
// clerk with a grant at each municipality of the demo world (platform ID
// "clerk-CODE", staff number "R-CODE"), the directory, and a stand-in for
// the platform's assertions.
type officeStaff struct {
	iss   *stafftest.Issuer
	dir   *staff.Directory
	now   func() time.Time
	clock *muniClock
}

// clerkName is the name of the test clerk of code's office.
func clerkName(code string) string { return "職員 " + code }

// signIn signs c in at code's back office as the clerk of code's office.
func (st *officeStaff) signIn(c *webtest.Client, code string) {
	st.signInAs(c, code, "clerk-"+code)
}

// signInAs signs c in at code's back office as platformID.
func (st *officeStaff) signInAs(c *webtest.Client, code, platformID string) {
	base := "/municipal/" + code + "/office/"
	stafftest.SignIn(c, base, base+"login", st.iss.Assertion(stafftest.StaffLogin(platformID, st.now())))
}

// muniServerWith is muniServer with a registration queue for the back
// office (none when q is nil).
func muniServerWith(t testing.TB, db *store.DB, q RegistrationQueue) (*Service, *DemoWorld, *webtest.Client, *officeStaff) {
	t.Helper()
	s, w, c := muniSeeded(t, db)
	st := &officeStaff{iss: stafftest.NewIssuer(t), dir: stafftest.Directory(t, db, c.now), now: c.now, clock: c}
	for code := range w.Keys {
		stafftest.Grant(t, st.dir, staff.Grant{PlatformID: "clerk-" + code, Name: clerkName(code), Office: OfficeID(code),
			Role: staff.RegistryClerk, StaffNumber: "R-" + code})
	}
	site, err := web.New(context.Background(), web.Options{DB: db, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPages(s, site, nil)
	if err != nil {
		t.Fatal(err)
	}
	if q != nil {
		p.SetRegistrations(q)
	}
	gate, err := staff.NewOfficeGate(staff.GateConfig{Site: site, Directory: st.dir, Keys: st.iss.Keys, Desk: "/staffdesk/test/", Now: c.now}, p.StaffOffice())
	if err != nil {
		t.Fatal(err)
	}
	p.SetStaff(gate)
	p.SetResidents(Residents{Keys: st.iss.Keys, Now: c.now, Attributes: func(ctx context.Context, platformID string) (*jpki.HolderAttributes, error) {
		return holderAttributes(ctx, s, platformID)
	}})
	mux := http.NewServeMux()
	site.Routes(mux)
	p.Routes(mux)
	return s, w, webtest.Start(t, trace.Middleware(site.Protect(mux))), st
}

// muniPost asks code's issuance API for a certificate with key (none when
// key is "").
func muniPost(t *testing.T, web *webtest.Client, code, key, body string) (*webtest.Response, []byte) {
	t.Helper()
	r := web.With(t).Bearer(key).PostJSON("/municipal/"+code+"/v1/certificates", body)
	return r, []byte(r.Body)
}

func TestIssuanceAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		_, w, srv, _ := muniServer(t, db)
		ichiro := muniPerson(t, w, "酒田　一郎")
		key := w.Keys["062049"].Relay
		body := func(id, typ string) string {
			return `{"person_id":"` + id + `","type":"` + typ + `","options":{"relay":false},"copies":1}`
		}
		ok := `{"person_id":"` + ichiro.PersonID + `","type":"juminhyo","copies":2}`

		resp, b := muniPost(t, srv, "062049", key, ok)
		if resp.Status != http.StatusOK || resp.Header.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(b, []byte("%PDF-")) {
			t.Fatalf("status %d, type %s", resp.Status, resp.Header.Get("Content-Type"))
		}
		var facts Certificate
		if err := json.Unmarshal([]byte(resp.Header.Get(CertificateHeader)), &facts); err != nil {
			t.Fatal(err)
		}
		if facts.Type != Juminhyo || facts.FeeYen != 400 || facts.Pages != 1 || facts.Copies != 2 || !strings.HasPrefix(facts.Number, "062049-") {
			t.Errorf("facts %+v", facts)
		}
		muniWant(t, muniText(t, b), []string{"住民票の写し", "酒田　一郎", facts.Number}, nil)

		for _, tc := range []struct {
			name, code, key, body string
			status                int
			code2                 httpapi.Code
		}{
			{"no key", "062049", "", ok, 401, CodeUnauthorized},
			{"wrong key", "062049", "muni_relay_062049_nope", ok, 401, CodeUnauthorized},
			{"another town's key", "062049", w.Keys["202070"].Relay, ok, 401, CodeUnauthorized},
			{"a staff key", "062049", "muni_staff_062049_not-a-relay-key", ok, 401, CodeUnauthorized},
			{"unknown field", "062049", key, body(ichiro.PersonID, "juminhyo"), 400, CodeInvalidRequest},
			{"bad json", "062049", key, `{"person_id":`, 400, CodeInvalidRequest},
			{"two objects", "062049", key, ok + ok, 400, CodeInvalidRequest},
			{"unknown type", "062049", key, `{"person_id":"x","type":"passport"}`, 400, CodeInvalidRequest},
			{"unknown person", "062049", key, `{"person_id":"nobody","type":"juminhyo"}`, 404, CodeNotFound},
			{"moved out", "062049", key, `{"person_id":"` + muniPerson(t, w, "最上　川男").PersonID + `","type":"juminhyo"}`, 409, CodeMovedOut},
			{"support measure", "062049", key, `{"person_id":"` + muniPerson(t, w, "月山　静").PersonID + `","type":"juminhyo"}`, 403, CodeSupportMeasure},
			{"honseki elsewhere", "062049", key, `{"person_id":"` + ichiro.PersonID + `","type":"koseki-zenbu"}`, 404, CodeHonsekiElsewhere},
			{"too long", "062049", key, `{"person_id":"` + muniPerson(t, w, "アレクサンドラ＝エカテリーナ・マリア・ヴィクトリア・フォン・ホーエンツォレルン＝ジグマリンゲン　サカタ").PersonID + `","type":"juminhyo"}`, 422, CodeTooLong},
		} {
			t.Run(tc.name, func(t *testing.T) {
				resp, b := muniPost(t, srv, tc.code, tc.key, tc.body)
				var p httpapi.Problem
				if err := json.Unmarshal(b, &p); err != nil {
					t.Fatalf("status %d, body not JSON: %v", resp.Status, err)
				}
				if resp.Status != tc.status || p.Code != tc.code2 || p.MessageJA == "" || p.MessageEN == "" {
					t.Errorf("status %d, problem %+v; want %d %s", resp.Status, p, tc.status, tc.code2)
				}
				if resp.Header.Get(CertificateHeader) != "" || bytes.Contains(b, []byte("%PDF")) {
					t.Error("a refusal carries a certificate")
				}
			})
		}

		// The catalogue.
		var offers []Offer
		if err := json.Unmarshal([]byte(srv.With(t).Bearer(w.Keys["062014"].Relay).Get("/municipal/062014/v1/catalogue").Body), &offers); err != nil || len(offers) != 3 {
			t.Errorf("山形市 catalogue %+v, %v (want the 戸籍 and 附票 only)", offers, err)
		}
	})
}

// officeRoutes are every route of a back office, for the person id.
func officeRoutes(code, id string) []webtest.Step {
	base := "/municipal/" + code + "/office/"
	edit := url.Values{"address": {"x"}, "status": {"resident"}}
	return []webtest.Step{
		{Name: "the register", Path: base},
		{Name: "a person", Path: base + "persons/" + id},
		{Name: "an edit", Path: base + "persons/" + id, Form: edit},
		{Name: "the audit", Path: base + "audit"},
		{Name: "the queue", Path: base + "registrations"},
		{Name: "a decision", Path: base + "registrations/x", Form: url.Values{"decision": {"approve"}}},
	}
}

// TestOfficeRoutesNeedStaff: without a staff session every route of the
// back office sends to the sign-in (303) or refuses (403), and shows
// nothing of the register.
func TestOfficeRoutesNeedStaff(t *testing.T) {
	_, w, srv, st := muniServer(t, storetest.SQLite(t))
	id := muniPerson(t, w, "本間　光").PersonID
	try := func(c *webtest.Client, code string) {
		t.Helper()
		for _, s := range officeRoutes(code, id) {
			s.WantStatus, s.WantLocation = http.StatusSeeOther, "/municipal/"+code+"/office/signin"
			if s.Form != nil {
				s.WantLocation = ""
				s.WantStatus = http.StatusForbidden
			}
			s.WantNotContains = []string{"本間", "中町"}
			c.Step(s)
		}
	}
	try(srv.With(t), "062049")
	// Another town's clerk is no clerk here.
	c := srv.With(t).Fresh()
	st.signIn(c, "202070")
	try(c, "062049")
	// The old shared-key login is gone.
	c.Step(webtest.Step{Name: "the old key login", Path: "/municipal/062049/office/login",
		Form: url.Values{"key": {"muni_staff_062049_an-old-staff-key"}, "staff": {"佐藤"}}, WantStatus: http.StatusForbidden,
		WantContains: []string{`data-code="state"`}})
}

func TestOfficePages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s, w, srv, st := muniServer(t, db)
		c := srv.With(t)
		id := muniPerson(t, w, "本間　光").PersonID
		base := "/municipal/062049/office/"

		st.signIn(c, "062049")
		c.Run([]webtest.Step{
			{Name: "list with the staff strip", Path: base, WantContains: []string{"本間　光", `id="staff-strip"`, clerkName("062049"),
				"住民記録担当", "R-062049", "staff-logout"}},
			{Name: "person", Path: base + "persons/" + id, WantContains: []string{"山形県酒田市中町一丁目４番１０号", `id="staff-strip"`}},
			{Name: "edit", Path: base + "persons/" + id, Form: url.Values{"address": {"山形県酒田市中町二丁目１番１号"}, "status": {"moved-out"}},
				WantStatus: http.StatusSeeOther},
		})
		p, err := s.Person(context.Background(), "062049", id)
		if err != nil || p.Status != MovedOut || p.Address != "山形県酒田市中町二丁目１番１号" {
			t.Errorf("after edit: %+v, %v", p, err)
		}
		c.Step(webtest.Step{Name: "another town's office: the sign-in", Path: "/municipal/202070/office/persons/" + id, WantStatus: http.StatusSeeOther})
		es, err := s.Audit(context.Background(), "062049", 10)
		want := "staff:clerk-062049 " + clerkName("062049") + " (municipal:062049, registry-clerk, R-062049)"
		if err != nil || len(es) != 2 || es[0].Action != "edit" || es[1].Action != "view" || es[0].Actor != want {
			t.Errorf("audit %+v, %v; want rows by %s", es, err, want)
		}
		c.Step(webtest.Step{Name: "audit page", Path: base + "audit", WantContains: []string{"status:resident-&gt;moved-out", want}})
		c.Step(webtest.Step{Name: "sign out", Path: base + "logout", Form: url.Values{}, WantStatus: http.StatusSeeOther})
		c.Step(webtest.Step{Name: "signed out", Path: base, WantStatus: http.StatusSeeOther})
	})
}

// TestOfficeSignInRefusals: every refusal of a sign-in has its page and,
// where the person is known, an audit row naming them.
func TestOfficeSignInRefusals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		_, _, srv, st := muniServer(t, db)
		ctx := context.Background()
		base := "/municipal/062049/office/"
		office := OfficeID("062049")
		now := st.now()
		stafftest.Grant(t, st.dir, staff.Grant{PlatformID: "retired", Name: "退職 者", Office: office, Role: staff.RegistryClerk, StaffNumber: "R-9",
			ValidFrom: now.Add(-48 * time.Hour), ValidUntil: now.Add(-time.Hour)})
		gone := stafftest.Grant(t, st.dir, staff.Grant{PlatformID: "gone", Name: "取消 者", Office: office, Role: staff.RegistryClerk, StaffNumber: "R-8"})
		if _, err := st.dir.Revoke(ctx, gone.ID); err != nil {
			t.Fatal(err)
		}
		login := func(l stafftest.Login) string { return st.iss.Assertion(l) }
		staffAt := func(who string) stafftest.Login { return stafftest.StaffLogin(who, now) }
		replayed := login(staffAt("clerk-062049"))
		other := stafftest.NewIssuer(t)
		tests := []struct {
			name, assertion, code string
			badState              bool
		}{
			{"no grant", login(staffAt("stranger")), string(staff.CodeNoGrant), false},
			{"another office's grant", login(staffAt("clerk-202070")), string(staff.CodeOtherOffice), false},
			{"an expired grant", login(staffAt("retired")), string(staff.CodeExpired), false},
			{"a revoked grant", login(staffAt("gone")), string(staff.CodeRevoked), false},
			{"a resident's login", login(stafftest.Login{PlatformID: "clerk-062049", Kind: platform.Kiosk, Terminal: "kiosk-1", At: now}), string(staff.CodeWrongLogin), false},
			{"an eligibility login", login(stafftest.Login{PlatformID: "clerk-062049", Purpose: platform.PurposeEligibility, Kind: platform.StaffDesk, At: now}), string(staff.CodeWrongLogin), false},
			{"an old login", login(stafftest.StaffLogin("clerk-062049", now.Add(-3*time.Minute))), string(staff.CodeWrongLogin), false},
			{"another issuer's assertion", other.Assertion(staffAt("clerk-062049")), "assertion", false},
			{"no assertion", "", "assertion", false},
			{"a login without the office's sign-in", login(staffAt("clerk-062049")), "state", true},
			{"the first use", replayed, "", false},
			{"replayed", replayed, string(staff.CodeReplayed), false},
		}
		for _, tt := range tests {
			c := srv.With(t).Fresh()
			state := stafftest.State(c, base)
			if tt.badState {
				state = strings.Repeat("0", 32)
			}
			step := webtest.Step{Name: tt.name, Path: base + "login", Form: url.Values{"assertion": {tt.assertion}, "state": {state}},
				WantStatus: http.StatusForbidden, WantContains: []string{`data-code="` + tt.code + `"`}}
			if tt.code == "" {
				step.WantStatus, step.WantContains = http.StatusSeeOther, nil
			}
			c.Step(step)
			if tt.code != "" {
				c.Step(webtest.Step{Name: tt.name + ": still signed out", Path: base, WantStatus: http.StatusSeeOther})
			}
		}
		// A state is good once.
		c := srv.With(t).Fresh()
		state := stafftest.State(c, base)
		form := url.Values{"assertion": {login(staffAt("clerk-062049"))}, "state": {state}}
		c.Step(webtest.Step{Name: "state once", Path: base + "login", Form: form, WantStatus: http.StatusSeeOther})
		form.Set("assertion", login(staffAt("clerk-062049")))
		c.Step(webtest.Step{Name: "state twice", Path: base + "login", Form: form, WantStatus: http.StatusForbidden, WantContains: []string{`data-code="state"`}})

		es, err := st.dir.Audit(ctx, office, 100)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, e := range es {
			got[e.Action+" "+e.Result+" "+e.PlatformID] = true
		}
		for _, w := range []string{"login REFUSED:staff_no_grant stranger", "login REFUSED:staff_other_office clerk-202070",
			"login REFUSED:staff_grant_expired retired", "login REFUSED:staff_grant_revoked gone",
			"login REFUSED:staff_wrong_login clerk-062049", "login REFUSED:staff_login_replayed clerk-062049", "login OK clerk-062049"} {
			if !got[w] {
				t.Errorf("no audit row %q in %v", w, got)
			}
		}
	})
}

// TestOfficeSignInLimited: posts to the login without a verified card
// login (here a wrong state) are refused with 429 and Retry-After once the
// site's login limits say so, from that address, the clerk's right login
// too, until the wait is over; verified card logins cost nothing.
func TestOfficeSignInLimited(t *testing.T) {
	_, _, srv, st := muniServer(t, storetest.SQLite(t))
	base := "/municipal/062049/office/"
	lim := web.DefaultLoginLimits()
	// Verified logins, even refused ones, do not count.
	for i := range lim.Source.Burst {
		c := srv.With(t).Fresh()
		state := stafftest.State(c, base)
		c.Step(webtest.Step{Name: fmt.Sprintf("no grant %d", i+1), Path: base + "login", WantStatus: http.StatusForbidden,
			Form: url.Values{"assertion": {st.iss.Assertion(stafftest.StaffLogin("stranger", st.now()))}, "state": {state}}})
	}
	c := srv.With(t).Fresh()
	stafftest.State(c, base) // a session, so that the forms pass the CSRF check
	for i := range lim.Source.Burst / lim.FailureCost {
		c.Step(webtest.Step{Name: fmt.Sprintf("wrong state %d", i+1), Path: base + "login", WantStatus: http.StatusForbidden,
			Form: url.Values{"assertion": {"x"}, "state": {strings.Repeat("0", 32)}}, WantContains: []string{`data-code="state"`}})
	}
	state := stafftest.State(c, base)
	form := url.Values{"assertion": {st.iss.Assertion(stafftest.StaffLogin("clerk-062049", st.now()))}, "state": {state}}
	r := c.Step(webtest.Step{Name: "the clerk, too many", Path: base + "login", Form: form, WantStatus: http.StatusTooManyRequests,
		WantContains: []string{"秒"}})
	if ra := r.Header.Get("Retry-After"); ra != strconv.Itoa(int(lim.Source.Every/time.Second)) {
		t.Errorf("Retry-After %q, want %v", ra, lim.Source.Every)
	}
	st.clock.t = st.clock.t.Add(lim.Source.Every)
	form.Set("assertion", st.iss.Assertion(stafftest.StaffLogin("clerk-062049", st.now())))
	c.Step(webtest.Step{Name: "the clerk after Retry-After", Path: base + "login", Form: form, WantStatus: http.StatusSeeOther})
}

// TestOfficeSessionEnds: revoking the grant ends a live session at its
// next request; so do the idle and the absolute timeouts.
func TestOfficeSessionEnds(t *testing.T) {
	_, _, srv, st := muniServer(t, storetest.SQLite(t))
	ctx := context.Background()
	base := "/municipal/062049/office/"
	start := st.clock.t

	c := srv.With(t)
	st.signIn(c, "062049")
	c.Step(webtest.Step{Name: "signed in", Path: base})
	gs, err := st.dir.List(ctx, OfficeID("062049"))
	if err != nil || len(gs) != 1 {
		t.Fatalf("grants %+v, %v", gs, err)
	}
	if _, err := st.dir.Revoke(ctx, gs[0].ID); err != nil {
		t.Fatal(err)
	}
	c.Step(webtest.Step{Name: "revoked: the sign-in at once", Path: base, WantStatus: http.StatusSeeOther})
	c.Step(webtest.Step{Name: "revoked: the sign-in at once: the sign-in says why", Path: base + "signin", WantContains: []string{"権限が取り消された", "staff-signin"}})
	c.Step(webtest.Step{Name: "revoked: no edit", Path: base + "audit", WantStatus: http.StatusSeeOther})

	stafftest.Grant(t, st.dir, staff.Grant{PlatformID: "clerk-062049", Name: clerkName("062049"), Office: OfficeID("062049"),
		Role: staff.RegistryClerk, StaffNumber: "R-062049", ValidUntil: start.Add(30 * 24 * time.Hour)})
	c = srv.With(t).Fresh()
	st.signIn(c, "062049")
	st.clock.t = st.clock.t.Add(staff.DefaultIdle - time.Second)
	c.Step(webtest.Step{Name: "just inside the idle time", Path: base})
	st.clock.t = st.clock.t.Add(staff.DefaultIdle)
	c.Step(webtest.Step{Name: "idle too long", Path: base, WantStatus: http.StatusSeeOther})
	c.Step(webtest.Step{Name: "idle too long: the sign-in says why", Path: base + "signin", WantContains: []string{"一定時間操作がなかった", "staff-signin"}})

	c = srv.With(t).Fresh()
	st.signIn(c, "062049")
	signedIn := st.clock.t
	for st.clock.t.Add(10 * time.Minute).Before(signedIn.Add(staff.DefaultMax)) {
		st.clock.t = st.clock.t.Add(10 * time.Minute)
		c.Step(webtest.Step{Name: "busy at " + st.clock.t.Format(time.TimeOnly), Path: base + "audit"})
	}
	st.clock.t = signedIn.Add(staff.DefaultMax)
	c.Step(webtest.Step{Name: "past the absolute time", Path: base, WantStatus: http.StatusSeeOther})
	c.Step(webtest.Step{Name: "past the absolute time: the sign-in says why", Path: base + "signin", WantContains: []string{"上限時間", "staff-signin"}})
}

func FuzzDecodeRequest(f *testing.F) {
	f.Add(`{"person_id":"p1","type":"juminhyo"}`)
	f.Add(`{"person_id":"p1","type":"tax","options":{"year":2026},"copies":3}`)
	f.Add(`{"person_id":"p1","type":"koseki-zenbu","options":{"household":true,"my_number":true}}`)
	f.Add(`{"person_id":"","type":""}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, in string) {
		req, err := DecodeRequest(strings.NewReader(in))
		if err != nil {
			return
		}
		if !req.Type.Valid() || req.PersonID == "" || req.Copies < 1 || req.Copies > MaxCopies {
			t.Fatalf("accepted %+v from %q", req, in)
		}
		// What was accepted encodes and decodes to itself.
		b, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		again, err := DecodeRequest(bytes.NewReader(b))
		if err != nil || again != req {
			t.Fatalf("round trip %+v → %s → %+v, %v", req, b, again, err)
		}
	})
}
