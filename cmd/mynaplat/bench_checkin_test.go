package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/mynaplat/mynaplat/internal/callerkey"
)

// TestBenchCheckin runs bench checkin small against serve --demo, whose
// mails go to the bench's SMTP server (--smtp) and whose gate terminals'
// caller key is the test's (--caller-keys): 20 children each touch once
// at a gentle rate, every touch is an event through the platform's
// presence read, and every parent's mail reaches the bench's SMTP server,
// within issue 20's 5 s at the 99th percentile. (A second run on the same
// data directory reuses the fixtures and, within the server's minute of
// debounce, answers the first run's events: run by hand,
// docs/benchmarks.md.)
func TestBenchCheckin(t *testing.T) {
	// Parallel: most of its time is its server's start and waiting.
	t.Parallel()
	bin := buildBinary(t)
	data := t.TempDir()
	// A free loopback port for the bench's SMTP server, named to the
	// server before the bench listens at it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	smtpAddr := ln.Addr().String()
	ln.Close()
	keys := "gate/terminals=" + callerkey.New()
	base := startServer(t, bin, "--demo", "--data", data, "--smtp", smtpAddr, "--smtp-from", "gate@school.nambu.example", "--caller-keys", keys)
	var out bytes.Buffer
	fs := flag.NewFlagSet("checkin", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := benchCheckin(t.Context(), fs, []string{"--target", base, "--data", data, "--smtp", smtpAddr, "--caller-keys", keys,
		"--children", "20", "--conns", "2", "--duration", "10s", "--rate", "20", "--mail-wait", "30s"}, &out); err != nil {
		t.Fatalf("bench checkin: %v\n%s", err, out.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var res CheckinBenchResult
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("last line is no JSON: %v\n%s", err, out.String())
	}
	if res.Children != 20 || res.Touches != 20 || res.Events != 20 || res.Debounced != 0 || res.Errors != 0 || res.Mails != 20 || res.Lost != 0 ||
		res.MailP99Millis <= 0 || res.MailP99Millis > 5000 || res.ServerCPUMillisPerTouch <= 0 {
		t.Errorf("result %+v\n%s", res, out.String())
	}
	t.Logf("%s", lines[len(lines)-2])
}
