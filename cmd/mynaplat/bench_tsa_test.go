package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mynaplat/mynaplat/tsa"
)

// TestBenchTSA runs bench tsa for a moment against a TSA and reads its JSON
// line; against a TSA that refuses, it fails before firing.
func TestBenchTSA(t *testing.T) {
	t.Parallel()
	keys, err := tsa.LoadOrCreate(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/tsa", tsa.New(keys, nil, nil).Handler())
	srv := httptest.NewServer(mux)
	defer srv.Close()
	run := func(target string, args ...string) (string, error) {
		var out bytes.Buffer
		fs := flag.NewFlagSet("tsa", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		err := benchTSA(context.Background(), fs, append([]string{"--target", target}, args...), &out)
		return out.String(), err
	}
	out, err := run(srv.URL, "--conns", "4", "--duration", "300ms", "--hash", "sha384")
	if err != nil {
		t.Fatalf("bench tsa: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var res TSABenchResult
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("last line is no JSON: %v\n%s", err, out)
	}
	if res.Tokens == 0 || res.Errors != 0 || res.TokensPerSec <= 0 || res.P50Millis <= 0 || res.P99Millis < res.P50Millis ||
		res.Hash != "sha384" || res.Conns != 4 || res.DurationSeconds < 0.3 {
		t.Errorf("result %+v", res)
	}
	if !strings.Contains(out, "no server CPU per operation") {
		t.Errorf("a server without /metrics is not said:\n%s", out)
	}

	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/timestamp-reply")
		w.Write([]byte{0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x02}) // PKIStatus rejection
	}))
	defer refusing.Close()
	if out, err := run(refusing.URL, "--duration", "100ms"); err == nil {
		t.Errorf("bench tsa against a refusing TSA did not fail:\n%s", out)
	}
	if _, err := run(srv.URL, "--hash", "md5"); err == nil {
		t.Error("--hash md5 was taken")
	}
}
