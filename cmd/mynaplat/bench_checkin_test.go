package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"strings"
	"testing"
)

// TestBenchCheckin runs bench checkin for a moment at a gentle rate and
// reads its JSON line: every touch's parent mail reached the SMTP server,
// within issue 20's 5 s at the 99th percentile.
func TestBenchCheckin(t *testing.T) {
	var out bytes.Buffer
	fs := flag.NewFlagSet("checkin", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := benchCheckin(context.Background(), fs, []string{"--children", "20", "--conns", "2", "--duration", "1s", "--rate", "20"}, &out); err != nil {
		t.Fatalf("bench checkin: %v\n%s", err, out.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var res CheckinBenchResult
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("last line is no JSON: %v\n%s", err, out.String())
	}
	if res.Touches == 0 || res.Errors != 0 || res.Mails != int(res.Touches) || res.MailP99Millis > 5000 || !res.PresenceStandIn || res.Children != 20 {
		t.Errorf("result %+v", res)
	}
	t.Logf("%s", lines[0])
}
