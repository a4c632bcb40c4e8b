package staff_test

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/staff"
	"github.com/mynaplat/mynaplat/staff/stafftest"
	"github.com/mynaplat/mynaplat/staffdesk/desktest"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/wareki"
	"github.com/mynaplat/mynaplat/web"
)

const (
	signOffice   = "municipal:062049"
	signHome     = "/municipal/062049/office/"
	signPagePath = signHome + "sign"
	signPassword = "STAFF1980"
)

// signWorld is an office whose gate signs with the staff member's card:
// a JPKI centre that issued the cards, the platform's linkage as a map
// (serial → platform ID), and an office page whose callback keeps what
// the card signed.
type signWorld struct {
	srv   *httptest.Server
	iss   *stafftest.Issuer
	dir   *staff.Directory
	cards map[string]*card.Card // by platform ID ("" a card the platform does not know)

	mu     sync.Mutex
	stored []string // who signed, as the office's callback saw it
}

func newSignWorld(t *testing.T, db *store.DB) *signWorld {
	t.Helper()
	ctx := context.Background()
	sw := &signWorld{iss: stafftest.NewIssuer(t), cards: map[string]*card.Card{}}
	centre, err := jpki.Open(ctx, jpki.Config{DB: storetest.SQLite(t), Dir: t.TempDir(), BaseURL: "http://jpki.test", Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	cards, err := card.NewStore(t.TempDir(), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	persons := map[string]string{} // signing certificate serial → platform ID
	for i, who := range []struct{ pid, name string }{{"pid-clerk", "窓口　一"}, {"pid-stranger", "信濃　次郎"}, {"", "未登録　三郎"}} {
		c, err := cards.Create(card.Spec{AuthPIN: "1234", SignPIN: signPassword, TextPIN: "1234", MyNumber: []string{"123456789018", "234567890123", "345678901236"}[i],
			Name: who.name, Address: "山形県酒田市本町二丁目２番４５号", BirthDate: "19800401", Sex: "1"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := centre.IssueCard(ctx, jpki.Resident{Name: who.name, Kana: "テスト", BirthDate: time.Date(1980, 4, 1, 0, 0, 0, 0, wareki.JST()),
			Sex: jpki.Male, Address: "山形県酒田市本町二丁目２番４５号", Municipality: "062049"}, c); err != nil {
			t.Fatal(err)
		}
		if err := terminal.WithSigner(c, signPassword, func(cert *x509.Certificate, _ crypto.Signer) error {
			if who.pid != "" {
				persons[cert.SerialNumber.String()] = who.pid
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		sw.cards[who.pid] = c
	}
	site, err := web.New(ctx, web.Options{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	sw.dir = stafftest.Directory(t, db, time.Now)
	stafftest.Grant(t, sw.dir, staff.Grant{PlatformID: "pid-clerk", Name: "窓口　一", Office: signOffice, Role: staff.RegistryClerk,
		StaffNumber: "R-01", ValidFrom: time.Now().Add(-time.Hour), ValidUntil: time.Now().Add(time.Hour)})
	gate, err := staff.NewOfficeGate(staff.GateConfig{Site: site, Directory: sw.dir, Keys: sw.iss.Keys, Desk: "/staffdesk/",
		SignerPerson: func(_ context.Context, cert *x509.Certificate) (string, error) {
			if pid, ok := persons[cert.SerialNumber.String()]; ok {
				return pid, nil
			}
			return "", fmt.Errorf("%w: the signer has not used the platform", platform.ErrNotFound)
		}}, staff.Office{Kind: "municipal", PathValue: "code", Home: func(id string) string { return "/municipal/" + id + "/office/" },
		Name: func(context.Context, string) (string, error) { return "酒田市 戸籍住民課", nil }})
	if err != nil {
		t.Fatal(err)
	}
	// The office's home, a page of the site's that shows the flash.
	home, err := site.Parse(fstest.MapFS{"t/home.html": {Data: []byte(`{{define "title"}}office{{end}}{{define "content"}}office home{{end}}`)}}, "t/*.html")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	sw.srv = httptest.NewServer(site.Protect(mux))
	t.Cleanup(sw.srv.Close)
	site.Routes(mux)
	// The staff terminals, on the same host here: they reach the office
	// over HTTP all the same.
	desktest.Mount(t, mux, site, cards, sw.srv.URL, nil, stafftest.DeskTerminal)
	gate.Mount(mux, "/municipal/{code}/office/")
	mux.HandleFunc("GET /municipal/{code}/office/{$}", gate.Only(func(w http.ResponseWriter, r *http.Request, s *staff.Session) {
		home.Render(w, r, http.StatusOK, "home", nil)
	}))
	job := func(ctx context.Context, cert *x509.Certificate, signer crypto.Signer, when time.Time) error {
		sum := sha256.Sum256([]byte("転入届 T-1 " + when.Format(time.RFC3339Nano)))
		if _, err := signer.Sign(nil, sum[:], crypto.SHA256); err != nil {
			return err
		}
		sw.mu.Lock()
		sw.stored = append(sw.stored, persons[cert.SerialNumber.String()])
		sw.mu.Unlock()
		return nil
	}
	mux.HandleFunc("GET /municipal/{code}/office/sign", gate.Only(func(w http.ResponseWriter, r *http.Request, s *staff.Session) {
		gate.SendToSign(w, r, s, staff.SignRequest{TitleJA: "届出の決裁", TitleEN: "Approve the notice", WhatJA: "転入届 T-1 を決裁します。",
			WhatEN: "You approve the notice T-1.", LabelJA: "署名する", LabelEN: "Sign", Action: signPagePath, Back: signHome}, job)
	}))
	back := "POST /municipal/{code}/office/sign"
	site.CrossOriginLogin(back)
	mux.HandleFunc(back, gate.Only(func(w http.ResponseWriter, r *http.Request, s *staff.Session) {
		ok, err := gate.SignedAtDesk(w, r, s, signHome, job)
		switch {
		case errors.Is(err, staff.ErrSignState):
			site.Done(w, r, staff.SignStateRefusal, signHome)
		case err != nil:
			http.Error(w, err.Error(), http.StatusInternalServerError)
		case ok:
			fmt.Fprint(w, "signed by "+s.Grant.Name)
		}
	}))
	return sw
}

func (sw *signWorld) signed() []string {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	return append([]string(nil), sw.stored...)
}

// TestSignWithOwnCard: a member of staff signed in at an office signs with
// their own card on their staff terminal's reader through the kit's steps:
// the card to place, the signing password with its tries left; a wrong
// password says the tries left and a blocked card says so, another
// person's card (one the platform links to someone else, or to no one)
// is refused in Japanese and English, in the directory's audit; none of
// these reaches the office's callback. The right password on their own
// card signs once, and the card comes off the reader.
func TestSignWithOwnCard(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		sw := newSignWorld(t, db)
		c := webtest.New(t, sw.srv.URL)
		stafftest.NeedStaff(t, c, signHome, []webtest.Step{
			{Name: "the signing page", Path: signPagePath},
			{Name: "the signature back", Path: signPagePath, Form: url.Values{"state": {"x"}}, NoToken: true},
		})
		sw.iss.SignInAs(c, signHome, "pid-clerk", time.Now())
		const desk = "/staffdesk/" + stafftest.DeskTerminal + "/sign"
		// start goes from the office to the desk with a new handoff.
		start := func() {
			t.Helper()
			r := c.Step(webtest.Step{Name: "the office sends the browser to the desk", Path: signPagePath, WantStatus: http.StatusSeeOther})
			u, err := url.Parse(r.Location())
			if err != nil || u.Path != desk || u.Query().Get("office") != signOffice || len(u.Query().Get("state")) != 32 {
				t.Fatalf("the office sent the browser to %q", r.Location())
			}
			c.Step(webtest.Step{Name: "the desk takes the handoff", Path: r.Location(), WantStatus: http.StatusSeeOther, WantLocation: desk})
		}
		place := func(who string) {
			t.Helper()
			c.Step(webtest.Step{Name: "place " + who + "'s card", Path: desk + "/place", Form: url.Values{"card": {sw.cards[who].ID()}},
				WantStatus: http.StatusSeeOther, WantLocation: desk})
		}
		sign := func(name, password string) {
			t.Helper()
			c.Step(webtest.Step{Name: name, Path: desk, Form: url.Values{"password": {password}}, WantStatus: http.StatusSeeOther, WantLocation: desk})
		}
		msg := func(o terminal.Outcome, left int) string {
			return html.EscapeString(terminal.Result{Outcome: o, TriesLeft: left, Wrong: true}.Message().JA)
		}
		notOwn := html.EscapeString("このカードの署名用電子証明書は、ログインしている職員本人のものではありません。何も署名していません。")
		start()
		c.Step(webtest.Step{Name: "the desk's page: what is signed, place the card", Path: desk,
			WantContains: []string{"転入届 T-1 を決裁します。", `id="place"`, `action="` + desk + `/place"`, "窓口　一", "酒田市 戸籍住民課"}})

		// Another person's card: the platform says it is theirs.
		place("pid-stranger")
		c.Step(webtest.Step{Name: "the password step", Path: desk,
			WantContains: []string{`id="sign-form"`, `action="` + desk + `"`, `id="sign-left">5<`, `action="` + desk + `/remove"`}})
		sign("the stranger's card, its right password", signPassword)
		c.Step(webtest.Step{Name: "refused, the card off the reader", Path: desk, WantContains: []string{notOwn, `id="place"`}})
		// A card the platform links to no one.
		place("")
		sign("an unknown card", signPassword)
		c.Step(webtest.Step{Name: "refused too", Path: desk, WantContains: []string{notOwn}})
		c.Step(webtest.Step{Name: "in English", Path: "/lang?" + url.Values{"to": {"en"}, "back": {desk}}.Encode(), WantStatus: http.StatusSeeOther})
		place("")
		sign("again, in English", signPassword)
		c.Step(webtest.Step{Name: "refused in English", Path: desk, WantContains: []string{
			"This card&#39;s signing certificate is not that of the member of staff signed in. Nothing was signed."}})
		c.Step(webtest.Step{Name: "to Japanese", Path: "/lang?" + url.Values{"to": {"ja"}, "back": {desk}}.Encode(), WantStatus: http.StatusSeeOther})

		// Their own card: a wrong password, then the right one.
		place("pid-clerk")
		sign("a wrong password", "WRONG1")
		c.Step(webtest.Step{Name: "4 tries left", Path: desk, WantContains: []string{msg(terminal.SignWrong, 4), `id="sign-left">4<`}})
		if got := sw.signed(); len(got) != 0 {
			t.Fatalf("the office's job completed on a refusal: %v", got)
		}
		r := c.Step(webtest.Step{Name: "the right password", Path: desk, Form: url.Values{"password": {signPassword}},
			WantContains: []string{`id="signback"`, `action="` + signPagePath + `"`}})
		form := hidden(t, r.Body, "state", "certificate", "signature")
		if got := sw.signed(); len(got) != 0 {
			t.Fatalf("the office's job completed before the signature came back: %v", got)
		}
		// A signature over something else is refused, and uses the state up.
		bad := url.Values{"state": form["state"], "certificate": form["certificate"], "signature": {base64.StdEncoding.EncodeToString(make([]byte, 256))}}
		c.Step(webtest.Step{Name: "a signature over something else", Path: signPagePath, Form: bad, NoToken: true, WantStatus: http.StatusSeeOther, WantLocation: signHome})
		c.Step(webtest.Step{Name: "refused", Path: signHome, WantContains: []string{html.EscapeString("事務所の求めた内容と一致しません")}})
		c.Step(webtest.Step{Name: "the right signature, its state used up", Path: signPagePath, Form: form, NoToken: true, WantStatus: http.StatusSeeOther})
		c.Step(webtest.Step{Name: "refused: the state", Path: signHome, WantContains: []string{html.EscapeString("署名の手続きが古いか、別の画面のものです。")}})
		if got := sw.signed(); len(got) != 0 {
			t.Fatalf("signed: %v, want none", got)
		}
		// Again, right through.
		start()
		place("pid-clerk")
		r = c.Step(webtest.Step{Name: "the right password again", Path: desk, Form: url.Values{"password": {signPassword}}, WantContains: []string{`id="signback"`}})
		form = hidden(t, r.Body, "state", "certificate", "signature")
		c.Step(webtest.Step{Name: "the signature back", Path: signPagePath, Form: form, NoToken: true, WantContains: []string{"signed by 窓口　一"}})
		if got := sw.signed(); len(got) != 1 || got[0] != "pid-clerk" {
			t.Fatalf("signed: %v, want once by pid-clerk", got)
		}
		c.Step(webtest.Step{Name: "a double submit", Path: signPagePath, Form: form, NoToken: true, WantStatus: http.StatusSeeOther})
		if got := sw.signed(); len(got) != 1 {
			t.Fatalf("signed: %v, want the one signature", got)
		}
		c.Step(webtest.Step{Name: "the desk keeps nothing", Path: desk, WantStatus: http.StatusSeeOther})

		// A blocked card: the stranger's after five wrong passwords.
		start()
		place("pid-stranger")
		for i := range 4 {
			sign(fmt.Sprintf("wrong %d", i+1), "WRONG1")
		}
		c.Step(webtest.Step{Name: "the last try", Path: desk, WantContains: []string{msg(terminal.SignLastTry, 1), `id="sign-last-try"`}})
		sign("wrong 5", "WRONG1")
		blocked := html.EscapeString(terminal.Result{Outcome: terminal.SignBlocked}.Message().JA)
		c.Step(webtest.Step{Name: "blocked", Path: desk, WantContains: []string{blocked}, WantNotContains: []string{`id="sign-form"`}})
		sign("a blocked card", signPassword)
		c.Step(webtest.Step{Name: "still blocked", Path: desk, WantContains: []string{blocked}})
		if got := sw.signed(); len(got) != 1 {
			t.Fatalf("signed: %v, want the one signature", got)
		}

		// The refusals of another's card are in the directory's audit.
		rows, err := sw.dir.Audit(ctx, signOffice, 50)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range rows {
			if e.Action == "sign" && e.Result == "REFUSED:"+string(staff.CodeNotOwnCard) && e.PlatformID == "pid-clerk" {
				n++
			}
		}
		if n != 3 {
			t.Errorf("%d audit rows of a refused card, want 3: %+v", n, rows)
		}
	})
}

// hidden is the values of a page's hidden inputs names.
func hidden(t *testing.T, body string, names ...string) url.Values {
	t.Helper()
	out := url.Values{}
	for _, n := range names {
		m := regexp.MustCompile(`name="` + n + `" value="([^"]*)"`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no %s in the page: %s", n, body)
		}
		out.Set(n, html.UnescapeString(m[1]))
	}
	return out
}

// TestSignOff: without the platform to say whose card it is, the office
// does not send anyone to sign, and a signature posted back is refused.
func TestSignOff(t *testing.T) {
	db := storetest.SQLite(t)
	ctx := context.Background()
	site, err := web.New(ctx, web.Options{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	iss := stafftest.NewIssuer(t)
	dir := stafftest.Directory(t, db, time.Now)
	stafftest.Grant(t, dir, staff.Grant{PlatformID: "pid-clerk", Name: "窓口　一", Office: signOffice, Role: staff.RegistryClerk,
		StaffNumber: "R-01", ValidFrom: time.Now().Add(-time.Hour), ValidUntil: time.Now().Add(time.Hour)})
	gate, err := staff.NewOfficeGate(staff.GateConfig{Site: site, Directory: dir, Keys: iss.Keys, Desk: "/staffdesk/"},
		staff.Office{Kind: "municipal", PathValue: "code", Home: func(id string) string { return "/municipal/" + id + "/office/" },
			Name: func(context.Context, string) (string, error) { return "酒田市 戸籍住民課", nil }})
	if err != nil {
		t.Fatal(err)
	}
	ran := false
	job := func(context.Context, *x509.Certificate, crypto.Signer, time.Time) error { ran = true; return nil }
	mux := http.NewServeMux()
	site.Routes(mux)
	gate.Mount(mux, "/municipal/{code}/office/")
	mux.HandleFunc("GET /municipal/{code}/office/{$}", gate.Only(func(w http.ResponseWriter, r *http.Request, s *staff.Session) {}))
	mux.HandleFunc("GET /municipal/{code}/office/sign", gate.Only(func(w http.ResponseWriter, r *http.Request, s *staff.Session) {
		if gate.CanSign(s) {
			t.Error("CanSign without the platform's linkage")
		}
		gate.SendToSign(w, r, s, staff.SignRequest{TitleJA: "決裁", TitleEN: "Approve", Action: signPagePath, Back: signHome}, job)
	}))
	mux.HandleFunc("POST /municipal/{code}/office/sign", gate.Only(func(w http.ResponseWriter, r *http.Request, s *staff.Session) {
		gate.SignedAtDesk(w, r, s, signPagePath, job)
	}))
	srv := httptest.NewServer(site.Protect(mux))
	t.Cleanup(srv.Close)
	c := webtest.New(t, srv.URL)
	iss.SignInAs(c, signHome, "pid-clerk", time.Now())
	c.Step(webtest.Step{Name: "the page", Path: signPagePath, WantStatus: http.StatusServiceUnavailable, WantContains: []string{"ここではカードで署名できません"}})
	c.Step(webtest.Step{Name: "a post", Path: signPagePath, Form: url.Values{"state": {"x"}}, WantStatus: http.StatusServiceUnavailable})
	if ran {
		t.Error("the job ran")
	}
}
