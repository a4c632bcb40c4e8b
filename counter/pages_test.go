package counter_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"html"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/counter"
	"github.com/mynaplat/mynaplat/internal/callerkey"
	"github.com/mynaplat/mynaplat/internal/trace"
	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/staff"
	"github.com/mynaplat/mynaplat/staff/stafftest"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/wareki"
	"github.com/mynaplat/mynaplat/web"
)

// counterEnv is a centre with the counter pages of 須坂市 (202070), served
// the way the server serves them: everything inside site.Protect, behind
// the counter's staff gate, with its clerk signed in.
type counterEnv struct {
	centre *jpki.Centre
	cards  *card.Store
	srv    *httptest.Server
	logs   *bytes.Buffer
	web    *webtest.Client // a browser that does not follow redirects, the clerk signed in
	db     *store.DB
	iss    *stafftest.Issuer
	dir    *staff.Directory
	clock  *time.Time
}

// The test counter's town and its staff: a clerk and a supervisor of the
// counter, a second clerk, and a clerk of 酒田市's counter.
const (
	town         = "202070"
	clerkID      = "pid-counter-clerk"
	supervisorID = "pid-counter-supervisor"
	clerk2ID     = "pid-counter-clerk-2"
	sakataID     = "pid-sakata-clerk"
)

func (e *counterEnv) now() time.Time { return *e.clock }

// signIn signs c in at the counter as platformID, with a card login at the
// staff terminal now.
func (e *counterEnv) signIn(c *webtest.Client, platformID string) {
	e.iss.SignInAs(c, counter.Home, platformID, e.now())
}

func newCounterEnv(t *testing.T) *counterEnv {
	t.Helper()
	return newCounterEnvWith(t, func(url, key string) *jpki.CounterClient { return jpki.NewCounterClient(url, key, town, nil) })
}

