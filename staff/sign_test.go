package staff_test

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
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
		Signing: desktest.Signing(t, site, cards, stafftest.DeskTerminal),
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
	mux := http.NewServeMux()
	site.Routes(mux)
	gate.Mount(mux, "/municipal/{code}/office/")
	mux.HandleFunc("GET /municipal/{code}/office/{$}", gate.Only(func(w http.ResponseWriter, r *http.Request, s *staff.Session) {
		fmt.Fprint(w, "office home")
	}))
	mux.HandleFunc("GET /municipal/{code}/office/sign", gate.Only(func(w http.ResponseWriter, r *http.Request, s *staff.Session) {
		gate.SignPage(w, r, s, staff.SignRequest{TitleJA: "届出の決裁", TitleEN: "Approve the notice", WhatJA: "転入届 T-1 を決裁します。",
			WhatEN: "You approve the notice T-1.", LabelJA: "署名する", LabelEN: "Sign", Action: signPagePath, Back: signHome})
	}))
	mux.HandleFunc("POST /municipal/{code}/office/sign", gate.Only(func(w http.ResponseWriter, r *http.Request, s *staff.Session) {
		ok, err := gate.Sign(w, r, s, signPagePath, func(cert *x509.Certificate, signer crypto.Signer) error {
			sum := sha256.Sum256([]byte("転入届 T-1"))
			if _, err := signer.Sign(nil, sum[:], crypto.SHA256); err != nil {
				return err
			}
			sw.mu.Lock()
			sw.stored = append(sw.stored, persons[cert.SerialNumber.String()])
			sw.mu.Unlock()
			return nil
		})
		switch {
		case err != nil:
			http.Error(w, err.Error(), http.StatusInternalServerError)
		case ok:
			fmt.Fprint(w, "signed by "+s.Grant.Name)
		}
	}))
	sw.srv = httptest.NewServer(site.Protect(mux))
	t.Cleanup(sw.srv.Close)
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
			{Name: "place a card", Path: signHome + "card/place", Form: url.Values{"card": {sw.cards["pid-clerk"].ID()}}},
			{Name: "sign", Path: signPagePath, Form: url.Values{"password": {signPassword}}},
		})
		sw.iss.SignInAs(c, signHome, "pid-clerk", time.Now())
		place := func(who string) {
			t.Helper()
			c.Step(webtest.Step{Name: "place " + who + "'s card", Path: signHome + "card/place", Form: url.Values{"card": {sw.cards[who].ID()}},
				WantStatus: http.StatusSeeOther, WantLocation: signPagePath})
		}
		sign := func(name, password string) {
			t.Helper()
			c.Step(webtest.Step{Name: name, Path: signPagePath, Form: url.Values{"password": {password}}, WantStatus: http.StatusSeeOther, WantLocation: signPagePath})
		}
		msg := func(o terminal.Outcome, left int) string {
			return html.EscapeString(terminal.Result{Outcome: o, TriesLeft: left, Wrong: true}.Message().JA)
		}
		notOwn := html.EscapeString("このカードの署名用電子証明書は、ログインしている職員本人のものではありません。何も署名していません。")
		c.Step(webtest.Step{Name: "the page: what is signed, place the card", Path: signPagePath,
			WantContains: []string{"転入届 T-1 を決裁します。", `id="place"`, `action="` + signHome + `card/place"`, "窓口　一"}})

		// Another person's card: the platform says it is theirs.
		place("pid-stranger")
		c.Step(webtest.Step{Name: "the password step", Path: signPagePath,
			WantContains: []string{`id="sign-form"`, `action="` + signPagePath + `"`, `id="sign-left">5<`, `action="` + signHome + `card/remove"`}})
		sign("the stranger's card, its right password", signPassword)
		c.Step(webtest.Step{Name: "refused", Path: signPagePath, WantContains: []string{notOwn}})
		// A card the platform links to no one.
		c.Step(webtest.Step{Name: "remove", Path: signHome + "card/remove", Form: url.Values{}, WantStatus: http.StatusSeeOther, WantLocation: signPagePath})
		place("")
		sign("an unknown card", signPassword)
		c.Step(webtest.Step{Name: "refused too", Path: signPagePath, WantContains: []string{notOwn}})
		c.Step(webtest.Step{Name: "in English", Path: "/lang?" + url.Values{"to": {"en"}, "back": {signPagePath}}.Encode(), WantStatus: http.StatusSeeOther})
		sign("again, in English", signPassword)
		c.Step(webtest.Step{Name: "refused in English", Path: signPagePath, WantContains: []string{
			"This card&#39;s signing certificate is not that of the member of staff signed in. Nothing was signed."}})
		c.Step(webtest.Step{Name: "to Japanese", Path: "/lang?" + url.Values{"to": {"ja"}, "back": {signPagePath}}.Encode(), WantStatus: http.StatusSeeOther})

		// Their own card: a wrong password, then the right one.
		place("pid-clerk")
		sign("a wrong password", "WRONG1")
		c.Step(webtest.Step{Name: "4 tries left", Path: signPagePath, WantContains: []string{msg(terminal.SignWrong, 4), `id="sign-left">4<`}})
		if got := sw.signed(); len(got) != 0 {
			t.Fatalf("the office's callback ran on a refusal: %v", got)
		}
		c.Step(webtest.Step{Name: "the right password", Path: signPagePath, Form: url.Values{"password": {signPassword}},
			WantContains: []string{"signed by 窓口　一"}})
		if got := sw.signed(); len(got) != 1 || got[0] != "pid-clerk" {
			t.Fatalf("signed: %v, want once by pid-clerk", got)
		}
		c.Step(webtest.Step{Name: "the card is off the reader", Path: signPagePath, WantContains: []string{`id="place"`},
			WantNotContains: []string{`id="sign-form"`}})

		// A blocked card: the stranger's after five wrong passwords.
		place("pid-stranger")
		for i := range 4 {
			sign(fmt.Sprintf("wrong %d", i+1), "WRONG1")
		}
		c.Step(webtest.Step{Name: "the last try", Path: signPagePath, WantContains: []string{msg(terminal.SignLastTry, 1), `id="sign-last-try"`}})
		sign("wrong 5", "WRONG1")
		blocked := html.EscapeString(terminal.Result{Outcome: terminal.SignBlocked}.Message().JA)
		c.Step(webtest.Step{Name: "blocked", Path: signPagePath, WantContains: []string{blocked}, WantNotContains: []string{`id="sign-form"`}})
		sign("a blocked card", signPassword)
		c.Step(webtest.Step{Name: "still blocked", Path: signPagePath, WantContains: []string{blocked}})
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

