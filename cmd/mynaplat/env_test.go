package main

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

// TestEnvDefaults: a boolean or duration flag's environment default is
// taken when it parses, and stops the command (naming the variable, the
// flag and the value, in Japanese and English) when it does not; an empty
// variable is the default, and the command line wins over a bad one.
func TestEnvDefaults(t *testing.T) {
	type got struct {
		d    time.Duration
		b    bool
		ttl  time.Duration
		errs []string
	}
	parse := func(t *testing.T, args ...string) got {
		t.Helper()
		var g got
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		envDurationVar(fs, &g.d, "some-ttl", "MYNAPLAT_TEST_TTL", time.Minute, "a duration")
		envBoolVar(fs, &g.b, "some-switch", "MYNAPLAT_TEST_SWITCH", true, "a boolean")
		envNonNegativeDurationVar(fs, &g.ttl, "some-cache", "MYNAPLAT_TEST_CACHE", time.Second, "a cache")
		if err := parseFlags(fs, args); err != nil {
			g.errs = append(g.errs, err.Error())
		}
		return g
	}
	for _, tc := range []struct {
		name      string
		env       [3]string // TTL, SWITCH, CACHE
		args      []string
		d         time.Duration
		b         bool
		ttl       time.Duration
		errSubstr []string
	}{
		{name: "unset", d: time.Minute, b: true, ttl: time.Second},
		{name: "empty", env: [3]string{"", "", ""}, d: time.Minute, b: true, ttl: time.Second},
		{name: "good", env: [3]string{"90s", "false", "0"}, d: 90 * time.Second, b: false, ttl: 0},
		{name: "bad duration", env: [3]string{"5 minutes", "", ""}, d: time.Minute, b: true, ttl: time.Second,
			errSubstr: []string{"環境変数 MYNAPLAT_TEST_TTL（--some-ttl）の値 \"5 minutes\" を読めません", "environment variable MYNAPLAT_TEST_TTL (--some-ttl): the value \"5 minutes\" does not parse"}},
		{name: "bad boolean", env: [3]string{"", "yes", ""}, d: time.Minute, b: true, ttl: time.Second,
			errSubstr: []string{"MYNAPLAT_TEST_SWITCH（--some-switch）の値 \"yes\"", "MYNAPLAT_TEST_SWITCH (--some-switch): the value \"yes\""}},
		{name: "negative cache", env: [3]string{"", "", "-1s"}, d: time.Minute, b: true, ttl: time.Second,
			errSubstr: []string{"MYNAPLAT_TEST_CACHE", "負の値は使えません / must not be negative"}},
		{name: "both bad, both named", env: [3]string{"x", "y", ""}, d: time.Minute, b: true, ttl: time.Second,
			errSubstr: []string{"MYNAPLAT_TEST_TTL", "MYNAPLAT_TEST_SWITCH"}},
		{name: "the command line wins", env: [3]string{"x", "y", "z"}, args: []string{"--some-ttl=2s", "--some-switch=false", "--some-cache=3s"},
			d: 2 * time.Second, b: false, ttl: 3 * time.Second},
		{name: "negative on the command line", args: []string{"--some-cache=-1s"}, d: time.Minute, b: true, ttl: time.Second,
			errSubstr: []string{"some-cache", "must not be negative"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i, name := range []string{"MYNAPLAT_TEST_TTL", "MYNAPLAT_TEST_SWITCH", "MYNAPLAT_TEST_CACHE"} {
				t.Setenv(name, tc.env[i])
			}
			g := parse(t, tc.args...)
			if tc.errSubstr == nil {
				if len(g.errs) > 0 {
					t.Fatalf("error %v", g.errs)
				}
				if g.d != tc.d || g.b != tc.b || g.ttl != tc.ttl {
					t.Errorf("got %v %v %v, want %v %v %v", g.d, g.b, g.ttl, tc.d, tc.b, tc.ttl)
				}
				return
			}
			if len(g.errs) == 0 {
				t.Fatalf("no error, want one with %q", tc.errSubstr)
			}
			for _, s := range tc.errSubstr {
				if !strings.Contains(g.errs[0], s) {
					t.Errorf("error %q lacks %q", g.errs[0], s)
				}
			}
		})
	}
}

// TestServeBadEnv: serve stops on a bad environment value of any role's
// knob before it opens anything, saying which and why.
func TestServeBadEnv(t *testing.T) {
	for env, val := range map[string]string{"MYNAPLAT_OIDC_CODE_TTL": "sixty", "MYNAPLAT_OIDC_AUTHZ_ISS": "ja", "MYNAPLAT_OIDC_CLIENT_CACHE_TTL": "-5s"} {
		t.Run(env, func(t *testing.T) {
			t.Setenv(env, val)
			_, stderr, code := runArgs(t.Context(), "serve", "--data", t.TempDir(), "--addr", "127.0.0.1:0")
			if code == 0 || !strings.Contains(stderr, env) || !strings.Contains(stderr, val) || !strings.Contains(stderr, "環境変数") {
				t.Errorf("exit %d, stderr %q: want the variable %s and its value %q named", code, stderr, env, val)
			}
		})
	}
}

// TestOIDCClientCacheTTLFlag: --oidc-client-cache-ttl goes into
// Config.ClientCacheTTL, its 0 turning the cache off.
func TestOIDCClientCacheTTLFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want time.Duration
	}{
		{nil, time.Second},
		{[]string{"--oidc-client-cache-ttl=5s"}, 5 * time.Second},
		{[]string{"--oidc-client-cache-ttl=0"}, -1},
	} {
		var f oidcFlags
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		f.register(fs)
		if err := parseFlags(fs, tc.args); err != nil {
			t.Fatal(err)
		}
		c := f.config(t.TempDir(), "http://127.0.0.1:8080")
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
		if c.ClientCacheTTL != tc.want {
			t.Errorf("%v: ClientCacheTTL %v, want %v", tc.args, c.ClientCacheTTL, tc.want)
		}
	}
}
