package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	neturl "net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/terminal"
)

// TestShutdownUnderLoad sends SIGTERM to "mynaplat serve" while clients
// keep calling it (health checks that ping the database, and challenges
// that write to it): every request gets a whole answer or no connection,
// never half an answer, and the process stops with exit status 0 in time.
func TestShutdownUnderLoad(t *testing.T) {
	bin := buildBinary(t)
	data := t.TempDir()
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--demo", "--data", data)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	urls := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`open (http://\S+)`)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	var url string
	select {
	case url = <-urls:
	case err := <-exited:
		t.Fatalf("serve exited before serving: %v\n%s", err, stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("serve printed no URL\n%s", stderr.String())
	}
	cfgs, err := terminal.LoadConfigs(filepath.Join(data, "bench"))
	if err != nil || len(cfgs) != 1 {
		t.Fatalf("bench terminal: %v %v", cfgs, err)
	}
	key, _ := base64.StdEncoding.DecodeString(cfgs[0].Key)

	// Each request on a connection of its own: a connection the server
	// never answered is "no connection", one it answered must be whole.
	hc := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var whole, refused atomic.Int64
	var mu sync.Mutex
	var halves []string
	half := func(what string, err error) {
		mu.Lock()
		halves = append(halves, what+": "+err.Error())
		mu.Unlock()
	}
	// one sends one request; false once the server is gone.
	one := func(i int) bool {
		if i%2 == 0 {
			resp, err := hc.Get(url + "/healthz")
			if err != nil {
				refused.Add(1) // no answer began: dial refused or reset before the status line
				return false
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			switch {
			case err != nil:
				half("healthz body", err)
			case resp.StatusCode != http.StatusOK || !bytes.HasPrefix(b, []byte("ok")):
				half("healthz", errors.New(resp.Status+" "+string(b)))
			default:
				whole.Add(1)
			}
			return true
		}
		tc := &platform.TerminalClient{BaseURL: url, TerminalID: cfgs[0].ID, Key: key, HTTP: hc}
		ch, err := tc.Challenge(t.Context())
		switch {
		case errors.As(err, new(*neturl.Error)):
			refused.Add(1) // as above; a 5xx answer is not this
			return false
		case err != nil:
			half("challenge", err)
		case ch.ID == "" || len(ch.Nonce) == 0:
			half("challenge", errors.New("an empty challenge"))
		default:
			whole.Add(1)
		}
		return true
	}

	const workers, maxPerWorker = 8, 5000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range maxPerWorker {
				if !one(w + i) {
					return
				}
			}
		})
	}
	// Let the load run, then stop the server under it.
	for whole.Load() < 200 {
		time.Sleep(20 * time.Millisecond)
	}
	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("serve exited with %v after SIGTERM\n%s", err, stderr.String())
		}
		t.Logf("serve stopped %v after SIGTERM", time.Since(sent).Round(time.Millisecond))
	case <-time.After(15 * time.Second):
		t.Errorf("serve did not stop within 15s of SIGTERM\n%s", stderr.String())
	}
	wg.Wait()
	t.Logf("whole answers %d, no connection %d, half answers %d", whole.Load(), refused.Load(), len(halves))
	if len(halves) > 0 {
		t.Errorf("half answers:\n%v", halves)
	}
	if refused.Load() == 0 {
		t.Errorf("no request found the server gone: the load stopped before SIGTERM")
	}
}
