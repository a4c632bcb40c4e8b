// Command mynaplat runs the mynaplat system: the JPKI centre, the emulated My
// Number Cards and (in later work) the common platform and its services. Each
// subcommand has its own flag set; main only dispatches (command.go).
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// root is the command tree; each group's table is in its own file.
var root = &command{
	name:    "mynaplat",
	summary: "JPKI センター、模擬マイナンバーカード、共通基盤 / JPKI centre, emulated My Number Cards and the common platform",
	subs:    []*command{serveCommand, jpkiCommand, cardCommand, platformCommand, oidcCommand, staffCommand, corpregCommand, delegationCommand, verifyCommand, benchCommand},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs the command line args (without the program name) and returns the
// exit code: 0, 1 when the command failed, 2 for a usage error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return root.exec(ctx, []string{root.name}, args, stdout, stderr)
}
