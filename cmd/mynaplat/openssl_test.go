package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/internal/testutil"
	"github.com/mynaplat/mynaplat/internal/webtest"
)

// buildBinary builds cmd/mynaplat once per test binary run.
func buildBinary(t *testing.T) string {
	t.Helper()
	testBinary.once.Do(func() {
		dir, err := os.MkdirTemp("", "mynaplat-test-bin-")
		if err != nil {
			testBinary.err = err
			return
		}
		testBinary.dir = dir
		bin := filepath.Join(dir, "mynaplat")
		if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
			testBinary.err = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		testBinary.bin = bin
	})
	if testBinary.err != nil {
		t.Fatal(testBinary.err)
	}
	return testBinary.bin
}

// testBinary is the binary the tests run, built once per test process: forty
// tests start it, and building it each time cost minutes of the package's
// run. The binary never changes during a run; no test writes to it. TestMain
// removes it.
var testBinary struct {
	once     sync.Once
	dir, bin string
	err      error
}

// TestMain runs the tests, then removes the binary they built.
func TestMain(m *testing.M) {
	code := m.Run()
	if testBinary.dir != "" {
		os.RemoveAll(testBinary.dir)
	}
	os.Exit(code)
}

// mynaplat runs the binary and returns its standard output.
func mynaplat(t *testing.T, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("mynaplat %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

// startServer runs "mynaplat serve" on a free port and returns its URL; it
// stops when the test ends.
func startServer(t *testing.T, bin string, args ...string) string {
	t.Helper()
	url, stop := startServerStop(t, bin, args...)
	t.Cleanup(stop)
	return url
}

// startServerStop runs "mynaplat serve" and returns its URL and a stop that
// interrupts it and fails the test unless it exits cleanly; the test's
// cleanup stops it too.
func startServerStop(t *testing.T, bin string, args ...string) (string, func()) {
	t.Helper()
	if !slices.Contains(args, "--addr") {
		args = append([]string{"--addr", "127.0.0.1:0"}, args...)
	}
	cmd := exec.Command(bin, append([]string{"serve"}, args...)...)
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stop := sync.OnceFunc(func() {
		// A graceful shutdown on SIGINT exits 0.
		cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve %s did not shut down cleanly: %v\n%s", strings.Join(args, " "), err, stderr.String())
			}
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			t.Errorf("serve did not stop within 15s of SIGINT")
		}
	})
	t.Cleanup(stop)
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		re := regexp.MustCompile(`open (http://\S+)`)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	select {
	case u := <-urls:
		return u, stop
	case <-time.After(60 * time.Second):
		t.Fatalf("serve %s printed no URL\n%s", strings.Join(args, " "), stderr.String())
	}
	return "", stop
}

// TestOpenSSLAgrees issues a card with the CLI, serves the centre, and has
// openssl check the certificate by OCSP and against the downloaded CRL —
// before and after "mynaplat jpki revoke".
func TestOpenSSLAgrees(t *testing.T) {
	openssl := testutil.NeedProgram(t, "openssl", "openssl")
	bin := buildBinary(t)
	data := t.TempDir()
	var issued struct {
		CardID string `json:"card_id"`
		Auth   struct{ Serial string }
	}
	out := mynaplat(t, bin, "jpki", "issue", "--data", data, "--json", "--name", "酒田 一郎", "--kana", "サカタ イチロウ",
		"--birth", "1975-06-30", "--sex", "male", "--address", "山形県酒田市本町二丁目２番４５号", "--municipality", "062049",
		"--auth-pin", "1234", "--sign-pin", "SAKATA1975")
	if err := json.Unmarshal([]byte(out), &issued); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	url := startServer(t, bin, "--data", data)
	srv := webtest.New(t, url)

	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	certPEM := file("auth.pem", mynaplat(t, bin, "jpki", "status", "--data", data, "--kind", "auth", "--serial", issued.Auth.Serial, "--pem"))
	caDER := srv.Step(webtest.Step{Name: "CA certificate", Path: "/jpki/ca/auth.crt"}).Body
	caPEM := file("ca.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte(caDER)})))

	ocspCheck := func() string {
		t.Helper()
		cmd := exec.Command(openssl, "ocsp", "-issuer", caPEM, "-cert", certPEM, "-url", url+"/jpki/ocsp",
			"-CAfile", caPEM, "-resp_text")
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("openssl ocsp: %v\n%s", err, b)
		}
		return string(b)
	}
	crlVerify := func() (string, error) {
		t.Helper()
		crlDER := srv.Step(webtest.Step{Name: "CRL", Path: "/jpki/crl/auth.crl"}).Body
		crlPEM := file("auth.crl.pem", string(pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: []byte(crlDER)})))
		b, err := exec.Command(openssl, "verify", "-crl_check", "-CAfile", caPEM, "-CRLfile", crlPEM, certPEM).CombinedOutput()
		return string(b), err
	}

	res := ocspCheck()
	// openssl sends a nonce and warns when the response does not echo it.
	if strings.Contains(res, "WARNING: no nonce") {
		t.Errorf("openssl saw no nonce in the response:\n%s", res)
	}
	for _, want := range []string{"Response verify OK", ": good"} {
		if !strings.Contains(res, want) {
			t.Errorf("openssl ocsp before revocation lacks %q:\n%s", want, res)
		}
	}
	if out, err := crlVerify(); err != nil || !strings.Contains(out, ": OK") {
		t.Errorf("openssl verify -crl_check before revocation: %v\n%s", err, out)
	}

	mynaplat(t, bin, "jpki", "revoke", "--data", data, "--card", issued.CardID, "--reason", "lost")

	res = ocspCheck()
	for _, want := range []string{"Response verify OK", ": revoked", "Reason: keyCompromise"} {
		if !strings.Contains(res, want) {
			t.Errorf("openssl ocsp after revocation lacks %q:\n%s", want, res)
		}
	}
	if out, err := crlVerify(); err == nil || !strings.Contains(out, "certificate revoked") {
		t.Errorf("openssl verify -crl_check after revocation: %v\n%s", err, out)
	}
}