// newCounterEnvWith is a counterEnv whose pages reach the centre with the
// client that client makes from the centre's URL and the counter's key.
func newCounterEnvWith(t *testing.T, client func(url, key string) *jpki.CounterClient) *counterEnv {
	t.Helper()
	ctx := context.Background()
	at := time.Date(2026, 11, 24, 10, 0, 0, 0, wareki.JST())
	clock := &at
	now := func() time.Time { return *clock }
	logs := &bytes.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	db := storetest.SQLite(t)
	srv := httptest.NewServer(nil)
	t.Cleanup(srv.Close)
	centre, err := jpki.Open(ctx, jpki.Config{DB: db, Dir: t.TempDir(), BaseURL: srv.URL, Now: now, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	site, err := web.New(ctx, web.Options{DB: db, Now: now, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	cards, err := card.NewStore(t.TempDir(), now)
	if err != nil {
		t.Fatal(err)
	}
	// The pages reach the centre over HTTP, under the counter's caller key,
	// as across processes.
	key := callerkey.New()
	iss := stafftest.NewIssuer(t)
	dir := stafftest.Directory(t, db, now)
	for _, g := range []staff.Grant{
		{PlatformID: clerkID, Name: "臥竜　翼", Office: counter.OfficeID(town), Role: staff.CounterClerk, StaffNumber: "C-202070-01"},
		{PlatformID: supervisorID, Name: "須坂　節子", Office: counter.OfficeID(town), Role: staff.CounterSupervisor, StaffNumber: "C-202070-90"},
		{PlatformID: clerk2ID, Name: "米子　次郎", Office: counter.OfficeID(town), Role: staff.CounterClerk, StaffNumber: "C-202070-02"},
		{PlatformID: sakataID, Name: "日和山　翼", Office: counter.OfficeID("062049"), Role: staff.CounterClerk, StaffNumber: "C-062049-01"},
	} {
		stafftest.Grant(t, dir, g)
	}
	office, err := counter.StaffOffice(town)
	if err != nil {
		t.Fatal(err)
	}
	gate, err := staff.NewOfficeGate(staff.GateConfig{Site: site, Directory: dir, Keys: iss.Keys, Desk: "/staffdesk/test/", Now: now, Logger: logger}, office)
	if err != nil {
		t.Fatal(err)
	}
	pages, err := counter.NewPages(counter.PagesConfig{Site: site, Cards: cards, Now: now, Logger: logger,
		Centre: client(srv.URL, key), Staff: gate})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	centre.Routes(mux)
	centre.CounterRoutes(mux, callerkey.Keys{}.Add("counter", key))
	site.Routes(mux)
	mux.Handle("/counter/", pages)
	srv.Config.Handler = trace.Middleware(site.Protect(centre.Wrap(mux)))
	e := &counterEnv{centre: centre, cards: cards, srv: srv, logs: logs, web: webtest.New(t, srv.URL), db: db, iss: iss, dir: dir, clock: clock}
	e.signIn(e.web, clerkID)
	return e
}

var deskStateRe = regexp.MustCompile(`id="approve-at-desk" href="[^"]*[?&;]state=([0-9a-f]+)`)

// approve has platformID approve the clerk's request at reqPath with a
// card login at the staff terminal, as the terminal's hand-over posts it:
// the answer of the counter's login endpoint.
func (e *counterEnv) approve(t *testing.T, reqPath, platformID string) *webtest.Response {
	t.Helper()
	c := e.web.With(t)
	page := c.Step(webtest.Step{Name: "the request " + reqPath, Path: reqPath, WantContains: []string{`id="awaiting-approval"`}})
	m := deskStateRe.FindStringSubmatch(html.UnescapeString(page.Body))
	if m == nil {
		t.Fatalf("no approval state on %s:\n%s", reqPath, page.Body)
	}
	return c.PostForm("/counter/login", url.Values{"assertion": {e.iss.Assertion(stafftest.StaffLogin(platformID, e.now()))}, "state": {m[1]}})
}

// request prepares a procedure on the card's page (loc) and returns the
// request's page.
func (e *counterEnv) request(t *testing.T, loc string, form url.Values) string {
	t.Helper()
	if !form.Has("identity") {
		form.Set("identity", "card")
	}
	r := e.post(t, loc, loc+"/requests", form)
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location(), "/counter/requests/") {
		t.Fatalf("prepare %v: %d %s\n%s", form, r.Status, r.Location(), r.Body)
	}
	return r.Location()
}

// approved prepares a procedure, has the supervisor approve it and returns
// the request's page.
func (e *counterEnv) approved(t *testing.T, loc string, form url.Values) string {
	t.Helper()
	req := e.request(t, loc, form)
	if r := e.approve(t, req, supervisorID); r.Status != http.StatusSeeOther || r.Location() != req {
		t.Fatalf("approval: %d to %s\n%s", r.Status, r.Location(), r.Body)
	}
	return req
}

// runApproved prepares, approves and runs a loss, death or revocation.
func (e *counterEnv) runApproved(t *testing.T, loc string, form url.Values) *webtest.Response {
	t.Helper()
	req := e.approved(t, loc, form)
	return e.post(t, req, req, url.Values{})
}

// post submits a form the way a browser does after loading page: with the
// CSRF token from it (unless form already has a csrf entry).
func (e *counterEnv) post(t *testing.T, page, action string, form url.Values) *webtest.Response {
	t.Helper()
	c := e.web.With(t)
	if !form.Has("csrf") {
		c.Step(webtest.Step{Name: "open " + page, Path: page, WantContains: []string{`name="csrf"`}})
	}
	return c.PostForm(action, form)
}

// follow checks a POST-redirect-GET answer and loads the page it leads to.
func (e *counterEnv) follow(t *testing.T, r *webtest.Response) (string, *webtest.Response) {
	t.Helper()
	if r.Status != http.StatusSeeOther {
		t.Fatalf("status %d, want 303:\n%s", r.Status, r.Body)
	}
	loc := r.Location()
	return loc, e.web.With(t).Step(webtest.Step{Name: "after the redirect", Path: loc})
}

// crl fetches and parses a CRL: serial → reason code.
func (e *counterEnv) crl(t *testing.T, k jpki.Kind) map[string]int {
	t.Helper()
	der := e.web.With(t).Get("/jpki/crl/" + string(k) + ".crl").Body
	rl, err := x509.ParseRevocationList([]byte(der))
	if err != nil {
		t.Fatalf("parse %s CRL: %v", k, err)
	}
	out := map[string]int{}
	for _, en := range rl.RevokedCertificateEntries {
		out[jpki.Serial(en.SerialNumber)] = en.ReasonCode
	}
	return out
}

// current returns the live certificate serials of a card by kind.
func (e *counterEnv) current(t *testing.T, id string) map[jpki.Kind]string {
	t.Helper()
	certs, err := e.centre.CardCertificates(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	out := map[jpki.Kind]string{}
	for _, c := range certs {
		if c.Status == jpki.StatusGood && out[c.Kind] == "" {
			out[c.Kind] = c.Serial
		}
	}
	return out
}

func flashOf(t *testing.T, page *webtest.Response) string {
	t.Helper()
	_, text := page.Flash()
	if text == "" {
		t.Fatalf("no flash on the page:\n%s", page.Body)
	}
	return text
}

func issueForm() url.Values {
	return url.Values{
		"name": {"須坂 花子"}, "kana": {"スザカ ハナコ"}, "birth": {"1980-02-29"}, "sex": {"2"},
		"address": {"長野県須坂市大字須坂１２３４番地"}, "municipality": {"202070"},
		"auth_pin": {"4821"}, "sign_pin": {"pass4SIGN"}, "label": {"窓口テスト"},
	}
}

func TestCounterLifecycle(t *testing.T) {
	e := newCounterEnv(t)

	// Issue through the form.
	r := e.post(t, "/counter/issue", "/counter/issue", issueForm())
	loc, page := e.follow(t, r)
	id := strings.TrimPrefix(loc, "/counter/cards/")
	first := e.current(t, id)
	if first[jpki.Auth] == "" || first[jpki.Sign] == "" {
		t.Fatalf("issued certificates: %v", first)
	}
	flash := flashOf(t, page)
	for _, want := range []string{"カードを発行しました", id, first[jpki.Auth], first[jpki.Sign]} {
		if !strings.Contains(flash, want) {
			t.Errorf("issue flash %q lacks %q", flash, want)
		}
	}
	if !strings.Contains(page.Body, "須坂　花子") || !strings.Contains(page.Body, "昭和55年2月29日") {
		t.Error("card page lacks the holder's name or the 和暦 birth date")
	}
	cd, err := e.cards.Open(id)
	if err != nil {
		t.Fatal(err)
	}
	if in := cd.Info(); !in.HasAuthCert || !in.HasSignCert || in.Label != "窓口テスト" || in.Holder != "須坂　花子" {
		t.Errorf("card info after issue: %+v", in)
	}
	// The flash is shown once.
	if again := e.web.With(t).Get(loc).Body; strings.Contains(again, "カードを発行しました") {
		t.Error("the flash was shown twice")
	}
	list := e.web.With(t).Get("/counter/").Body
	for _, want := range []string{id, first[jpki.Auth], "/jpki/crl/auth.crl", "/jpki/crl/sign.crl"} {
		if !strings.Contains(list, want) {
			t.Errorf("card list lacks %q", want)
		}
	}

	// Renew: both old certificates superseded, on the CRLs at once.
	r = e.post(t, loc, loc+"/renew", url.Values{})
	_, page = e.follow(t, r)
	renewed := e.current(t, id)
	flash = flashOf(t, page)
	for _, want := range []string{"更新しました", renewed[jpki.Auth], renewed[jpki.Sign]} {
		if !strings.Contains(flash, want) {
			t.Errorf("renew flash %q lacks %q", flash, want)
		}
	}
	if renewed[jpki.Auth] == first[jpki.Auth] || renewed[jpki.Sign] == first[jpki.Sign] {
		t.Errorf("renewal kept a serial: %v → %v", first, renewed)
	}
	if got := e.crl(t, jpki.Auth)[first[jpki.Auth]]; got != int(jpki.Superseded) {
		t.Errorf("old auth serial on the CRL with reason %d, want superseded", got)
	}

	// Change of address: only the signing certificate changes.
	r = e.post(t, loc, loc+"/address", url.Values{"name": {"須坂　花子"}, "address": {"長野県須坂市大字須坂２番地"}, "municipality": {town}})
	_, page = e.follow(t, r)
	moved := e.current(t, id)
	if moved[jpki.Auth] != renewed[jpki.Auth] || moved[jpki.Sign] == renewed[jpki.Sign] {
		t.Errorf("change of address: %v → %v", renewed, moved)
	}
	if flash = flashOf(t, page); !strings.Contains(flash, moved[jpki.Sign]) || !strings.Contains(flash, "affiliationChanged") {
		t.Errorf("address flash %q", flash)
	}
	if got := e.crl(t, jpki.Sign)[renewed[jpki.Sign]]; got != int(jpki.AffiliationChanged) {
		t.Errorf("old sign serial on the CRL with reason %d, want affiliationChanged", got)
	}
	if !strings.Contains(page.Body, "長野県須坂市大字須坂２番地") {
		t.Error("card page does not show the new address")
	}

	// Loss: every live certificate revoked as keyCompromise, at once, with
	// the supervisor's approval.
	r = e.runApproved(t, loc, url.Values{"action": {"loss"}, "identity": {"documents"}})
	_, page = e.follow(t, r)
	if flash = flashOf(t, page); !strings.Contains(flash, moved[jpki.Auth]) || !strings.Contains(flash, moved[jpki.Sign]) || !strings.Contains(flash, "須坂　節子") {
		t.Errorf("loss flash %q lacks the revoked serials", flash)
	}
	for _, k := range jpki.Kinds {
		if got := e.crl(t, k)[moved[k]]; got != int(jpki.KeyCompromise) {
			t.Errorf("%s serial %s on the CRL with reason %d, want keyCompromise", k, moved[k], got)
		}
	}
	if live := e.current(t, id); len(live) != 0 {
		t.Errorf("live certificates after loss: %v", live)
	}

	// A second loss report is refused with a message, not an error page.
	r = e.runApproved(t, loc, url.Values{"action": {"loss"}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "この内容では処理できません") {
		t.Errorf("second loss report: %d\n%s", r.Status, r.Body)
	}

	// Nothing secret reached the log.
	for _, secret := range []string{"4821", "PASS4SIGN", "pass4SIGN"} {
		if strings.Contains(e.logs.String(), secret) {
			t.Errorf("the log contains the PIN %q", secret)
		}
	}
}

func TestCounterRevokeOneAndDeath(t *testing.T) {
	e := newCounterEnv(t)
	r := e.post(t, "/counter/issue", "/counter/issue", issueForm())
	loc, _ := e.follow(t, r)
	id := strings.TrimPrefix(loc, "/counter/cards/")
	cur := e.current(t, id)

	r = e.runApproved(t, loc, url.Values{"action": {"revoke"}, "cert": {"sign:" + cur[jpki.Sign]}, "reason": {"keyCompromise"}})
	_, page := e.follow(t, r)
	if flash := flashOf(t, page); !strings.Contains(flash, cur[jpki.Sign]) || !strings.Contains(flash, "keyCompromise") {
		t.Errorf("revoke flash %q", flash)
	}
	if got := e.crl(t, jpki.Sign)[cur[jpki.Sign]]; got != int(jpki.KeyCompromise) {
		t.Errorf("revoked sign serial on the CRL with reason %d", got)
	}

	// Another card's certificate cannot be revoked from this card's page.
	r = e.post(t, "/counter/issue", "/counter/issue", issueForm())
	other, _ := e.follow(t, r)
	otherAuth := e.current(t, strings.TrimPrefix(other, "/counter/cards/"))[jpki.Auth]
	r = e.post(t, loc, loc+"/requests", url.Values{"action": {"revoke"}, "cert": {"auth:" + otherAuth}, "reason": {"keyCompromise"}, "identity": {"card"}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "要求の内容に誤りがあります") {
		t.Errorf("revoking another card's certificate: %d", r.Status)
	}
	if _, ok := e.crl(t, jpki.Auth)[otherAuth]; ok {
		t.Error("another card's certificate was revoked")
	}

	r = e.runApproved(t, loc, url.Values{"action": {"death"}, "identity": {"documents"}})
	_, page = e.follow(t, r)
	if flash := flashOf(t, page); !strings.Contains(flash, cur[jpki.Auth]) {
		t.Errorf("death flash %q lacks the auth serial", flash)
	}
	if got := e.crl(t, jpki.Auth)[cur[jpki.Auth]]; got != int(jpki.CessationOfOperation) {
		t.Errorf("auth serial on the CRL with reason %d, want cessationOfOperation", got)
	}

	e.web.With(t).Step(webtest.Step{Name: "unknown card", Path: "/counter/cards/nosuchcard", WantStatus: http.StatusNotFound})
}

func TestCounterBadInput(t *testing.T) {
	tests := []struct {
		name   string
		lang   string
		change url.Values
		want   []string
	}{
		{"future birth date", "ja", url.Values{"birth": {"2027-01-01"}}, []string{"生年月日が未来の日付です。"}},
		{"future birth date in English", "en", url.Values{"birth": {"2027-01-01"}}, []string{"The birth date is in the future."}},
		{"unreadable birth date", "ja", url.Values{"birth": {"昭和55年"}}, []string{"1980-02-29 の形で"}},
		{"auth PIN with a letter", "ja", url.Values{"auth_pin": {"12a4"}}, []string{"利用者証明用暗証番号は数字4桁です。"}},
		{"auth PIN too long", "en", url.Values{"auth_pin": {"123456"}}, []string{"The authentication PIN is 4 digits."}},
		{"signing password too short", "ja", url.Values{"sign_pin": {"AB12"}}, []string{"署名用パスワードは英大文字と数字の6〜16文字です。"}},
		{"signing password missing", "ja", url.Values{"sign_pin": {""}}, []string{"15歳以上の方は署名用パスワードが必要です。"}},
		{"no municipality", "ja", url.Values{"municipality": {""}}, []string{"市区町村を選んでください。"}},
		{"several problems", "ja", url.Values{"name": {" "}, "sex": {""}, "text_pin": {"1"}},
			[]string{"氏名を入力してください。", "性別を選んでください。", "券面事項入力補助用暗証番号は数字4桁です。"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newCounterEnv(t)
			e.web.SetCookie("lang", tt.lang)
			form := issueForm()
			for k, v := range tt.change {
				form[k] = v
			}
			r := e.post(t, "/counter/issue", "/counter/issue", form)
			if r.Status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422", r.Status)
			}
			body := r.Body
			for _, want := range tt.want {
				if !strings.Contains(body, want) {
					t.Errorf("page lacks %q", want)
				}
			}
			// The entered values are kept …
			for _, field := range []string{"kana", "address", "label", "birth"} {
				// Names are kept with the U+3000 JPKI puts between its parts.
				if want := `value="` + strings.ReplaceAll(form.Get(field), " ", "\u3000") + `"`; !strings.Contains(body, want) {
					t.Errorf("the form lost %s: no %s", field, want)
				}
			}
			if !strings.Contains(body, `aria-invalid="true"`) {
				t.Error("no field is marked invalid")
			}
			// … but never the PINs.
			for _, f := range []string{"auth_pin", "sign_pin", "text_pin"} {
				if v := form.Get(f); len(v) >= 4 && strings.Contains(body, `value="`+v+`"`) {
					t.Errorf("the page echoes %s", f)
				}
			}
			if infos, _ := e.cards.List(); len(infos) != 0 {
				t.Errorf("%d cards left in the store after a refused issue", len(infos))
			}
		})
	}
}

func TestCounterUnder15(t *testing.T) {
	e := newCounterEnv(t)
	form := issueForm()
	form.Set("birth", "2015-06-01")
	form.Set("sign_pin", "")
	r := e.post(t, "/counter/issue", "/counter/issue", form)
	loc, page := e.follow(t, r)
	if flash := flashOf(t, page); !strings.Contains(flash, "署名用電子証明書は発行していません") {
		t.Errorf("under-15 flash %q", flash)
	}
	got := e.current(t, strings.TrimPrefix(loc, "/counter/cards/"))
	if diff := cmp.Diff([]string{"auth"}, keys(got)); diff != "" {
		t.Errorf("kinds issued (-want +got):\n%s", diff)
	}
}

func keys(m map[jpki.Kind]string) []string {
	var out []string
	for _, k := range jpki.Kinds {
		if m[k] != "" {
			out = append(out, string(k))
		}
	}
	return out
}

func TestCounterRefusesForgedPosts(t *testing.T) {
	e := newCounterEnv(t)
	tests := []struct {
		name   string
		form   url.Values
		header map[string]string
	}{
		{"no token", issueForm(), nil},
		{"wrong token", func() url.Values { f := issueForm(); f.Set("csrf", "forged"); return f }(), nil},
		{"other origin", nil, map[string]string{"Origin": "http://evil.example"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := e.web.With(t)
			form := tt.form
			if form == nil { // a valid token, but posted from another site
				c.Step(webtest.Step{Name: "open the form", Path: "/counter/issue", WantContains: []string{`name="csrf"`}})
				form = issueForm()
				form.Set("csrf", c.Token())
			}
			c.Step(webtest.Step{Name: tt.name, Path: "/counter/issue", Form: form, Header: tt.header, NoToken: true, WantStatus: http.StatusForbidden})
			if infos, _ := e.cards.List(); len(infos) != 0 {
				t.Errorf("a forged post created %d cards", len(infos))
			}
		})
	}
}

func TestCounterPagesRenderInBothLanguages(t *testing.T) {
	e := newCounterEnv(t)
	r := e.post(t, "/counter/issue", "/counter/issue", issueForm())
	loc, _ := e.follow(t, r)
	tests := []struct {
		path string
		ja   string
		en   string
	}{
		{"/counter/", "カード一覧", "Cards"},
		{"/counter/issue", "カードの発行", "Issue a card"},
		{loc, "窓口での手続", "Counter procedures"},
	}
	for _, tt := range tests {
		for lang, want := range map[string]string{"ja": tt.ja, "en": tt.en} {
			e.web.SetCookie("lang", lang)
			e.web.With(t).Step(webtest.Step{Name: tt.path + " in " + lang, Path: tt.path, WantContains: []string{want, `<html lang="` + lang + `">`}})
		}
	}
}

// TestCounterWhenTheCentreDoesNotServeIt: a counter whose key the centre
// does not accept, or that cannot reach the centre, says so and keeps no
// card.
func TestCounterWhenTheCentreDoesNotServeIt(t *testing.T) {
	gone := httptest.NewServer(nil)
	gone.Close()
	tests := []struct {
		name   string
		client func(url, key string) *jpki.CounterClient
		status int
		want   string
	}{
		{"a key the centre does not accept", func(url, _ string) *jpki.CounterClient { return jpki.NewCounterClient(url, "mpcall_other", town, nil) },
			http.StatusInternalServerError, "端末の鍵が認められていません"},
		{"the centre unreachable", func(_, key string) *jpki.CounterClient { return jpki.NewCounterClient(gone.URL, key, town, nil) },
			http.StatusServiceUnavailable, "J-LIS（電子証明書の発行元）に接続できませんでした"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newCounterEnvWith(t, tc.client)
			r := e.post(t, "/counter/issue", "/counter/issue", issueForm())
			if r.Status != tc.status || !strings.Contains(r.Body, tc.want) {
				t.Errorf("status %d, want %d with %q:\n%s", r.Status, tc.status, tc.want, r.Body)
			}
			if infos, _ := e.cards.List(); len(infos) != 0 {
				t.Errorf("%d cards left in the store", len(infos))
			}
		})
	}
}
