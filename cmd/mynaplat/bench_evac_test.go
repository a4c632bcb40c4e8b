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

// TestBenchEvacuation runs bench evacuation small against serve --demo:
// 200 TVs connect, every one receives the order and the lift within 5 s,
// none missed or dropped, and the server's memory and CPU are reported.
// A second run on the same data directory reuses the households and
// receives only its own order.
func TestBenchEvacuation(t *testing.T) {
	// Parallel: most of its time is waiting (a deadline, a bench's window)
	// on its own server, which the other waiting tests can share.
	t.Parallel()
	bin := buildBinary(t)
	data := t.TempDir()
	base := startServer(t, bin, "--demo", "--data", data)
	run := func() EvacBenchResult {
		var out bytes.Buffer
		fs := flag.NewFlagSet("evacuation", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		start := time.Now()
		if err := benchEvacuation(t.Context(), fs, []string{"--target", base, "--data", data, "--tvs", "200", "--wait", "20s"}, &out); err != nil {
			t.Fatalf("bench evacuation: %v\n%s", err, out.String())
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		var res EvacBenchResult
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
			t.Fatalf("last line is no JSON: %v\n%s", err, out.String())
		}
		t.Logf("bench evacuation ran in %v:\n%s", time.Since(start).Round(time.Millisecond), out.String())
		for name, p := range map[string]EvacPush{"order": res.Order, "lift": res.Lift} {
			if p.Received != 200 || p.Missed != 0 || p.P100Millis <= 0 || p.P100Millis > 5000 || p.P50Millis > p.P99Millis || p.P99Millis > p.P100Millis {
				t.Errorf("the %s: %+v", name, p)
			}
		}
		if res.Connected != 200 || res.Dropped != 0 || res.ServerCPUConnectMillisPerTV <= 0 || res.ServerHeapPerTVKB == 0 {
			t.Errorf("result %+v\n%s", res, out.String())
		}
		return res
	}
	run()
	run()
}
