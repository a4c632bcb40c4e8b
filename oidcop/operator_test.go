package oidcop

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/internal/trace"
	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/staff"
	"github.com/mynaplat/mynaplat/staff/stafftest"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/web"
)

// opWorld is the operator page behind its gate, on a directory with one
// platform operator (op-1) and a clerk of another office (clerk-1).
type opWorld struct {
	srv *webtest.Client
	p   *Provider
	iss *stafftest.Issuer
	clk *clock
	// desk is the stand-in staff terminal (browser tests).
	desk string
}

func newOpWorld(t *testing.T, db *store.DB) *opWorld {
	t.Helper()
	clk := newClock()
	w := &opWorld{p: openProvider(t, db, "https://auth.example.jp", clk, nil), iss: stafftest.NewIssuer(t), clk: clk, desk: "/staffdesk/test/"}
	dir := stafftest.Directory(t, db, clk.Now)
	stafftest.Grant(t, dir, staff.Grant{PlatformID: "op-1", Name: "霞ヶ関　直人", Office: staff.OperatorOffice, Role: staff.PlatformOperator, StaffNumber: "P-01"})
	stafftest.Grant(t, dir, staff.Grant{PlatformID: "clerk-1", Name: "最上　和也", Office: "municipal:062049", Role: staff.RegistryClerk, StaffNumber: "R-1"})
	site, err := web.New(t.Context(), web.Options{DB: db, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	gate, err := staff.NewOfficeGate(staff.GateConfig{Site: site, Directory: dir, Keys: w.iss.Keys, Desk: w.desk, Now: clk.Now}, OperatorOffice())
	if err != nil {
		t.Fatal(err)
	}
	op, err := w.p.Operator(site, gate)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	site.Routes(mux)
	op.Routes(mux)
	mux.Handle("GET "+w.desk, w.iss.Desk("op-1", clk.Now))
	w.srv = webtest.Start(t, trace.Middleware(site.Protect(mux)))
	return w
}

// audit is the audit of client id, newest first: "action result reason".
func (w *opWorld) audit(t *testing.T, id string) []string {
	t.Helper()
	es, err := w.p.Audit(t.Context(), id, 20)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Action+" "+e.Result+" "+e.Reason)
	}
	return out
}

const opActor = "by staff:op-1 霞ヶ関　直人 (platform-operator, platform-operator, P-01)"