// TestSignOff: without the staff terminal's reader in this process the
// signing page says so and a post signs nothing; so does a session made at
// a staff terminal that does not run here.
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
	mux := http.NewServeMux()
	site.Routes(mux)
	gate.Mount(mux, "/municipal/{code}/office/")
	mux.HandleFunc("GET /municipal/{code}/office/{$}", gate.Only(func(w http.ResponseWriter, r *http.Request, s *staff.Session) {}))
	mux.HandleFunc("GET /municipal/{code}/office/sign", gate.Only(func(w http.ResponseWriter, r *http.Request, s *staff.Session) {
		if gate.CanSign(s) {
			t.Error("CanSign without kits")
		}
		gate.SignPage(w, r, s, staff.SignRequest{TitleJA: "決裁", TitleEN: "Approve", Action: signPagePath, Back: signHome})
	}))
	mux.HandleFunc("POST /municipal/{code}/office/sign", gate.Only(func(w http.ResponseWriter, r *http.Request, s *staff.Session) {
		gate.Sign(w, r, s, signPagePath, func(*x509.Certificate, crypto.Signer) error { ran = true; return nil })
	}))
	srv := httptest.NewServer(site.Protect(mux))
	t.Cleanup(srv.Close)
	c := webtest.New(t, srv.URL)
	iss.SignInAs(c, signHome, "pid-clerk", time.Now())
	c.Step(webtest.Step{Name: "the page", Path: signPagePath, WantStatus: http.StatusServiceUnavailable, WantContains: []string{"ここではカードで署名できません"}})
	c.Step(webtest.Step{Name: "a post", Path: signPagePath, Form: url.Values{"password": {signPassword}}, WantStatus: http.StatusServiceUnavailable})
	if ran {
		t.Error("the callback ran")
	}
}
