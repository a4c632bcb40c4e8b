package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"strings"
	"testing"
)

// TestBenchOIDC runs bench oidc for a moment against serve --demo and reads
// its JSON line: logins completed with no errors, the server's CPU per
// login and the floor; a second run reuses the bench client it registered.
func TestBenchOIDC(t *testing.T) {
	bin := buildBinary(t)
	data := t.TempDir()
	base := startServer(t, bin, "--demo", "--data", data)
	run := func() (OIDCBenchResult, string) {
		var out bytes.Buffer
		fs := flag.NewFlagSet("oidc", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		err := benchOIDC(t.Context(), fs, []string{"--target", base, "--data", data, "--conns", "2", "--duration", "500ms"}, &out)
		if err != nil {
			t.Fatalf("bench oidc: %v\n%s", err, out.String())
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		var res OIDCBenchResult
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
			t.Fatalf("last line is no JSON: %v\n%s", err, out.String())
		}
		return res, out.String()
	}
	res, out := run()
	if res.Logins == 0 || res.Errors != 0 || res.LoginsPerSec <= 0 || res.P99Millis < res.P50Millis || res.Cards == 0 ||
		res.ServerCPUMillisPerOp <= 0 || res.ClientCPUMillisPerOp <= 0 || res.Floor.MinMillis <= 0 || res.Floor.TokensMillis <= res.Floor.MinMillis ||
		res.Floor.VirtualCardMillis <= res.Floor.TokensMillis {
		t.Errorf("result %+v\n%s", res, out)
	}
	if res, out := run(); res.Logins == 0 || res.Errors != 0 {
		t.Errorf("second run %+v\n%s", res, out)
	}
}
