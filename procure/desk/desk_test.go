package desk_test

import (
	"context"
	"errors"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/delegation"
	"github.com/mynaplat/mynaplat/demo"
	"github.com/mynaplat/mynaplat/internal/pbworld"
	"github.com/mynaplat/mynaplat/internal/trace"
	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/procure"
	"github.com/mynaplat/mynaplat/procure/desk"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/wareki"
	"github.com/mynaplat/mynaplat/web"
)

// company is the test's company: its representative is 酒田 一郎, a demo
// resident with a card (a made-up 法人番号 with a valid check digit).
var company = demo.Corporation{Number: "9100001900006", NameJA: "株式会社テスト須坂", NameEN: "Test Suzaka", Address: "長野県須坂市大字須坂１番地",
	Representative: "酒田　一郎"}

// counting counts the registrations and revocations that reach the
// register.
type counting struct {
	desk.Powers
	filed atomic.Int32
}

func (c *counting) Register(ctx context.Context, der []byte) (*delegation.Record, error) {
	c.filed.Add(1)
	return c.Powers.Register(ctx, der)
}

func (c *counting) Revoke(ctx context.Context, id string, der []byte) (*delegation.Record, error) {
	c.filed.Add(1)
	return c.Powers.Revoke(ctx, id, der)
}

// env is the world of package pbworld (platform, JPKI, TSA, corporate
// registry, register of powers) with the company's desk on its own data
// directory. As in package mybox's tests, GET /test/login/{who} stands in
// for the terminal's card step: it hands the person's login over on the
// session and puts their card on the kit's reader.
type env struct {
	w      *pbworld.World
	people map[string]*pbworld.Person
	dir    string
	powers *counting
	desk   *desk.Desk
	db     *store.DB
	url    string
}

const whoKey, atKey = "test:who", "test:at"

func newEnv(t *testing.T, db *store.DB) *env { t.Helper(); return newEnvWith(t, db, nil) }

