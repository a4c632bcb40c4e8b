package mybox_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/internal/pbworld"
	"github.com/mynaplat/mynaplat/internal/trace"
	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/mybox"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/postbox"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/web"
)

// pagesEnv is the post box's world and, as a process of its own with a
// database of its own, the terminal people open their box at: the pages
// reach the post box only over its resident API.
//
// The terminal's card step (the /t/ screens, tested in package terminal)
// is stood in for by GET /test/login/{who}, which hands the person's login
// over on the browser's session and puts their card on the reader of the
// terminal's kit (the kit the pages sign through): the world's clock runs
// days behind the wall clock, which the login's assertion would not pass.
type pagesEnv struct {
	w      *pbworld.World
	sc     *pbworld.Scene
	url    string
	people map[string]*pbworld.Person
}

// The stand-in's session keys: who logged in at the terminal, and when.
const (
	whoKey = "test:who"
	atKey  = "test:at"
)

// assertionTTL is how long the platform's assertions last (its default).
const assertionTTL = 5 * time.Minute

func newPagesEnv(t *testing.T, db *store.DB, boxURL string) *pagesEnv {
	t.Helper()
	ctx := context.Background()
	w := pbworld.New(t, db)
	e := &pagesEnv{w: w, sc: w.Demo()}
	e.people = map[string]*pbworld.Person{"ichiro": e.sc.Ichiro, "yumi": e.sc.Yumi}
	if boxURL == "" {
		boxURL = w.Srv.URL
	}
	site, err := web.New(ctx, web.Options{DB: storetest.SQLite(t), Now: w.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	person := func(ss *web.Session) *pbworld.Person { return e.people[ss.Get(whoKey)] }
	kit := terminal.NewKit(terminal.KitConfig{Terminal: w.Term, Reader: terminal.VirtualReader{Cards: w.Cards}, Cards: w.Cards, Now: w.Clock.Now})
	pages, err := mybox.New(mybox.Config{Site: site, BoxURL: boxURL, Kit: kit, Stamper: w.Stamper, Now: w.Clock.Now,
		LoggedIn: func(ss *web.Session, now time.Time) (terminal.Login, error) {
			p := person(ss)
			if p == nil {
				return terminal.Login{}, terminal.ErrNotLoggedIn
			}
			at, _ := strconv.ParseInt(ss.Get(atKey), 10, 64)
			expires := time.Unix(at, 0).Add(assertionTTL)
			if !now.Before(expires) {
				return terminal.Login{}, terminal.ErrLoginExpired
			}
			return terminal.Login{Terminal: pbworld.PostboxTerminal, PlatformID: p.PlatformID, Assertion: p.Assertion, Expires: expires}, nil
		}})
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
		e.w.Login(p) // a fresh assertion
		// The card on the terminal's reader, as the /t/ screen's "place
		// the card" puts it there.
		r.PostForm = url.Values{"card": {p.Card.ID()}}
		if res := kit.Place(r, ss); !res.Passed() {
			http.Error(rw, string(res.Outcome), http.StatusInternalServerError)
			return
		}
		ss.Set(whoKey, r.PathValue("who"))
		ss.Set(atKey, strconv.FormatInt(e.w.Clock.Now().Unix(), 10))
		if err := ss.Save(r.Context()); err != nil {
			http.Error(rw, err.Error(), http.StatusInternalServerError)
			return
		}
		http.Redirect(rw, r, "/postbox/", http.StatusSeeOther)
	})
	srv := httptest.NewServer(trace.Middleware(site.Protect(mux)))
	t.Cleanup(srv.Close)
	e.url = srv.URL
	return e
}

// browser is a browser at the terminal, logged in as who ("" for nobody).
func (e *pagesEnv) browser(t *testing.T, who string) *webtest.Client {
	t.Helper()
	c := webtest.New(t, e.url)
	if who != "" {
		c.Step(webtest.Step{Name: "log in as " + who, Path: "/test/login/" + who, WantStatus: http.StatusSeeOther})
	}
	return c
}

var (
	clientIDRE = regexp.MustCompile(`name="client_id" value="([^"]+)"`)
	sendIDRE   = regexp.MustCompile(`snd_[0-9a-f]+`)
)

