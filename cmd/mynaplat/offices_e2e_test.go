package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// staffOffices are the kinds of back office with a staff sign-in: where
// their packages' sources are, the pattern prefix of their pages, and the
// demo office whose pages are asked for. An office kind that moves behind
// the gate adds a row here.
var staffOffices = []struct {
	pkg, prefix, wildcard, demoID string
}{
	{"municipal", "/municipal/{code}/office/", "code", "062049"},
	{"eligibility", "/insurer/{insurer}/", "insurer", "06230012"},
	{"eligibility", "/clinic/{facility}/", "facility", "0611000019"},
	{"agency", "/agency/{id}/inbox/", "id", "tax-sakata"},
	{"business", "/business/{id}/office/", "id", "nissay"},
	{"counter", "/counter/", "", ""},
	{"staff", "/staff/operator/", "", ""},
	{"oidcop", "/oidc/operator/", "", ""},
	{"community/watch", "/watch/{centre}/office/", "centre", "nambu"},
	{"community/gate", "/gate/{body}/office/", "body", "nambu-school"},
}

// officeRoute is a route of an office's pages, as its package registers it.
type officeRoute struct {
	pattern string
	// gate is true for the gate's own routes (Gate.Mount: signin, login,
	// logout), which answer without a session by design.
	gate bool
}

// sourceRoutes are the patterns that the non-test Go files of pkg
// register on a mux (HandleFunc and Handle with a literal pattern) and the
// homes it mounts a staff gate at (Mount with a literal home), so that a
// route added to an office cannot be left out of the test.
func sourceRoutes(t *testing.T, pkg string) []officeRoute {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", pkg, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("the sources of %s: %v", pkg, err)
	}
	var out []officeRoute
	fset := token.NewFileSet()
	var parsed []*ast.File
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		parsed = append(parsed, file)
	}
	// The package's string constants, for a home named by one
	// (counter.Home).
	consts := map[string]string{}
	for _, file := range parsed {
		for _, d := range file.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if i < len(vs.Values) {
						if b, ok := vs.Values[i].(*ast.BasicLit); ok && b.Kind == token.STRING {
							consts[name.Name], _ = strconv.Unquote(b.Value)
						}
					}
				}
			}
		}
	}
	for _, file := range parsed {
		ast.Inspect(file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			lit := func(i int) (string, bool) {
				if len(call.Args) <= i {
					return "", false
				}
				if id, ok := call.Args[i].(*ast.Ident); ok {
					s, ok := consts[id.Name]
					return s, ok
				}
				b, ok := call.Args[i].(*ast.BasicLit)
				if !ok || b.Kind != token.STRING {
					return "", false
				}
				s, err := strconv.Unquote(b.Value)
				return s, err == nil
			}
			switch sel.Sel.Name {
			case "HandleFunc", "Handle":
				if p, ok := lit(0); ok {
					out = append(out, officeRoute{pattern: p})
				}
			case "Mount":
				if home, ok := lit(1); ok {
					// The signing handoff's desk API is the staff
					// terminals' server's, with no session, as the login is.
					for _, p := range []string{"GET " + home + "signin", "POST " + home + "login", "POST " + home + "logout", "POST " + home + "sign/desk"} {
						out = append(out, officeRoute{pattern: p, gate: true})
					}
				}
			}
			return true
		})
	}
	return out
}

var wildcard = regexp.MustCompile(`\{[a-z]+(\.\.\.)?\}`)

// TestEveryOfficeRouteNeedsStaff asks every route of every back office
// with a staff sign-in (municipal, insurer, clinic, agency inbox, business,
// the JPKI counter, the platform operator's grants; the post box has no
// operator's page), found in the packages' sources, of
// the demo world without a staff session: a GET is sent to the office's
// sign-in (303), anything else is refused by the gate (403, its text)
// and changes nothing. The gate's own sign-in page answers, and its login
// refuses a post without the sign-in's state.
func TestEveryOfficeRouteNeedsStaff(t *testing.T) {
	bin := buildBinary(t)
	base := startServer(t, bin, "--demo", "--data", t.TempDir())
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	seen := 0
	for _, o := range staffOffices {
		home := strings.Replace(o.prefix, "{"+o.wildcard+"}", o.demoID, 1)
		var routes []officeRoute
		for _, r := range sourceRoutes(t, o.pkg) {
			_, path, _ := strings.Cut(r.pattern, " ")
			if strings.HasPrefix(path, o.prefix) {
				routes = append(routes, r)
			}
		}
		if !slices.ContainsFunc(routes, func(r officeRoute) bool { return r.gate }) {
			t.Errorf("%s: no staff gate mounted at %s", o.pkg, o.prefix)
		}
		for _, r := range routes {
			method, path, _ := strings.Cut(r.pattern, " ")
			path = strings.Replace(path, "{"+o.wildcard+"}", o.demoID, 1)
			path = strings.ReplaceAll(path, "{$}", "")
			path = wildcard.ReplaceAllString(path, "x1")
			t.Run(method+" "+path, func(t *testing.T) {
				var body io.Reader
				req, err := http.NewRequest(method, base+path, body)
				if method != http.MethodGet {
					req, err = http.NewRequest(method, base+path, strings.NewReader(url.Values{"x": {"1"}}.Encode()))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					// A bearer header takes the request past the site's CSRF
					// check (API clients authenticate themselves), so the
					// refusal seen is the gate's.
					req.Header.Set("Authorization", "Bearer not-a-staff-session")
				}
				if err != nil {
					t.Fatal(err)
				}
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				switch {
				case r.gate && strings.HasSuffix(path, "/signin"):
					if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `id="staff-signin"`) {
						t.Errorf("the sign-in page: %d", resp.StatusCode)
					}
				case r.gate && strings.HasSuffix(path, "/login"):
					if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "ログインの手続きが古いか") {
						t.Errorf("a login without the sign-in's state: %d\n%s", resp.StatusCode, b)
					}
				case r.gate && strings.HasSuffix(path, "/sign/desk"):
					// The desk API: no handoff in a form post.
					if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "staff_invalid") {
						t.Errorf("the desk API without a handoff: %d\n%s", resp.StatusCode, b)
					}
				case r.gate:
					// The logout ends nothing that is not there.
					if resp.StatusCode != http.StatusSeeOther {
						t.Errorf("logout: %d", resp.StatusCode)
					}
				case method == http.MethodGet:
					if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != home+"signin" {
						t.Errorf("%d to %q, want 303 to %s", resp.StatusCode, loc, home+"signin")
					}
				default:
					if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "職員としてログインしていないため、何も行われていません。") {
						t.Errorf("%d, want the gate's 403:\n%s", resp.StatusCode, b)
					}
				}
			})
			seen++
		}
	}
	t.Logf("%d office routes asked", seen)
}