// newEnvWith is newEnv with the desk reading the register's notices with
// notices.
func newEnvWith(t *testing.T, db *store.DB, notices desk.Notices) *env {
	t.Helper()
	ctx := context.Background()
	w := pbworld.New(t, db)
	rep := w.Appoint(company)
	e := &env{w: w, db: db, dir: filepath.Join(t.TempDir(), "desk"), powers: &counting{Powers: w.Powers}}
	e.people = map[string]*pbworld.Person{"ichiro": w.Person(pbworld.Ichiro), "yumi": w.Person(pbworld.Yumi)}
	for _, p := range e.people {
		w.Login(p)
	}
	if err := desk.Setup(e.dir, company.Number, rep.Key); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(e.dir, "representative.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the representative key: %v %v", fi.Mode(), err)
	}
	site, err := web.New(ctx, web.Options{DB: storetest.SQLite(t), Now: w.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	kit := terminal.NewKit(terminal.KitConfig{Terminal: w.Term, Reader: terminal.VirtualReader{Cards: w.Cards}, Cards: w.Cards, Now: w.Clock.Now})
	d, err := desk.New(desk.Config{Site: site, Kit: kit, Dir: e.dir, Corporations: w.Registry, Powers: e.powers, Stamper: w.Stamper,
		Notices: notices, Now: w.Clock.Now, LoggedIn: func(ss *web.Session, now time.Time) (terminal.Login, error) {
			p := e.people[ss.Get(whoKey)]
			if p == nil {
				return terminal.Login{}, terminal.ErrNotLoggedIn
			}
			at, _ := strconv.ParseInt(ss.Get(atKey), 10, 64)
			return terminal.Login{Terminal: w.Term.ID, PlatformID: p.PlatformID, Assertion: p.Assertion, Expires: time.Unix(at, 0).Add(5 * time.Minute)}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	e.desk = d
	pages, err := desk.NewPages(d)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	site.Routes(mux)
	pages.Routes(mux)
	mux.HandleFunc("GET /test/login/{who}", func(rw http.ResponseWriter, r *http.Request) {
		p := e.people[r.PathValue("who")]
		ss, err := site.Session(rw, r)
		if err != nil || p == nil {
			http.Error(rw, "no such person", http.StatusBadRequest)
			return
		}
		r.PostForm = url.Values{"card": {p.Card.ID()}}
		if res := kit.Place(r, ss); !res.Passed() {
			http.Error(rw, string(res.Outcome), http.StatusInternalServerError)
			return
		}
		ss.Set(whoKey, r.PathValue("who"))
		ss.Set(atKey, strconv.FormatInt(w.Clock.Now().Unix(), 10))
		if err := ss.Save(r.Context()); err != nil {
			http.Error(rw, err.Error(), http.StatusInternalServerError)
			return
		}
		http.Redirect(rw, r, desk.Home, http.StatusSeeOther)
	})
	srv := httptest.NewServer(trace.Middleware(site.Protect(mux)))
	t.Cleanup(srv.Close)
	e.url = srv.URL
	return e
}

// browser is a browser at the desk, logged in with who's card and, when
// confirm, confirmed with their signing password.
func (e *env) browser(t *testing.T, who string, confirm bool) *webtest.Client {
	t.Helper()
	c := webtest.New(t, e.url)
	c.Step(webtest.Step{Name: "log in as " + who, Path: "/test/login/" + who, WantStatus: http.StatusSeeOther})
	c.Step(webtest.Step{Name: "the confirmation", Path: desk.Home, WantContains: []string{`id="confirm"`}})
	if confirm {
		c.Step(webtest.Step{Name: "confirm", Method: http.MethodPost, Path: "/desk/confirm", Form: url.Values{"password": {e.people[who].SignPIN}},
			WantStatus: http.StatusSeeOther, WantLocation: desk.Home})
		c.Step(webtest.Step{Name: "confirmed", Path: desk.Home, WantContains: []string{`id="grant-submit"`, "酒田　一郎 さんを代表者として確認しました"}})
	}
	return c
}

// day is a civil date in Japan, n days from the world's today.
func (e *env) day(n int) string {
	return e.w.Clock.Now().In(wareki.JST()).AddDate(0, 0, n).Format(time.DateOnly)
}

func (e *env) form(matters ...string) url.Values {
	return url.Values{"agent_platform_id": {e.people["yumi"].PlatformID}, "agent_name": {"酒井　由美"}, "matter": matters,
		"from": {e.day(0)}, "until": {e.day(364)}}
}

var powerIDRE = regexp.MustCompile(`委任状ID: ([0-9a-f]{32})`)

// TestGrantAndRevoke: the representative signs in, grants a power to the
// agent, and the register's Check passes the agent's bid under it at
// once; a revocation at the desk makes Check refuse it at once.
func TestGrantAndRevoke(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		anon := webtest.New(t, e.url)
		anon.Step(webtest.Step{Name: "not logged in", Path: desk.Home, WantContains: []string{`id="login"`, "/t/" + e.w.Term.ID + "/?next=%2fdesk%2f"}})
		anon.Step(webtest.Step{Name: "a grant without login", Method: http.MethodPost, Path: "/desk/grant", Form: e.form(procure.MatterBid),
			WantStatus: http.StatusForbidden})

		c := e.browser(t, "ichiro", false)
		c.Step(webtest.Step{Name: "the confirmation", Path: desk.Home, WantContains: []string{`id="confirm"`, company.NameJA, company.Number},
			WantNotContains: []string{`id="grant-submit"`}})
		c.Step(webtest.Step{Name: "a grant before confirming", Method: http.MethodPost, Path: "/desk/grant", Form: e.form(procure.MatterBid),
			WantStatus: http.StatusForbidden})
		c.Step(webtest.Step{Name: "a wrong password", Method: http.MethodPost, Path: "/desk/confirm", Form: url.Values{"password": {"WRONG1975"}},
			WantStatus: http.StatusSeeOther})
		c.Step(webtest.Step{Name: "still to confirm", Path: desk.Home, WantContains: []string{`id="confirm"`, "残り 4 回"}})
		c.Step(webtest.Step{Name: "confirm", Method: http.MethodPost, Path: "/desk/confirm", Form: url.Values{"password": {e.people["ichiro"].SignPIN}},
			WantStatus: http.StatusSeeOther})
		c.Step(webtest.Step{Name: "the desk", Path: desk.Home, WantContains: []string{`id="grant-submit"`, `id="representative">酒田　一郎<`,
			procure.MatterQualify, procure.MatterBid, procure.MatterContract, procure.MatterInvoice, "まだ発行していません"}})

		c.Step(webtest.Step{Name: "grant", Method: http.MethodPost, Path: "/desk/grant",
			Form: e.form(procure.MatterQualify, procure.MatterBid), WantStatus: http.StatusSeeOther, WantLocation: desk.Home})
		page := c.Step(webtest.Step{Name: "granted", Path: desk.Home, WantContains: []string{"委任状を発行しました", `data-status="active"`, "酒井　由美"}})
		m := powerIDRE.FindStringSubmatch(page.Body)
		if m == nil {
			t.Fatal("no power ID shown")
		}
		id := m[1]
		rec, err := e.w.Powers.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		p := rec.Power
		if p.Principal.CorporationName != company.NameJA || p.Principal.RepresentativeName != "酒田　一郎" || p.SubDelegation ||
			p.Agent.PlatformID != e.people["yumi"].PlatformID || len(p.Powers) != 2 {
			t.Fatalf("the power: %+v", p)
		}
		agent := e.w.SigningCert(e.people["yumi"])
		q := delegation.Query{Power: rec.CMS, CorporateNumber: company.Number, DocType: procure.MatterBid, Signer: agent, At: e.w.Clock.Now()}
		if res, err := e.w.Powers.Check(ctx, q); err != nil || !res.OK {
			t.Fatalf("the agent's bid under the new power: %+v %v", res, err)
		}

		c.Step(webtest.Step{Name: "revoke", Method: http.MethodPost, Path: "/desk/powers/" + id + "/revoke", Form: url.Values{},
			WantStatus: http.StatusSeeOther})
		c.Step(webtest.Step{Name: "revoked", Path: desk.Home, WantContains: []string{"失効させました", `data-status="revoked"`},
			WantNotContains: []string{`id="revoke-` + id + `"`}})
		q.At = e.w.Clock.Now()
		if res, err := e.w.Powers.Check(ctx, q); err != nil || res.OK || res.Reason != delegation.Revoked {
			t.Fatalf("the agent's bid after the revocation: %+v %v", res, err)
		}
		// A second click on 失効させる (from a page shown before) says the
		// power is revoked, and signs nothing.
		filed := e.powers.filed.Load()
		ja, en := desk.ReasonRevoked.Messages()
		for lang, want := range map[string]string{"ja": ja, "en": en} {
			c.Step(webtest.Step{Name: "revoke again", Method: http.MethodPost, Path: "/desk/powers/" + id + "/revoke", Form: url.Values{},
				WantStatus: http.StatusSeeOther})
			c.Step(webtest.Step{Name: "already revoked " + lang, Path: desk.Home + "?lang=" + lang, WantContains: []string{html.EscapeString(want)}})
		}
		if n := e.powers.filed.Load(); n != filed {
			t.Errorf("a second revocation reached the register (%d filings, want %d)", n, filed)
		}
		c.Step(webtest.Step{Name: "log out", Method: http.MethodPost, Path: "/desk/logout", Form: url.Values{}, WantStatus: http.StatusSeeOther})
		// The stand-in's card login outlives the logout; the desk's
		// confirmation does not.
		c.Step(webtest.Step{Name: "logged out", Path: desk.Home, WantContains: []string{`id="confirm"`}, WantNotContains: []string{`id="grant-submit"`}})
	})
}

// TestRefusals: each refusal shows its Japanese and English text, and
// signs, registers and writes nothing.
func TestRefusals(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	granted := filepath.Join(e.dir, "granted.json")
	nothing := func(t *testing.T) {
		t.Helper()
		if n := e.powers.filed.Load(); n != 0 {
			t.Errorf("%d signed documents reached the register", n)
		}
		if _, err := os.Stat(granted); !os.IsNotExist(err) {
			t.Errorf("the desk wrote its list: %v", err)
		}
	}
	// The agent is not the representative: the confirmation refuses her,
	// and she cannot reach the form.
	for _, lang := range []string{"ja", "en"} {
		c := e.browser(t, "yumi", false)
		c.Step(webtest.Step{Name: "confirm as the agent", Method: http.MethodPost, Path: "/desk/confirm",
			Form: url.Values{"password": {e.people["yumi"].SignPIN}}, WantStatus: http.StatusSeeOther})
		ja, en := desk.ReasonNotRepresentative.Messages()
		want := map[string]string{"ja": ja, "en": en}[lang]
		c.Step(webtest.Step{Name: "refused " + lang, Path: desk.Home + "?lang=" + lang, WantContains: []string{html.EscapeString(want), `id="confirm"`},
			WantNotContains: []string{`id="grant-submit"`}})
		c.Step(webtest.Step{Name: "no form", Method: http.MethodPost, Path: "/desk/grant", Form: e.form(procure.MatterQualify),
			WantStatus: http.StatusForbidden})
	}
	nothing(t)

	c := e.browser(t, "ichiro", true)
	bad := func(mod func(url.Values)) url.Values {
		f := e.form(procure.MatterQualify, procure.MatterContract)
		mod(f)
		return f
	}
	cases := []struct {
		name   string
		form   url.Values
		reason desk.Reason
	}{
		{"sub-delegation with 入札", bad(func(f url.Values) { f["matter"] = []string{procure.MatterBid}; f.Set("sub_delegation", "1") }), desk.ReasonSubDelegatedBid},
		{"starts yesterday", bad(func(f url.Values) { f.Set("from", e.day(-1)) }), desk.ReasonBadPeriod},
		{"ends before it starts", bad(func(f url.Values) { f.Set("from", e.day(10)); f.Set("until", e.day(9)) }), desk.ReasonBadPeriod},
		{"longer than two years", bad(func(f url.Values) { f.Set("until", e.day(731)) }), desk.ReasonBadPeriod},
		{"not a date", bad(func(f url.Values) { f.Set("until", "来年") }), desk.ReasonBadPeriod},
		{"no matter", bad(func(f url.Values) { f.Del("matter") }), desk.ReasonNoMatters},
		{"a matter procurement does not know", bad(func(f url.Values) { f["matter"] = []string{"保険料控除証明書"} }), desk.ReasonNoMatters},
		{"no agent", bad(func(f url.Values) { f.Set("agent_platform_id", " ") }), desk.ReasonBadAgent},
		{"a token the desk did not give", bad(func(f url.Values) { f.Set("token", "../../x") }), desk.ReasonBadToken},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ja, en := tc.reason.Messages()
			for lang, want := range map[string]string{"ja": ja, "en": en} {
				c.With(t).Step(webtest.Step{Name: "grant", Method: http.MethodPost, Path: "/desk/grant", Form: tc.form, WantStatus: http.StatusSeeOther})
				c.With(t).Step(webtest.Step{Name: "refused " + lang, Path: desk.Home + "?lang=" + lang, WantContains: []string{html.EscapeString(want)}})
			}
			nothing(t)
		})
	}
	// Sub-delegation without 入札 is allowed (not granted here: that would
	// write); the closed company refuses the grant and a new sign-in.
	if err := e.w.Registry.Close(context.Background(), company.Number); err != nil {
		t.Fatal(err)
	}
	ja, en := desk.ReasonClosed.Messages()
	for lang, want := range map[string]string{"ja": ja, "en": en} {
		c.Step(webtest.Step{Name: "grant for a closed company", Method: http.MethodPost, Path: "/desk/grant", Form: e.form(procure.MatterQualify),
			WantStatus: http.StatusSeeOther})
		c.Step(webtest.Step{Name: "closed " + lang, Path: desk.Home + "?lang=" + lang, WantContains: []string{html.EscapeString(want)}})
		again := e.browser(t, "ichiro", false)
		again.Step(webtest.Step{Name: "confirm at a closed company", Method: http.MethodPost, Path: "/desk/confirm",
			Form: url.Values{"password": {e.people["ichiro"].SignPIN}}, WantStatus: http.StatusSeeOther})
		again.Step(webtest.Step{Name: "closed at sign-in " + lang, Path: desk.Home + "?lang=" + lang, WantContains: []string{want, `id="confirm"`}})
	}
	nothing(t)
}

