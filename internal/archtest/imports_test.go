package archtest

import (
	"bufio"
	"bytes"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/mynaplat/mynaplat"

// serverRoles are the packages that run as servers (architecture.md §1, §3):
// the card is never where they run, so they must not import the card or the
// terminal, not even through another package. A terminal reaches them only
// through their typed HTTP clients.
var serverRoles = []string{
	"jlis", "eligibility", "municipal", "platform", "jpki", "seal", "tsa", "corpreg", "delegation", "cardco", "postbox", "staff", "procure", "procure/body", "community/catv", "community/town", "community/tvlogin", "community/watch", "community/evac", "community/gate",
}

// cardSide are the packages that talk to a card.
var cardSide = []string{"card", "terminal"}

// graph is the module's import graph (imports of the non-test files, with
// the pcsc tag as CI builds it), by import path relative to the module.
func graph(t *testing.T) map[string][]string {
	t.Helper()
	cmd := exec.Command("go", "list", "-tags", "pcsc", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	g := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		pkg, ok := local(f[0])
		if !ok {
			continue
		}
		g[pkg] = []string{}
		for _, imp := range f[1:] {
			if p, ok := local(imp); ok {
				g[pkg] = append(g[pkg], p)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return g
}

// local is path relative to the module, or false for another module's.
func local(path string) (string, bool) {
	if rest, ok := strings.CutPrefix(path, module+"/"); ok {
		return rest, true
	}
	return "", false
}

// isCardSide reports whether pkg is one of cardSide or below one.
func isCardSide(pkg string) bool {
	return slices.ContainsFunc(cardSide, func(c string) bool { return pkg == c || strings.HasPrefix(pkg, c+"/") })
}

// chain is the shortest import chain from pkg to a card-side package, or
// nil.
func chain(g map[string][]string, from string) []string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if p != from && isCardSide(p) {
			var c []string
			for ; p != ""; p = prev[p] {
				c = append(c, p)
			}
			slices.Reverse(c)
			return c
		}
		for _, imp := range g[p] {
			if _, seen := prev[imp]; !seen {
				prev[imp] = p
				queue = append(queue, imp)
			}
		}
	}
	return nil
}

// TestServerRolesDoNotImportTheCard fails when a server role imports card or
// terminal, directly or through other packages, naming the chain.
func TestServerRolesDoNotImportTheCard(t *testing.T) {
	t.Parallel()
	g := graph(t)
	for _, role := range serverRoles {
		t.Run(role, func(t *testing.T) {
			if _, ok := g[role]; !ok {
				t.Fatalf("no package %s/%s: the list of server roles is out of date", module, role)
			}
			if c := chain(g, role); c != nil {
				t.Errorf("%s imports the card side: %s", role, strings.Join(c, " → "))
			}
		})
	}
}

// TestCardSideUsers lists the other packages that import the card side
// directly, so that a new one is a decision: terminals, the demo world and
// the command are expected; a service's pages that run a card step (the
// business portal) are the terminal side of that service living beside it.
func TestCardSideUsers(t *testing.T) {
	t.Parallel()
	g := graph(t)
	allowed := []string{
		"card", "terminal", // themselves and each other
		"kiosk", "reception", "payenrol", "counter", "cardview", "mybox", "staffdesk", "procureagent", // terminals
		"business",                                 // its pages run the kit's signing step (terminal.SignFailure)
		"oidcop",                                   // its card page is the App terminal (docs/oidc-provider.md §4.2)
		"procure/desk",                             // the representative's own PC with its reader (docs/procurement.md §5.1)
		"community/tv",                             // the TV portal on the set-top box with its reader (docs/community-tv.md §3)
		"community/shelter",                        // the shelter's card terminal (docs/community-tv.md §3, §5.6)
		"community/gatekiosk",                      // the school's and library's gate readers (docs/community-tv.md §3, §5.5)
		"demo", "cmd/mynaplat", "internal/pbworld", // the demo world and the program
		"internal/layout", // the data directory of the program: it reads the terminals' configurations
	}
	for pkg, imps := range g {
		if isCardSide(pkg) && pkg != "card" && pkg != "terminal" {
			continue
		}
		if !slices.ContainsFunc(imps, isCardSide) {
			continue
		}
		if !slices.Contains(allowed, pkg) && !slices.ContainsFunc(allowed, func(a string) bool { return strings.HasPrefix(pkg, a+"/") }) {
			t.Errorf("%s imports the card side (%v); if it is a terminal, add it to allowed, else reach the card through a terminal",
				pkg, slices.DeleteFunc(slices.Clone(imps), func(p string) bool { return !isCardSide(p) }))
		}
	}
}
