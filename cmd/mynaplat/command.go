package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// A command is a node of the command tree: a group, which dispatches to its
// subcommands, or a leaf, which runs. Every group has its table of
// subcommands next to the code of its leaves; exec is the one dispatcher and
// printUsage the one usage printer, so -h, --help and help behave the same
// everywhere and a new subcommand gets them without a line of its own.
type command struct {
	name    string
	summary string // one line, Japanese and English: the group's list shows it
	// synopsis follows the command's path in its usage line, e.g.
	// "--card ID [--json]"; a leaf without one shows "[flags]".
	synopsis string
	// about is printed below the usage line: what the summary cannot say.
	about string

	subs []*command // a group's subcommands, in the order the usage lists them
	// run is a leaf's body. fs is the leaf's own, empty flag set: run
	// registers its flags on it and parses args with parseFlags before it
	// touches anything, so "-h" returns before any side effect.
	run func(ctx context.Context, fs *flag.FlagSet, args []string, out io.Writer) error
}

// Exit codes: a usage error is 2, as for the flag package and most tools.
const (
	exitOK    = 0
	exitErr   = 1
	exitUsage = 2
)

// usageError is a mistake in the command line: the dispatcher prints it with
// the command's usage to stderr and exits 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usageErrorf(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// parseFlags parses a leaf's flags. -h and --help come back as flag.ErrHelp,
// other mistakes as a usageError; the dispatcher prints the usage for both.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	// An environment default that does not parse stops the command rather
	// than leaving the flag at its default unnoticed.
	return envErrors(fs)
}

// exec runs the command at path (path ends with c's own name) with args and
// returns the exit code. Help goes to stdout and exits 0; a usage error prints
// the message and the usage to stderr and exits 2; a failing leaf prints its
// error to stderr and exits 1.
func (c *command) exec(ctx context.Context, path, args []string, stdout, stderr io.Writer) int {
	if c.run != nil {
		return c.execLeaf(ctx, path, args, stdout, stderr)
	}
	name := strings.Join(path, " ")
	if len(args) == 0 {
		fmt.Fprintf(stderr, "%s: サブコマンドを指定してください / a subcommand is required\n\n", name)
		c.printUsage(stderr, path, nil)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help":
		c.printUsage(stdout, path, nil)
		return exitOK
	case "help":
		if len(args) == 1 {
			c.printUsage(stdout, path, nil)
			return exitOK
		}
		// "help jpki issue" is "jpki issue -h".
		return c.exec(ctx, path, append(args[1:len(args):len(args)], "-h"), stdout, stderr)
	}
	for _, sub := range c.subs {
		if sub.name == args[0] {
			return sub.exec(ctx, append(path[:len(path):len(path)], sub.name), args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "%s: 不明なコマンド %q / unknown command %q\n\n", name, args[0], args[0])
	c.printUsage(stderr, path, nil)
	return exitUsage
}

func (c *command) execLeaf(ctx context.Context, path, args []string, stdout, stderr io.Writer) int {
	name := strings.Join(path, " ")
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	// The flag package would print errors and the usage itself, to one
	// writer; the dispatcher does, to stdout for help and stderr otherwise.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := c.run(ctx, fs, args, stdout)
	var ue usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		c.printUsage(stdout, path, fs)
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "%s: コマンドラインの誤り / bad command line: %v\n\n", name, err)
		c.printUsage(stderr, path, fs)
		return exitUsage
	}
	fmt.Fprintf(stderr, "%s: %v\n", name, err)
	return exitErr
}

// printUsage prints a group's subcommands with their summaries, or a leaf's
// flags with their defaults (fs is the leaf's flag set, its flags registered).
func (c *command) printUsage(w io.Writer, path []string, fs *flag.FlagSet) {
	name := strings.Join(path, " ")
	synopsis := c.synopsis
	if synopsis == "" {
		synopsis = "[flags]"
		if c.run == nil {
			synopsis = "COMMAND …"
		}
	}
	fmt.Fprintf(w, "usage: %s %s\n\n%s\n", name, synopsis, c.summary)
	if c.about != "" {
		fmt.Fprintf(w, "\n%s", c.about)
	}
	if c.run == nil {
		fmt.Fprintf(w, "\ncommands:\n")
		for _, sub := range c.subs {
			fmt.Fprintf(w, "  %-15s %s\n", sub.name, sub.summary)
		}
		fmt.Fprintf(w, "\n各コマンドのフラグ / the flags of a command: %s COMMAND -h\n", name)
		return
	}
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n == 0 {
		return
	}
	fmt.Fprintf(w, "\nflags:\n")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}
