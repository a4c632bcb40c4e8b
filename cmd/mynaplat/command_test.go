package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
)

// runArgs runs a command line through run, as main does.
func runArgs(ctx context.Context, args ...string) (stdout, stderr string, code int) {
	var out, errOut bytes.Buffer
	code = run(ctx, args, &out, &errOut)
	return out.String(), errOut.String(), code
}

// walk calls f with every command of the tree and its arguments from the
// root (none for the root itself).
func walk(c *command, path []string, f func(c *command, path []string)) {
	f(c, path)
	for _, sub := range c.subs {
		walk(sub, append(path[:len(path):len(path)], sub.name), f)
	}
}

// leafFlags returns the flags a leaf registers, from a flag set of its own.
func leafFlags(t *testing.T, c *command) []*flag.Flag {
	t.Helper()
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := c.run(t.Context(), fs, []string{"-h"}, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("%s -h returned %v, want flag.ErrHelp", c.name, err)
	}
	var flags []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) { flags = append(flags, f) })
	return flags
}

// TestHelp runs every command of the tree with -h, --help and "help": each
// exits 0 and prints its usage to stdout — a group its subcommands with
// their summaries, a leaf each of its flags with its description and
// default. It walks the tree, so a new subcommand is tested without a line
// here.
func TestHelp(t *testing.T) {
	n := 0
	walk(root, nil, func(c *command, path []string) {
		n++
		name := strings.TrimSpace("mynaplat " + strings.Join(path, " "))
		if c.summary == "" {
			t.Errorf("%s has no summary", name)
		}
		if (c.run == nil) == (len(c.subs) == 0) {
			t.Fatalf("%s must be a leaf (run) or a group (subs), not both or neither", name)
		}
		var want []string
		if c.run == nil {
			for _, sub := range c.subs {
				want = append(want, "  "+sub.name+" ", sub.summary)
			}
		} else {
			for _, f := range leafFlags(t, c) {
				_, usage := flag.UnquoteUsage(f)
				want = append(want, "  -"+f.Name, usage)
				if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
					want = append(want, "(default ")
					want = append(want, f.DefValue)
				}
			}
		}
		var helpOut string
		for _, args := range [][]string{
			append(path[:len(path):len(path)], "-h"),
			append(path[:len(path):len(path)], "--help"),
			append([]string{"help"}, path...),
		} {
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				out, errOut, code := runArgs(t.Context(), args...)
				if code != 0 || errOut != "" {
					t.Fatalf("exit %d, stderr %q", code, errOut)
				}
				if !strings.HasPrefix(out, "usage: "+name+" ") {
					t.Errorf("usage does not start with %q:\n%s", "usage: "+name, out)
				}
				for _, w := range want {
					if !strings.Contains(out, w) {
						t.Errorf("usage lacks %q:\n%s", w, out)
					}
				}
				if helpOut == "" {
					helpOut = out
				} else if out != helpOut {
					t.Errorf("%q prints another usage than -h:\n%s", args, out)
				}
			})
		}
	})
	if n < 30 {
		t.Errorf("walked %d commands; the tree has more", n)
	}
}

// TestUsageErrors: a wrong command line prints what is wrong and the usage
// to stderr, nothing to stdout, and exits 2; a failing command exits 1.
func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		args []string
		code int
		want []string // in stderr
	}{
		{nil, 2, []string{"a subcommand is required", "usage: mynaplat COMMAND", "  jpki "}},
		{[]string{"frobnicate"}, 2, []string{`unknown command "frobnicate"`, "usage: mynaplat COMMAND"}},
		{[]string{"help", "frobnicate"}, 2, []string{`unknown command "frobnicate"`}},
		{[]string{"jpki"}, 2, []string{"a subcommand is required", "usage: mynaplat jpki", "  change-address "}},
		{[]string{"platform", "terminal", "remove"}, 2, []string{`unknown command "remove"`, "usage: mynaplat platform terminal", "  disable "}},
		{[]string{"jpki", "issue", "--frob"}, 2, []string{"flag provided but not defined: -frob", "usage: mynaplat jpki issue", "  -auth-pin"}},
		{[]string{"bench", "auth", "--conns", "many"}, 2, []string{`invalid value "many" for flag -conns`, "usage: mynaplat bench auth"}},
		{[]string{"card", "show", "--data", dir}, 2, []string{"a card ID is required", "usage: mynaplat card show"}},
		{[]string{"card", "show", "--data", dir, "ffff", "extra"}, 2, []string{"unexpected arguments"}},
		{[]string{"jpki", "operator", "add", "--data", dir}, 2, []string{"give one operator NAME", "usage: mynaplat jpki operator add"}},
		{[]string{"card", "show", "--data", dir, "ffffffffffffffff"}, 1, []string{"mynaplat card show: "}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, errOut, code := runArgs(t.Context(), tt.args...)
			if code != tt.code || out != "" {
				t.Errorf("exit %d (want %d), stdout %q", code, tt.code, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
			if tt.code == 1 && strings.Contains(errOut, "usage:") {
				t.Errorf("a failing command printed its usage:\n%s", errOut)
			}
		})
	}
}
