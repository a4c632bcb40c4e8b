package main

import (
	"regexp"
	"strings"
	"testing"
)

// TestStaffCommands: grant, list, revoke and refuse, on a data dir of its own.
func TestStaffCommands(t *testing.T) {
	dir := t.TempDir()
	run := func(want int, args ...string) (string, string) {
		t.Helper()
		out, errOut, code := runArgs(t.Context(), append(args, "--data", dir)...)
		if code != want {
			t.Fatalf("%v: exit %d (want %d)\nstdout %s\nstderr %s", args, code, want, out, errOut)
		}
		return out, errOut
	}
	out, _ := run(0, "staff", "grant", "--platform-id", "pid-1", "--name", "最上　和也", "--office", "municipal:062049",
		"--role", "registry-clerk", "--number", "R-1", "--from", "2026-04-01", "--until", "2027-04-01")
	m := regexp.MustCompile(`^grant ([0-9a-f]+):`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("grant printed %q", out)
	}
	_, errOut := run(1, "staff", "grant", "--platform-id", "pid-2", "--name", "x", "--office", "municipal:062049",
		"--role", "insurer-clerk", "--number", "R-2")
	if !strings.Contains(errOut, "insurer office") {
		t.Errorf("a role of another kind of office: %s", errOut)
	}
	if out, _ := run(0, "staff", "list", "--office", "municipal:062049"); !strings.Contains(out, m[1]) || !strings.Contains(out, "最上　和也") {
		t.Errorf("list: %s", out)
	}
	if out, _ := run(0, "staff", "revoke", "--id", m[1]); !strings.Contains(out, "revoked") {
		t.Errorf("revoke: %s", out)
	}
	if out, _ := run(0, "staff", "list"); !strings.Contains(out, "revoked ") {
		t.Errorf("list after revoke: %s", out)
	}
	run(1, "staff", "revoke", "--id", "nope")
}
