package body

import (
	"context"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/staff"
	"github.com/mynaplat/mynaplat/staff/stafftest"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/web"
)

// TestOfficePages: two officers sign in with their cards, each sets an
// opening passphrase on their own page, one publishes a tender; the public
// list, the tender page and the Atom feed show it with the opening
// certificate's fingerprint; the officer's view of the bids is audited;
// nobody without a staff session gets in.
func TestOfficePages(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, storetest.SQLite(t), 0)
	f.clock.Set(time.Now())
	srv, iss := officeServer(t, f, "pid-officer-1", "pid-officer-2")
	home := OfficeHome("kanto")

	stafftest.NeedStaff(t, webtest.New(t, srv.URL), home, []webtest.Step{
		{Name: "office", Path: home},
		{Name: "enroll", Path: home + "enroll", Form: url.Values{"passphrase": {"x"}, "confirm": {"x"}}},
		{Name: "publish", Path: home + "tenders", Form: url.Values{"title": {"x"}}},
	})

	pass := "correct horse battery staple"
	var clients []*webtest.Client
	for _, pid := range []string{"pid-officer-1", "pid-officer-2"} {
		c := webtest.New(t, srv.URL)
		iss.SignInAs(c, home, pid, time.Now())
		c.Step(webtest.Step{Name: "office before enrolling", Path: home, WantContains: []string{`id="enroll-submit"`}})
		c.Step(webtest.Step{Name: "mistyped", Path: home + "enroll", Form: url.Values{"passphrase": {pass}, "confirm": {pass + "!"}},
			WantStatus: http.StatusUnprocessableEntity, WantContains: []string{"一致しません"}, WantNotContains: []string{pass}})
		c.Step(webtest.Step{Name: "enroll", Path: home + "enroll", Form: url.Values{"passphrase": {pass}, "confirm": {pass}},
			WantStatus: http.StatusSeeOther})
		clients = append(clients, c)
	}
	c := clients[0]
	c.Step(webtest.Step{Name: "office after enrolling", Path: home, WantContains: []string{"設定済み", `id="publish-submit"`, "開札　二郎"}})
	deadline := time.Now().Add(48 * time.Hour).In(jst).Format("2006-01-02T15:04")
	form := url.Values{"title": {"庁舎用コピー用紙の購入"}, "item": {"事務用品"}, "field": {"sale"}, "grade": {""},
		"estimate": {"4,500,000"}, "deadline": {deadline}, "officer": {"pid-officer-1", "pid-officer-2"}, "k": {"2"}}
	bad := url.Values{}
	for k, v := range form {
		bad[k] = v
	}
	bad.Set("k", "3")
	c.Step(webtest.Step{Name: "publish refused", Path: home + "tenders", Form: bad, WantStatus: http.StatusUnprocessableEntity,
		WantContains: []string{"案件の記載に不足"}})
	r := c.Step(webtest.Step{Name: "publish", Path: home + "tenders", Form: form, WantStatus: http.StatusSeeOther})
	loc := r.Location()
	if !strings.HasPrefix(loc, home+"tenders/") {
		t.Fatalf("published to %q", loc)
	}
	id := strings.TrimPrefix(loc, home+"tenders/")
	tn, err := f.s.Tender(ctx, "kanto", id)
	if err != nil {
		t.Fatal(err)
	}
	c.Step(webtest.Step{Name: "office tender", Path: loc, WantContains: []string{tn.Fingerprint, "まだ入札書は届いていません"}})
	if _, err := f.s.Submit(ctx, "kanto", id, corpA, seal(t, tn, "bid"), "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Submit(ctx, "kanto", id, corpB, seal(t, tn, "bid"), "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	c.Step(webtest.Step{Name: "office tender with bids", Path: loc, WantContains: []string{corpA, "株式会社須坂テスト商事（B）", corpB, "資格なし"}})
	audit, _ := f.s.Audit(ctx, "kanto", id)
	if last := audit[len(audit)-1]; last.Action != "read-bids" || !strings.Contains(last.Actor, "pid-officer-1") {
		t.Errorf("the officer's read is not audited: %+v", last)
	}
	pub := webtest.New(t, srv.URL)
	pub.Step(webtest.Step{Name: "public list", Path: "/bodies/kanto/tenders", WantContains: []string{"庁舎用コピー用紙の購入", "受付中"}})
	pub.Step(webtest.Step{Name: "public page", Path: "/bodies/kanto/tenders/" + id, WantContains: []string{tn.Fingerprint, "関東地方整備局"},
		WantNotContains: []string{"4500000", "4,500,000"}})
	pub.Step(webtest.Step{Name: "other body", Path: "/bodies/suzaka/tenders/" + id, WantStatus: http.StatusNotFound})
	feed := pub.Step(webtest.Step{Name: "feed", Path: "/bodies/kanto/tenders.atom", WantHeader: map[string]string{"Content-Type": "application/atom+xml; charset=utf-8"}})
	var atom struct {
		XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
		Title   string   `xml:"title"`
		Updated string   `xml:"updated"`
		Entries []struct {
			ID      string `xml:"id"`
			Title   string `xml:"title"`
			Updated string `xml:"updated"`
			Link    struct {
				Href string `xml:"href,attr"`
			} `xml:"link"`
			Summary string `xml:"summary"`
		} `xml:"entry"`
	}
	if err := xml.Unmarshal([]byte(feed.Body), &atom); err != nil {
		t.Fatalf("the feed does not parse: %v\n%s", err, feed.Body)
	}
	if len(atom.Entries) != 1 || atom.Entries[0].Title != "庁舎用コピー用紙の購入" || atom.Entries[0].Link.Href != "/bodies/kanto/tenders/"+id ||
		!strings.Contains(atom.Entries[0].Summary, tn.Fingerprint) {
		t.Errorf("feed %+v", atom)
	}
	for _, ts := range []string{atom.Updated, atom.Entries[0].Updated} {
		if _, err := time.Parse(time.RFC3339, ts); err != nil {
			t.Errorf("updated %q: %v", ts, err)
		}
	}
}