// TestNameChange: a change of the company's name at the registry makes a
// power granted before it fail the qualification register's name rule
// (procurement §3.3, name_mismatch), while a power granted at the desk
// after it (in the new name) is honoured.
func TestNameChange(t *testing.T) {
	ctx := context.Background()
	db := storetest.SQLite(t)
	e := newEnv(t, db)
	reg, err := procure.New(ctx, procure.Config{DB: db, Corporations: e.w.Registry, Powers: e.w.Powers, Verify: delegation.VerifyCMS(e.w.TSARoots),
		Now: e.w.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	c := e.browser(t, "ichiro", true)
	grant := func() string {
		t.Helper()
		c.Step(webtest.Step{Name: "grant", Method: http.MethodPost, Path: "/desk/grant", Form: e.form(procure.MatterQualify), WantStatus: http.StatusSeeOther})
		page := c.Step(webtest.Step{Name: "granted", Path: desk.Home})
		m := powerIDRE.FindStringSubmatch(page.Body)
		if m == nil {
			t.Fatalf("no power ID shown:\n%s", page.Body)
		}
		return m[1]
	}
	agent := e.people["yumi"]
	apply := func(powerID string) error {
		t.Helper()
		app := procure.Application{CorporateNumber: company.Number, PowerID: powerID, Kind: procure.KindNew, Founded: "2001-04-01",
			Fields: []procure.FieldItems{{Field: procure.FieldService, Items: []string{"情報処理"}}}, Regions: []string{"関東・甲信越"},
			Financials: procure.FinancialItems{AverageSalesYen: 300_000_000, EquityYen: 100_000_000, CurrentAssetsYen: 80_000_000,
				CurrentLiabilitiesYen: 40_000_000, Years: 20}, TaxDeclared: true}
		body, err := app.Canonical()
		if err != nil {
			t.Fatal(err)
		}
		_, err = reg.Apply(ctx, procure.ApplyRequest{AgentPlatformID: agent.PlatformID, Signed: e.w.SignBytes(agent.Card, agent.SignPIN, body)})
		return err
	}
	before := grant()
	e.w.Clock.Advance(time.Minute)
	if err := e.w.Registry.Rename(ctx, company.Number, "株式会社新テスト須坂", time.Time{}); err != nil {
		t.Fatal(err)
	}
	// The representative certificate names the company: the registry
	// certifies the representative's key again under the new name.
	if _, err := e.w.Registry.AppointRepresentative(ctx, company.Number, company.Representative, e.w.Reps[company.Number].Key.Public()); err != nil {
		t.Fatal(err)
	}
	e.w.Clock.Advance(time.Minute)
	c.Step(webtest.Step{Name: "the new name", Path: desk.Home, WantContains: []string{`id="company">株式会社新テスト須坂<`}})
	after := grant()
	if rec, err := e.w.Powers.Get(ctx, after); err != nil || rec.Power.Principal.CorporationName != "株式会社新テスト須坂" {
		t.Fatalf("the power after the change: %+v %v", rec, err)
	}
	if r, ok := errors.AsType[*procure.Refusal](apply(before)); !ok || r.Reason != procure.ReasonNameMismatch {
		t.Errorf("an application under the power from before the change: %v, want name_mismatch", r)
	}
	if err := apply(after); err != nil {
		t.Errorf("an application under the power in the new name: %v", err)
	}
}

var tokenRE = regexp.MustCompile(`name="token" value="([^"]+)"`)

// powersAt counts the powers at the register.
func (e *env) powersAt(t *testing.T) int {
	t.Helper()
	var n int
	if err := e.db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM delegation_powers`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestGrantOnce: the grant form sent twice (a double click, a resend)
// grants one power; the second answer says it was granted, with its ID.
func TestGrantOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		c := e.browser(t, "ichiro", true)
		m := tokenRE.FindStringSubmatch(c.Get(desk.Home).Body)
		if m == nil || !delegation.ValidID(m[1]) {
			t.Fatalf("the form's token: %q", m)
		}
		form := e.form(procure.MatterQualify)
		form.Set("token", m[1])
		c.Step(webtest.Step{Name: "grant", Method: http.MethodPost, Path: "/desk/grant", Form: form, WantStatus: http.StatusSeeOther})
		page := c.Step(webtest.Step{Name: "granted", Path: desk.Home, WantContains: []string{"委任状を発行しました"}})
		first := powerIDRE.FindStringSubmatch(page.Body)
		if first == nil || first[1] != m[1] {
			t.Fatalf("the power ID shown: %q, want the form's token %s", first, m[1])
		}
		if next := tokenRE.FindStringSubmatch(page.Body); next == nil || next[1] == m[1] {
			t.Errorf("the page after a grant gives the same token again")
		}
		for lang, want := range map[string]string{"ja": "この委任状は発行済みです。委任状ID: " + m[1], "en": "This power was already granted. Power ID: " + m[1]} {
			c.Step(webtest.Step{Name: "grant again", Method: http.MethodPost, Path: "/desk/grant", Form: form, WantStatus: http.StatusSeeOther})
			c.Step(webtest.Step{Name: "already granted " + lang, Path: desk.Home + "?lang=" + lang, WantContains: []string{want},
				WantNotContains: []string{"委任状を発行しました", "The power was granted"}})
		}
		if n := e.powers.filed.Load(); n != 1 {
			t.Errorf("%d registrations reached the register, want 1", n)
		}
		if n := e.powersAt(t); n != 1 {
			t.Errorf("%d powers at the register, want 1", n)
		}
		gs, err := e.desk.List(ctx)
		if err != nil || len(gs) != 1 || gs[0].ID != m[1] {
			t.Errorf("the desk's list: %+v %v", gs, err)
		}
	})
}

// TestGrantOnceConcurrently: two sends of one form at once (two tabs, a
// double click the browser did not stop) grant one power: one answer
// grants, the other says it was granted, both with the same ID. A send
// after the desk lost its list, a second later (another start, so
// another signed content under the ID), finds the first power too.
func TestGrantOnceConcurrently(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		token, err := delegation.NewID()
		if err != nil {
			t.Fatal(err)
		}
		f := desk.Form{AgentPlatformID: e.people["yumi"].PlatformID, AgentName: "酒井　由美", Matters: []string{procure.MatterQualify},
			From: e.day(0), Until: e.day(364), Token: token}
		type answer struct {
			id    string
			again bool
			err   error
		}
		answers := make(chan answer, 2)
		for range 2 {
			go func() {
				rec, again, err := e.desk.Grant(ctx, company.Representative, f)
				if err != nil {
					answers <- answer{err: err}
					return
				}
				answers <- answer{id: rec.Power.ID, again: again}
			}()
		}
		a, b := <-answers, <-answers
		if a.err != nil || b.err != nil {
			t.Fatalf("grants: %v, %v", a.err, b.err)
		}
		if a.id != token || b.id != token || a.again == b.again {
			t.Fatalf("answers %+v and %+v, want one grant and one already granted of %s", a, b, token)
		}
		if n := e.powersAt(t); n != 1 {
			t.Errorf("%d powers at the register, want 1", n)
		}
		if gs, err := e.desk.List(ctx); err != nil || len(gs) != 1 {
			t.Errorf("the desk's list: %+v %v", gs, err)
		}

		if err := os.Remove(filepath.Join(e.dir, "granted.json")); err != nil {
			t.Fatal(err)
		}
		e.w.Clock.Advance(time.Second)
		rec, again, err := e.desk.Grant(ctx, company.Representative, f)
		if err != nil || !again || rec.Power.ID != token {
			t.Fatalf("the form sent again after the list was lost: %+v %v %v", rec, again, err)
		}
		if n := e.powersAt(t); n != 1 {
			t.Errorf("%d powers at the register, want 1", n)
		}
		if gs, err := e.desk.List(ctx); err != nil || len(gs) != 1 || gs[0].ID != token {
			t.Errorf("the desk's list kept the power again: %+v %v", gs, err)
		}
	})
}
