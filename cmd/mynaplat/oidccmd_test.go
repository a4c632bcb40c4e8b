package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/internal/layout"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/terminal"
)

// TestOIDCCommands: add, list and disable a client and its keys, rotate and
// list the signing keys, and a refusal in Japanese and English, on a data
// dir of its own.
func TestOIDCCommands(t *testing.T) {
	dir := t.TempDir()
	run := func(want int, args ...string) (string, string) {
		t.Helper()
		out, errOut, code := runArgs(t.Context(), append(args, "--data", dir)...)
		if code != want {
			t.Fatalf("%v: exit %d (want %d)\nstdout %s\nstderr %s", args, code, want, out, errOut)
		}
		return out, errOut
	}
	rsa, ec := filepath.Join("..", "..", "oidcop", "testdata", "rp-rsa.pub"), filepath.Join("..", "..", "oidcop", "testdata", "rp-ec.pub")
	out, _ := run(0, "oidc", "client", "add", "--id", "RP00000001", "--name", "須坂市ウェブサイト", "--redirect-uri", "http://127.0.0.1:9000/cb",
		"--dev", "--key", rsa)
	if !strings.Contains(out, "client RP00000001 (須坂市ウェブサイト) registered") || !strings.Contains(out, "issuer http://127.0.0.1:8080/api/realms/main") {
		t.Errorf("add: %s", out)
	}
	_, errOut := run(1, "oidc", "client", "add", "--id", "RP00000002", "--name", "x", "--redirect-uri", "http://127.0.0.1:9000/cb", "--key", rsa)
	if !strings.Contains(errOut, "開発用クライアント") || !strings.Contains(errOut, "needs a development client") {
		t.Errorf("http without --dev: %s", errOut)
	}
	run(1, "oidc", "client", "add", "--id", "RP00000001", "--name", "again", "--redirect-uri", "https://rp.example.jp/cb", "--key", rsa)
	out, _ = run(0, "oidc", "client", "key", "add", "--id", "RP00000001", "--key", ec)
	m := regexp.MustCompile(`^key (\S+) \(ES256\) added`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("key add: %s", out)
	}
	run(0, "oidc", "client", "key", "disable", "--id", "RP00000001", "--kid", m[1])
	run(0, "oidc", "client", "disable", "--id", "RP00000001")
	run(1, "oidc", "client", "disable", "--id", "nope")
	out, _ = run(0, "oidc", "client", "list")
	for _, want := range []string{"RP00000001  disabled", "須坂市ウェブサイト", "redirect    http://127.0.0.1:9000/cb", "key ES256 " + m[1] + " disabled", "key RS256 "} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "RP00000002") {
		t.Errorf("a refused client is listed:\n%s", out)
	}
	out, _ = run(0, "oidc", "keys", "rotate")
	if !strings.Contains(out, "(ES256) listed now") {
		t.Errorf("rotate: %s", out)
	}
	run(0, "oidc", "keys", "rotate")
	out, _ = run(0, "oidc", "keys", "list")
	if !strings.Contains(out, "ES256 signing") || !strings.Contains(out, "ES256 lead") {
		t.Errorf("keys list:\n%s", out)
	}
}

// TestOIDCTerminalRegister: oidc terminal register (and platform terminal
// add --kind app) register an App terminal at the platform and write its
// configuration where the oidc role reads it, not among the terminals
// role's.
func TestOIDCTerminalRegister(t *testing.T) {
	dir := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		out, errOut, code := runArgs(t.Context(), append(args, "--data", dir)...)
		if code != 0 {
			t.Fatalf("%v: exit %d\nstdout %s\nstderr %s", args, code, out, errOut)
		}
		return out
	}
	// The centre, on this data dir.
	if out, errOut, code := runArgs(t.Context(), "jpki", "operator", "add", "--data", dir, "platform"); code != 0 {
		t.Fatalf("jpki operator add: %d %s %s", code, out, errOut)
	}
	out := run("oidc", "terminal", "register")
	if !strings.Contains(out, "terminal oidc-app-1 registered") {
		t.Errorf("register: %s", out)
	}
	run("platform", "terminal", "add", "--id", "oidc-app-2", "--kind", "app", "--owner", "mynaplat", "--name", "second")
	cfgs, err := terminal.LoadConfigs(layout.OIDCTerminalDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cfgs {
		if c.Kind != platform.App || c.Key == "" {
			t.Errorf("config %+v: want kind app with a key", c)
		}
		got = append(got, c.ID)
	}
	if diff := cmp.Diff([]string{"oidc-app-1", "oidc-app-2"}, got); diff != "" {
		t.Errorf("configs (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(filepath.Join(dir, "terminals")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the terminals role's dir: %v, want none", err)
	}
	out = run("platform", "terminal", "list")
	if !regexp.MustCompile(`oidc-app-1\s+app\s+enabled`).MatchString(out) {
		t.Errorf("list: %s", out)
	}
}
