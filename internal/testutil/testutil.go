// Package testutil holds the few helpers shared by mynaplat's tests: finding the
// outside programs a test needs, and the CI rule that a missing program is a
// failure there rather than a skip.
package testutil

import (
	"os"
	"os/exec"
	"testing"
)

// InCI reports whether the tests run under CI (CI=true), where every outside
// program a test needs must be present.
func InCI() bool { return os.Getenv("CI") == "true" }

// NeedProgram returns the path of an outside program (opensc-tool, pcscd,
// openssl …). When it is missing the test is skipped with a message naming the
// program and the Debian package that has it, except under CI=true, where it
// fails: a skip must never pass for a success in CI.
func NeedProgram(t testing.TB, name, debianPackage string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	Missing(t, name+" (Debian package "+debianPackage+")")
	return ""
}

// Missing skips (or, under CI=true, fails) a test because what is needed is
// not there.
func Missing(t testing.TB, what string) {
	t.Helper()
	if InCI() {
		t.Fatalf("missing %s: required under CI=true", what)
	}
	t.Skipf("skipping: missing %s", what)
}
