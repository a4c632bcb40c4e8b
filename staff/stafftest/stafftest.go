// Package stafftest signs staff in at an office's gate in tests that have
// no platform: a stand-in for the platform's assertion keys (its JWK set
// and ES256 assertions, which the gate verifies with
// platform.VerifyAssertion as it does the real ones), a directory on the
// test's database, and the sign-in steps a browser takes.
package stafftest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/staff"
	"github.com/mynaplat/mynaplat/store"
)

// Issuer stands in for the platform's assertion keys.
type Issuer struct {
	key *ecdsa.PrivateKey
	n   atomic.Int64
}

const kid = "stafftest"

// NewIssuer makes a fresh key.
func NewIssuer(t testing.TB) *Issuer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &Issuer{key: k}
}

// Keys is the JWK set (GateConfig.Keys).
func (is *Issuer) Keys(context.Context) (platform.JWKS, error) {
	pt, err := is.key.PublicKey.Bytes()
	if err != nil {
		return platform.JWKS{}, err
	}
	b := base64.RawURLEncoding.EncodeToString
	return platform.JWKS{Keys: []platform.JWK{{Kty: "EC", Crv: "P-256", X: b(pt[1:33]), Y: b(pt[33:]), Kid: kid, Use: "sig", Alg: "ES256"}}}, nil
}

// Login is what a card login asserts.
type Login struct {
	PlatformID string
	Purpose    string
	Kind       platform.TerminalKind
	Terminal   string
	At         time.Time
}

// DeskTerminal is the staff terminal of StaffLogin's card logins.
const DeskTerminal = "staffdesk-test"

// StaffLogin is a card login of platformID at a staff terminal at at.
func StaffLogin(platformID string, at time.Time) Login {
	return Login{PlatformID: platformID, Purpose: platform.PurposeStaff, Kind: platform.StaffDesk, Terminal: DeskTerminal, At: at}
}

// Assertion signs an assertion of the login, valid for five minutes.
func (is *Issuer) Assertion(l Login) string {
	c := platform.Claims{Subject: l.PlatformID, Audience: platform.Audience, IssuedAt: l.At.Unix(), Expiry: l.At.Add(5 * time.Minute).Unix(),
		ID: fmt.Sprintf("jti-%d-%d", l.At.UnixNano(), is.n.Add(1)), AuthTime: l.At.Unix(), Terminal: l.Terminal, TerminalKind: l.Kind,
		AMR: []string{"jpki-auth"}, Purpose: l.Purpose}
	hdr, _ := json.Marshal(map[string]string{"alg": "ES256", "typ": "JWT", "kid": kid})
	body, _ := json.Marshal(c)
	enc := base64.RawURLEncoding.EncodeToString
	input := enc(hdr) + "." + enc(body)
	sum := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, is.key, sum[:])
	if err != nil {
		panic(err) // rand.Reader does not fail
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + enc(sig)
}

// Directory opens the directory on db with clock now.
func Directory(t testing.TB, db *store.DB, now func() time.Time) *staff.Directory {
	t.Helper()
	d, err := staff.Open(context.Background(), db, now, nil)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// Grant adds a grant, failing the test on an error.
func Grant(t testing.TB, d *staff.Directory, g staff.Grant) staff.Grant {
	t.Helper()
	g, err := d.Add(context.Background(), g)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

var stateRe = regexp.MustCompile(`[?&;]state=([0-9a-f]+)`)

// State opens page (an office page, which sends to the sign-in), then the
// sign-in page, and returns the state of the sign-in it started.
func State(c *webtest.Client, page string) string {
	var state string
	signin := c.Step(webtest.Step{Name: "an office page " + page, Path: page, WantStatus: http.StatusSeeOther}).Location()
	c.Step(webtest.Step{Name: "the sign-in page " + signin, Path: signin,
		Check: func(t testing.TB, r *webtest.Response) {
			m := stateRe.FindStringSubmatch(html.UnescapeString(r.Body))
			if m == nil {
				t.Fatalf("no sign-in state on %s", page)
			}
			state = m[1]
		}})
	return state
}

// SignIn signs c in at the office whose page and login endpoint are given,
// with assertion, as the staff terminal's form does.
func SignIn(c *webtest.Client, page, login, assertion string) *webtest.Response {
	state := State(c, page)
	return c.Step(webtest.Step{Name: "sign in at " + login, Path: login, Form: url.Values{"assertion": {assertion}, "state": {state}},
		WantStatus: http.StatusSeeOther})
}

// SignInAs signs c in at the office whose first page is home (its login
// endpoint home+"login") with a card login of platformID at a staff
// terminal at at.
func (is *Issuer) SignInAs(c *webtest.Client, home, platformID string, at time.Time) *webtest.Response {
	return SignIn(c, home, home+"login", is.Assertion(StaffLogin(platformID, at)))
}

// NeedStaff runs every step with c, which has no staff session at the
// office whose first page is home: a GET must send to the office's
// sign-in (303), anything else be refused (403), and no answer may show
// any of hidden.
func NeedStaff(t testing.TB, c *webtest.Client, home string, steps []webtest.Step, hidden ...string) {
	t.Helper()
	for _, s := range steps {
		s.WantStatus = http.StatusSeeOther
		if s.Form != nil {
			s.WantStatus = http.StatusForbidden
		}
		s.WantNotContains = hidden
		r := c.Step(s)
		if s.Form == nil {
			if loc := r.Location(); loc != home+"signin" {
				t.Errorf("%s: to %q, want the sign-in %s", s.Name, loc, home+"signin")
			}
		}
	}
}

// deskPage is the stand-in desk's hand-over form, as the real desk's.
var deskPage = template.Must(template.New("desk").Parse(`<!doctype html><html lang="ja"><head><meta charset="utf-8"><title>desk</title></head>
<body><main><p id="desk-office">{{.Office}}</p><form method="post" action="{{.Action}}">
<input type="hidden" name="assertion" value="{{.Assertion}}"><input type="hidden" name="state" value="{{.State}}">
<button type="submit" id="handoff-go">事務所に進む</button></form></main></body></html>`))

// Desk is a stand-in staff terminal for browser tests: mounted at the
// gate's Desk, its page is the hand-over of a card login of platformID,
// made at now(), to the office whose sign-in sent the browser there
// (staff.LoginPath, on this host), with that sign-in's state; its button
// is #handoff-go, as on the real desk.
func (is *Issuer) Desk(platformID string, now func() time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		office := r.URL.Query().Get("office")
		action, err := staff.LoginPath(office)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		deskPage.Execute(w, map[string]string{"Office": office, "Action": action, "State": r.URL.Query().Get("state"),
			"Assertion": is.Assertion(StaffLogin(platformID, now()))})
	})
}