// TestOperatorPage: only a platform operator signed in with their card
// reaches the page; they register a client (each refusal of
// ValidateClient shown at its field in Japanese and English, registering
// nothing but the audit row), add a key (pasted; refused when weak),
// disable a key and the client; every change is in oidc_audit under the
// operator.
func TestOperatorPage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newOpWorld(t, db)
		anon := w.srv.With(t).Fresh()
		stafftest.NeedStaff(t, anon, OperatorHome, []webtest.Step{
			{Name: "the list", Path: OperatorHome},
			{Name: "add", Path: "/oidc/operator/clients", Form: url.Values{"id": {"RP9"}}},
			{Name: "disable", Path: "/oidc/operator/clients/RP9/disable", Form: url.Values{}},
			{Name: "add a key", Path: "/oidc/operator/clients/RP9/keys", Form: url.Values{}},
			{Name: "disable a key", Path: "/oidc/operator/clients/RP9/keys/k/disable", Form: url.Values{}},
		})
		clerk := w.srv.With(t).Fresh()
		clerk.Step(webtest.Step{Name: "a clerk of another office", Path: OperatorHome, WantStatus: http.StatusSeeOther})
		state := stafftest.State(clerk, OperatorHome)
		clerk.Step(webtest.Step{Name: "the clerk's card login", Path: OperatorHome + "login", WantStatus: http.StatusForbidden,
			Form: url.Values{"assertion": {w.iss.Assertion(stafftest.StaffLogin("clerk-1", w.clk.Now()))}, "state": {state}}})

		op := w.srv.With(t).Fresh()
		w.iss.SignInAs(op, OperatorHome, "op-1", w.clk.Now())
		op.Step(webtest.Step{Name: "no clients yet", Path: OperatorHome, WantContains: []string{`id="staff-strip"`, `id="no-clients"`, `id="client-form"`, "https://auth.example.jp/api/realms/main"}})

		ec, rsa, weak := string(readTestdata(t, "rp-ec.pub")), string(readTestdata(t, "rp-rsa.pub")), string(readTestdata(t, "weak-rsa1024.pub"))
		form := func(edit func(url.Values)) url.Values {
			v := url.Values{"id": {"RP00000777"}, "name": {"須坂市ウェブサイト"}, "redirect_uris": {"https://www.city.suzaka.example/cb\r\n\r\n"},
				"post_logout_uris": {"https://www.city.suzaka.example/"}, "key_text": {rsa}}
			if edit != nil {
				edit(v)
			}
			return v
		}
		refusals := []struct {
			name, field, ja, en string
			edit                func(url.Values)
		}{
			{"bad ID", "id", "クライアントIDは英数字", "is not 1–255 letters and digits", func(v url.Values) { v.Set("id", "RP-1") }},
			{"no name", "name", "名前を1〜100文字", "enter the name", func(v url.Values) { v.Set("name", " ") }},
			{"no redirect URI", "redirect_uri", "リダイレクトURIを一つ以上", "at least one redirect URI", func(v url.Values) { v.Set("redirect_uris", "\r\n") }},
			{"http without dev", "redirect_uri", "開発用クライアント", "needs a development client", func(v url.Values) { v.Set("redirect_uris", "http://127.0.0.1/cb") }},
			{"a fragment", "redirect_uri", "", "", func(v url.Values) { v.Set("redirect_uris", "https://rp.example.jp/cb#x") }},
			{"a bad logout URI", "post_logout_uri", "", "", func(v url.Values) { v.Set("post_logout_uris", "/relative") }},
			{"no key", "key", "公開鍵（PEM または JWK）を一つ以上", "at least one public key", func(v url.Values) { v.Del("key_text") }},
			{"a weak key", "key", "", "", func(v url.Values) { v.Set("key_text", weak) }},
			{"garbage", "key", "", "", func(v url.Values) { v.Set("key_text", "not a key") }},
		}
		for _, r := range refusals {
			want := []string{`id="client-problem"`, "何も登録されていません。"}
			if r.ja != "" {
				want = append(want, r.ja)
			}
			res := op.Step(webtest.Step{Name: "refused: " + r.name, Path: "/oidc/operator/clients", Form: form(r.edit),
				WantStatus: http.StatusBadRequest, WantContains: want})
			// The refusal is at its field.
			if !strings.Contains(res.Body, `aria-invalid="true"`) || !strings.Contains(res.Body, `class="field-error"`) {
				t.Errorf("%s: no field error", r.name)
			}
			if r.en != "" {
				op.Step(webtest.Step{Name: "refused in English: " + r.name, Path: "/oidc/operator/clients?lang=en", Form: form(r.edit),
					WantStatus: http.StatusBadRequest, WantContains: []string{r.en, "Nothing was registered."}})
			}
		}
		if n := count(t, db, "oidc_clients"); n != 0 {
			t.Fatalf("%d clients after the refusals, want none", n)
		}
		var refusedRows int
		for _, a := range w.audit(t, "") {
			if strings.HasPrefix(a, "client-add refused ") && strings.HasSuffix(a, opActor) {
				refusedRows++
			}
		}
		if refusedRows < len(refusals) {
			t.Errorf("%d audit rows of refused adds, want at least %d", refusedRows, len(refusals))
		}

		op.Step(webtest.Step{Name: "add", Path: "/oidc/operator/clients", Form: form(nil), WantStatus: http.StatusSeeOther})
		op.Step(webtest.Step{Name: "the list", Path: OperatorHome, WantContains: []string{"クライアント RP00000777（須坂市ウェブサイト）を登録しました",
			`data-id="RP00000777" data-state="enabled"`, "https://www.city.suzaka.example/cb", "RS256"}})
		op.Step(webtest.Step{Name: "the same ID again", Path: "/oidc/operator/clients", Form: form(nil), WantStatus: http.StatusBadRequest,
			WantContains: []string{"もう登録されています"}})

		keys := "/oidc/operator/clients/RP00000777/keys"
		op.Step(webtest.Step{Name: "a weak key", Path: keys, Form: url.Values{"key_text": {weak}}, WantStatus: http.StatusBadRequest,
			WantContains: []string{`id="key-problem"`, "何も登録されていません。"}})
		op.Step(webtest.Step{Name: "no key", Path: keys, Form: url.Values{}, WantStatus: http.StatusBadRequest, WantContains: []string{`id="key-problem"`}})
		op.Step(webtest.Step{Name: "a key of no client", Path: "/oidc/operator/clients/RP404/keys", Form: url.Values{"key_text": {ec}}, WantStatus: http.StatusNotFound})
		op.Step(webtest.Step{Name: "add the EC key", Path: keys, Form: url.Values{"key_text": {ec}}, WantStatus: http.StatusSeeOther})
		c, err := w.p.Client(t.Context(), "RP00000777")
		if err != nil || len(c.Keys) != 2 {
			t.Fatalf("client %+v %v", c, err)
		}
		var ecKID string
		for _, k := range c.Keys {
			if k.Alg == "ES256" {
				ecKID = k.KID
			}
		}
		op.Step(webtest.Step{Name: "the list with two keys", Path: OperatorHome, WantContains: []string{"ES256", ecKID, "を追加しました"}})
		op.Step(webtest.Step{Name: "disable the key", Path: keys + "/" + ecKID + "/disable", Form: url.Values{}, WantStatus: http.StatusSeeOther})
		op.Step(webtest.Step{Name: "disable no key", Path: keys + "/nope/disable", Form: url.Values{}, WantStatus: http.StatusNotFound})
		op.Step(webtest.Step{Name: "the key disabled", Path: OperatorHome, WantContains: []string{`data-kid="` + ecKID + `" data-state="disabled"`}})
		op.Step(webtest.Step{Name: "disable the client", Path: "/oidc/operator/clients/RP00000777/disable", Form: url.Values{}, WantStatus: http.StatusSeeOther})
		op.Step(webtest.Step{Name: "disable no client", Path: "/oidc/operator/clients/RP404/disable", Form: url.Values{}, WantStatus: http.StatusNotFound})
		op.Step(webtest.Step{Name: "the client disabled", Path: OperatorHome, WantContains: []string{`data-id="RP00000777" data-state="disabled"`, "トークンはすぐに使えなくなります"}})

		// The clock stands still: the rows are compared as counts.
		got := map[string]int{}
		for _, a := range w.audit(t, "RP00000777") {
			if strings.HasSuffix(a, opActor) {
				f := strings.Fields(a)
				got[f[0]+" "+f[1]]++
			}
		}
		// Eight refused adds of this ID in Japanese, four in English, the
		// duplicate; the weak key and the missing one.
		want := map[string]int{"client-add OK": 1, "client-add refused": 13, "client-key-add OK": 1, "client-key-add refused": 2,
			"client-key-disable OK": 1, "client-disable OK": 1}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("the client's audit under the operator (-want +got):\n%s", d)
		}
	})
}