// TestPages: the person's pages over the resident API, as a browser sees
// them.
func TestPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newPagesEnv(t, db, "")
		w, sc := e.w, e.sc
		kojo := "/postbox/documents/" + sc.KojoID

		// Nobody logged in: the login page.
		anon := e.browser(t, "")
		anon.Run([]webtest.Step{
			{Name: "the box", Path: "/postbox/", WantContains: []string{`id="login"`, "/t/" + pbworld.PostboxTerminal + "/?next=%2fpostbox%2f"}},
			{Name: "a document", Path: kojo, WantContains: []string{`id="login"`}, WantNotContains: []string{"96,000円"}},
		})

		c := e.browser(t, "ichiro")
		c.Run([]webtest.Step{
			{Name: "the box", Path: "/postbox/", WantContains: []string{`id="documents"`, "生命保険料控除証明書", "日本生命保険相互会社",
				"日本郵便株式会社", "日本放送協会", "送信したものはありません"}},
			{Name: "the certificate", Path: kojo, WantContains: []string{`data-indication="TOTAL_PASSED"`, "96,000円", "酒井　由美",
				`href="/postbox/compose?doc=` + sc.KojoID + `"`}},
			{Name: "no such document", Path: "/postbox/documents/doc_nonexistent", WantStatus: http.StatusNotFound},
			{Name: "the consents", Path: "/postbox/consents", WantContains: []string{`id="consent"`, "NHK-06204913"}},
		})

		// The application: a wrong password sends nothing and keeps the form.
		page := c.Step(webtest.Step{Name: "compose", Path: "/postbox/compose?doc=" + sc.KojoID,
			WantContains: []string{`value="` + sc.KojoID + `" checked`, "酒田税務署"}})
		m := clientIDRE.FindStringSubmatch(page.Body)
		if m == nil {
			t.Fatal("the compose form has no client_id")
		}
		form := url.Values{"client_id": {m[1]}, "to": {"tax-sakata"}, "subject": {"令和8年分 確定申告"}, "body": {"控除証明書を添付します"},
			"doc": {sc.KojoID}, "password": {"WRONG1975"}}
		c.Step(webtest.Step{Name: "a wrong password", Method: http.MethodPost, Path: "/postbox/compose", Form: form,
			WantStatus: http.StatusUnprocessableEntity, WantContains: []string{"何も送信していません", "残り 4 回です", `value="` + sc.KojoID + `" checked`, m[1]}})
		// The card's refusal went through the terminal's kit to the
		// platform, for his /me/audit: the terminal, him, 4 tries left.
		want := []string{platform.ActionPINRefusal + " " + pbworld.PostboxTerminal + " " + sc.Ichiro.PlatformID + " " +
			platform.ResultPINWrong + " " + platform.PINRefusalReason(platform.PINSign, 4)}
		if diff := cmp.Diff(want, pinRefusals(t, db)); diff != "" {
			t.Errorf("the platform's rows of refused PINs (-want +got):\n%s", diff)
		}
		form.Set("password", sc.Ichiro.SignPIN)
		c.Step(webtest.Step{Name: "sign and send", Method: http.MethodPost, Path: "/postbox/compose", Form: form,
			WantStatus: http.StatusSeeOther, WantLocation: "/postbox/#sends"})
		sent := c.Step(webtest.Step{Name: "sent", Path: "/postbox/", WantContains: []string{"酒田税務署 への送信を受け付けました", `data-to="tax-sakata"`}})
		first := sendIDRE.FindString(sent.Body)
		// The same form again (the back button, a double click) sends nothing
		// more: it is the first send.
		c.Step(webtest.Step{Name: "the form again", Method: http.MethodPost, Path: "/postbox/compose", Form: form,
			WantStatus: http.StatusSeeOther})
		again := c.Step(webtest.Step{Name: "sent once", Path: "/postbox/"})
		if got := sendIDRE.FindString(again.Body); got != first || strings.Count(again.Body, `data-to="tax-sakata"`) != 1 {
			t.Errorf("after the form again: send %s (want %s), %d sends", got, first, strings.Count(again.Body, `data-to="tax-sakata"`))
		}
		if n := w.DeliverDue(); n != 1 {
			t.Errorf("%d sends delivered, want 1", n)
		}
		c.Step(webtest.Step{Name: "delivered", Path: "/postbox/", WantContains: []string{`data-state="delivered"`, "受け付けられました"}})

		// Consents: withdraw one and give it again, signed on the card.
		c.Get("/postbox/consents")
		c.Step(webtest.Step{Name: "withdraw", Method: http.MethodPost, Path: "/postbox/consents/nhk/withdraw", Form: url.Values{},
			WantStatus: http.StatusSeeOther, WantLocation: "/postbox/consents"})
		c.Step(webtest.Step{Name: "withdrawn", Path: "/postbox/consents", WantContains: []string{"同意を取り消しました"},
			WantNotContains: []string{"NHK-06204913"}})
		c.Step(webtest.Step{Name: "consent", Method: http.MethodPost, Path: "/postbox/consents", Form: url.Values{"party": {"nhk"},
			"customer_ref": {"NHK-06204913"}, "notice": {"on"}, "password": {sc.Ichiro.SignPIN}}, WantStatus: http.StatusSeeOther})
		c.Step(webtest.Step{Name: "consented", Path: "/postbox/consents", WantContains: []string{"日本放送協会 への同意を登録しました", "NHK-06204913"}})

		// He moves: the change notice, and the businesses he chooses told once.
		w.Clock.Advance(time.Minute)
		w.Move(sc.Ichiro, pbworld.IchiroNewAddress)
		if _, err := w.Postbox.FollowFeed(context.Background()); err != nil {
			t.Fatal(err)
		}
		home := c.Step(webtest.Step{Name: "the change notice", Path: "/postbox/", WantContains: []string{`id="change-notice"`}})
		notice := regexp.MustCompile(`/postbox/notices/ntc_[0-9a-f]+`).FindString(home.Body)
		np := c.Step(webtest.Step{Name: "the notice", Path: notice, WantContains: []string{`value="nhk"`, `value="japanpost"`, `value="nissay"`}})
		nm := clientIDRE.FindStringSubmatch(np.Body)
		if nm == nil {
			t.Fatal("the notice form has no client_id")
		}
		nform := url.Values{"client_id": {nm[1]}, "party": {"nhk", "japanpost"}, "password": {sc.Ichiro.SignPIN}}
		c.Step(webtest.Step{Name: "notify", Method: http.MethodPost, Path: notice, Form: nform, WantStatus: http.StatusSeeOther})
		c.Step(webtest.Step{Name: "notified", Path: "/postbox/", WantContains: []string{"日本放送協会", "日本郵便株式会社", "住所変更の通知を受け付けました"}})
		c.Step(webtest.Step{Name: "told already", Path: notice, WantContains: []string{"通知済み"}})
		if n := w.DeliverDue(); n != 2 {
			t.Errorf("%d notices delivered, want 2", n)
		}

		// Who read the box, in words.
		c.Step(webtest.Step{Name: "the audit trail", Path: "/postbox/audit", WantContains: []string{"カードでログインしました",
			"日本生命保険相互会社", "文書を届けました", "あなた", "同意を取り消しました", "変更案内を作成しました", "私書箱の運営者"}})

		// The assertion expires; the box session goes on while in use, then
		// lapses and the card is asked for again.
		w.Clock.Advance(10 * time.Minute)
		c.Step(webtest.Step{Name: "after the assertion expired", Path: "/postbox/", WantContains: []string{`id="documents"`}})
		w.Clock.Advance(postbox.SessionIdle)
		c.Step(webtest.Step{Name: "a send after the box session lapsed", Method: http.MethodPost, Path: "/postbox/compose", Form: form,
			WantStatus: http.StatusForbidden, WantContains: []string{"何も送信していません"}})
		c.Step(webtest.Step{Name: "after the box session lapsed", Path: "/postbox/", WantContains: []string{`id="login"`},
			WantNotContains: []string{"生命保険料控除証明書"}})

		// Someone else logs in on the same browser: her box, not his.
		c.Step(webtest.Step{Name: "log in as her", Path: "/test/login/yumi", WantStatus: http.StatusSeeOther})
		c.Step(webtest.Step{Name: "her box", Path: "/postbox/", WantContains: []string{"まだ文書はありません"},
			WantNotContains: []string{"生命保険料控除証明書"}})
		c.Step(webtest.Step{Name: "his document as her", Path: kojo, WantStatus: http.StatusNotFound})

		// Logging out ends the box session at the post box.
		c.Step(webtest.Step{Name: "log out", Method: http.MethodPost, Path: "/postbox/logout", Form: url.Values{}, WantStatus: http.StatusSeeOther})
		var open int
		if err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM postbox_sessions WHERE ended_at IS NULL AND expires_at > $1`,
			w.Clock.Now().Unix()).Scan(&open); err != nil || open != 0 {
			t.Errorf("%d box sessions open after the logout (%v), want 0", open, err)
		}
	})
}

// TestPagesWithoutThePostbox: the post box not answering is a page that
// says so, not a login page or a blank.
func TestPagesWithoutThePostbox(t *testing.T) {
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down for the test", http.StatusServiceUnavailable)
	}))
	t.Cleanup(down.Close)
	e := newPagesEnv(t, storetest.SQLite(t), down.URL)
	e.browser(t, "ichiro").Step(webtest.Step{Name: "the box", Path: "/postbox/", WantStatus: http.StatusServiceUnavailable,
		WantNotContains: []string{`id="login"`}})
}

// pinRefusals are the platform's audit rows of PINs the cards refused, as
// "action terminal person result reason".
func pinRefusals(t *testing.T, db *store.DB) []string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), `SELECT action, terminal_id, person_id, result, reason FROM platform_audit
WHERE action = $1 ORDER BY id`, platform.ActionPINRefusal)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a [5]string
		if err := rows.Scan(&a[0], &a[1], &a[2], &a[3], &a[4]); err != nil {
			t.Fatal(err)
		}
		out = append(out, strings.Join(a[:], " "))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
