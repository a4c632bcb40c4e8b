package archtest

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// terminalSide are the terminal packages (architecture.md §2: terminals run
// where the reader is): they reach the server roles only through their
// typed HTTP clients, so they hold no database and no role's server.
var terminalSide = []string{"terminal", "counter", "kiosk", "reception", "payenrol", "cardview"}

// serverHandles are the names by which a package would hold a server role
// in its own process rather than call it: the JPKI centre (its counter API
// has CounterClient).
var serverHandles = map[string][]string{module + "/jpki": {"Centre", "Open", "Config"}}

// TestTerminalsHoldNoServer fails when a terminal package imports a
// database (store, database/sql) or names a server role's in-process
// handle (jpki.Centre, jpki.Open) in its non-test files.
func TestTerminalsHoldNoServer(t *testing.T) {
	t.Parallel()
	for _, pkg := range terminalSide {
		t.Run(pkg, func(t *testing.T) {
			cmd := exec.Command("go", "list", "-tags", "pcsc", "-f", "{{.Dir}}\n{{join .GoFiles \" \"}}\n{{join .Imports \" \"}}", module+"/"+pkg)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("go list %s: %v\n%s", pkg, err, stderr.String())
			}
			lines := strings.SplitN(string(out), "\n", 3)
			dir, files, imports := lines[0], strings.Fields(lines[1]), strings.Fields(lines[2])
			for _, imp := range imports {
				if imp == "database/sql" || imp == module+"/store" || strings.HasPrefix(imp, module+"/store/") {
					t.Errorf("%s imports %s: a terminal keeps no database; call the role's API", pkg, imp)
				}
			}
			fset := token.NewFileSet()
			for _, name := range files {
				f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.SkipObjectResolution)
				if err != nil {
					t.Fatal(err)
				}
				local := map[string][]string{} // import name → forbidden names
				for _, is := range f.Imports {
					path, _ := strconv.Unquote(is.Path.Value)
					names, ok := serverHandles[path]
					if !ok {
						continue
					}
					n := filepath.Base(path)
					if is.Name != nil {
						n = is.Name.Name
					}
					local[n] = names
				}
				ast.Inspect(f, func(n ast.Node) bool {
					sel, ok := n.(*ast.SelectorExpr)
					if !ok {
						return true
					}
					x, ok := sel.X.(*ast.Ident)
					if !ok {
						return true
					}
					for _, bad := range local[x.Name] {
						if sel.Sel.Name == bad {
							t.Errorf("%s: %s.%s: a terminal reaches the server through its typed HTTP client", fset.Position(sel.Pos()), x.Name, bad)
						}
					}
					return true
				})
			}
		})
	}
}
