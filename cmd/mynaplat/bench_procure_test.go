package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

// TestBenchProcure runs bench procure small against serve --demo: 20
// companies (5 agents) bid over a 3-second window, one more bid comes
// after the deadline; every bid is accepted before the deadline and
// opened valid, the late one refused and absent from the result, and the
// opening's phases and look-ups are reported. (A second run on the same
// data directory reuses the fixtures; it is left out to keep the test
// short, and was run by hand: docs/benchmarks.md.)
func TestBenchProcure(t *testing.T) {
	// Parallel: most of its time is waiting (a deadline, a bench's window)
	// on its own server, which the other waiting tests can share.
	t.Parallel()
	bin := buildBinary(t)
	data := t.TempDir()
	base := startServer(t, bin, "--demo", "--data", data)
	run := func() (ProcureBenchResult, string) {
		var out bytes.Buffer
		fs := flag.NewFlagSet("procure", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		err := benchProcure(t.Context(), fs, []string{"--target", base, "--data", data, "--bidders", "20", "--agents", "5",
			"--window", "3s", "--late", "1"}, &out)
		if err != nil {
			t.Fatalf("bench procure: %v\n%s", err, out.String())
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		var res ProcureBenchResult
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
			t.Fatalf("last line is no JSON: %v\n%s", err, out.String())
		}
		return res, out.String()
	}
	check := func(res ProcureBenchResult, out string) {
		t.Helper()
		if res.Accepted != 20 || res.RefusedLate != 1 || res.AcceptedLate != 0 || res.Lost != 0 || res.Errors != 0 ||
			res.OpenedBids != 20 || res.ValidBids != 20 || res.LateInResult != 0 || res.Winner == "" ||
			res.OpeningSeconds <= 0 || res.ServerCPUMillisPerBid <= 0 || res.P99Millis < res.P50Millis ||
			res.CheckSeconds <= 0 || len(res.Lookups) != 5 {
			t.Errorf("result %+v\n%s", res, out)
		}
	}
	start := time.Now()
	res, out := run()
	t.Logf("bench procure ran in %v (opening %.2fs)", time.Since(start).Round(time.Millisecond), res.OpeningSeconds)
	check(res, out)
}