// officeServer serves f's pages and API with staff sign-in for the
// officers given (tender officers of kanto).
func officeServer(t *testing.T, f *fixture, officers ...string) (*httptest.Server, *stafftest.Issuer) {
	t.Helper()
	return officeServerWith(t, f, nil, officers...)
}

// officeServerWith is officeServer with the gate's configuration changed
// by with (the signing step's kits and linkage), when not nil.
func officeServerWith(t *testing.T, f *fixture, with func(*staff.GateConfig), officers ...string) (*httptest.Server, *stafftest.Issuer) {
	t.Helper()
	return officeServerMount(t, f, with, nil, officers...)
}

// officeServerMount is officeServerWith with mount adding routes of its
// own (the staff terminals) on the site, given the server's URL.
func officeServerMount(t *testing.T, f *fixture, with func(*staff.GateConfig), mount func(mux *http.ServeMux, site *web.Site, url string), officers ...string) (*httptest.Server, *stafftest.Issuer) {
	t.Helper()
	site, err := web.New(context.Background(), web.Options{DB: f.db})
	if err != nil {
		t.Fatal(err)
	}
	pages, err := NewPages(f.s, site)
	if err != nil {
		t.Fatal(err)
	}
	iss := stafftest.NewIssuer(t)
	dir := stafftest.Directory(t, f.db, time.Now)
	for i, pid := range officers {
		stafftest.Grant(t, dir, staff.Grant{PlatformID: pid, Name: []string{"入札　一郎", "開札　二郎", "開札　三郎"}[i%3], Office: OfficeID("kanto"),
			Role: staff.TenderOfficer, StaffNumber: "K-0" + string(rune('1'+i)), ValidFrom: time.Now().Add(-time.Hour), ValidUntil: time.Now().Add(time.Hour)})
	}
	gc := staff.GateConfig{Site: site, Directory: dir, Keys: iss.Keys, Desk: "/staffdesk/test/"}
	if with != nil {
		with(&gc)
	}
	gate, err := staff.NewOfficeGate(gc, pages.StaffOffice())
	if err != nil {
		t.Fatal(err)
	}
	pages.SetStaff(gate)
	mux := http.NewServeMux()
	srv := httptest.NewServer(site.Protect(mux))
	t.Cleanup(srv.Close)
	site.Routes(mux)
	pages.Routes(mux)
	f.s.Routes(mux, APIConfig{})
	if mount != nil {
		mount(mux, site, srv.URL)
	}
	return srv, iss
}
