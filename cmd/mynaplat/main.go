// Command mynaplat runs the mynaplat system: the JPKI centre, the emulated My
// Number Cards and (in later work) the common platform and its services. Each
// subcommand has its own flag set; main only dispatches.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

const usage = `mynaplat — JPKI centre, emulated My Number Cards and the common platform

usage:
  mynaplat serve  [--addr 127.0.0.1:8080] [--data DIR] [--db DSN] [--demo] [--roles …]
  mynaplat bench  auth|eligibility|kiosk --target URL [--conns 64] [--duration 10s]
  mynaplat jpki   issue|revoke|renew|change-address|status|crl|operator …
  mynaplat card   list|show|pin-status|plug …
  mynaplat platform terminal add|disable|enable|list …
  mynaplat delegation grant|revoke|show …   (a representative's 電子委任状)

Run "mynaplat COMMAND -h" for the flags of a command.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "mynaplat:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return flag.ErrHelp
	}
	switch args[0] {
	case "serve":
		return serveCmd(ctx, args[1:])
	case "jpki":
		return jpkiCmd(ctx, args[1:])
	case "card":
		return cardCmd(ctx, args[1:])
	case "platform":
		return platformCmd(ctx, args[1:])
	case "bench":
		return benchCmd(ctx, args[1:])
	case "delegation":
		return delegationCmd(ctx, args[1:])
	case "help", "-h", "--help":
		fmt.Fprint(os.Stdout, usage)
		return nil
	}
	fmt.Fprint(os.Stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
