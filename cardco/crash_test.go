package cardco

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// The crash test runs the company in a process of its own — this test
// binary again, entering TestHelperProcess — and kills it with SIGKILL while
// a payment's transaction is open, after the ledger rows are written.

const (
	envHelper = "CARDCO_TEST_HELPER"   // "1": be the company process
	envDir    = "CARDCO_TEST_DATA_DIR" // its SQLite data directory, or
	envDSN    = "CARDCO_TEST_DSN"      // its PostgreSQL DSN
	envAddr   = "CARDCO_TEST_ADDR"     // the address to listen on (default: any port)
	envHang   = "CARDCO_TEST_HANG"     // "1": stop inside every money-moving transaction
)

// TestHelperProcess is the company process of TestCrashMidRequest; run
// normally it does nothing. It prints "ADDR host:port" when it serves and,
// with CARDCO_TEST_HANG=1, "IN_TX" from inside the transaction, where it then
// waits to be killed.
func TestHelperProcess(t *testing.T) {
	if os.Getenv(envHelper) != "1" {
		return
	}
	fail := func(err error) {
		fmt.Println("ERR", err)
		os.Exit(2)
	}
	ctx := context.Background()
	db, err := store.Open(ctx, store.Options{DSN: os.Getenv(envDSN), DataDir: os.Getenv(envDir)})
	if err != nil {
		fail(err)
	}
	co, err := Open(ctx, Config{DB: db, RequestTimeout: 5 * time.Minute})
	if err != nil {
		fail(err)
	}
	if os.Getenv(envHang) == "1" {
		co.beforeCommit = func(ctx context.Context, op string) error {
			fmt.Println("IN_TX", op)
			<-ctx.Done()
			return ctx.Err()
		}
	}
	addr := os.Getenv(envAddr)
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fail(err)
	}
	fmt.Println("ADDR", ln.Addr())
	mux := http.NewServeMux()
	co.Routes(mux)
	fail(http.Serve(ln, mux))
}

// company is a running company process.
type company struct {
	cmd   *exec.Cmd
	lines chan string
}

// startCompany starts the company process and waits until it serves.
func startCompany(t *testing.T, env ...string) (*company, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(append(os.Environ(), envHelper+"=1"), env...)
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &company{cmd: cmd, lines: make(chan string, 64)}
	go func() {
		defer close(c.lines)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
	}()
	go func() { cmd.Wait(); pw.Close() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	line := c.waitFor(t, "ADDR ")
	return c, strings.TrimPrefix(line, "ADDR ")
}

// waitFor returns the first output line starting with prefix.
func (c *company) waitFor(t *testing.T, prefix string) string {
	t.Helper()
	timeout := time.After(time.Minute)
	for {
		select {
		case line, ok := <-c.lines:
			if !ok {
				t.Fatalf("company process ended before printing %q", prefix)
			}
			if strings.HasPrefix(line, "ERR ") {
				t.Fatalf("company process: %s", line)
			}
			if strings.HasPrefix(line, prefix) {
				return line
			}
		case <-timeout:
			t.Fatalf("company process did not print %q within a minute", prefix)
		}
	}
}

// kill kills the process with SIGKILL — no deferred rollback, no clean
// shutdown — and waits until it is gone.
func (c *company) kill(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for range c.lines { // ends when the process's stdout closes
	}
}

func TestCrashMidRequest(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		db, err := store.Open(t.Context(), store.Options{DataDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		testCrash(t, db, envDir+"="+dir)
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := storetest.PostgresDSN(t)
		testCrash(t, storetest.OpenDSN(t, dsn), envDSN+"="+dsn)
	})
}

func testCrash(t *testing.T, db *store.DB, dbEnv string) {
	ctx := t.Context()
	// This process only seeds and inspects the books; the company process
	// serves the requests.
	co, err := Open(ctx, Config{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	_, key, err := co.AddMerchant(ctx, "日本海総合病院")
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := co.AddAccount(ctx, testPAN, "SAKATA ICHIRO", testLimit)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{co: co, db: db, token: token}

	first, addr := startCompany(t, dbEnv, envHang+"=1")
	client := &Client{BaseURL: "http://" + addr, MerchantKey: key, HTTP: &http.Client{Timeout: time.Minute}, Retries: 29}
	req := PaymentRequest{Token: token, Amount: 4800, Currency: "JPY", Description: "外来診療費"}
	ikey := NewIdempotencyKey()
	type result struct {
		p   *Payment
		err error
	}
	done := make(chan result, 1)
	go func() {
		p, err := client.Pay(ctx, ikey, req)
		done <- result{p, err}
	}()

	first.waitFor(t, "IN_TX payment")
	first.kill(t)
	// The process died inside the transaction: no payment, no debit, no key.
	e.checkLedger(t, ledger{Available: testLimit})

	// A new company process on the same database and address; the
	// client's retries, still with the same key, reach it.
	startCompany(t, dbEnv, envAddr+"="+addr)
	var r result
	select {
	case r = <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("Pay did not finish")
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.p.Replayed || r.p.Amount != 4800 || r.p.Status != Captured {
		t.Errorf("payment after the crash: %+v; want a fresh capture of 4800", r.p)
	}
	e.checkLedger(t, ledger{Payments: 1, Keys: 1, Available: testLimit - 4800})

	again, err := client.Pay(ctx, ikey, req)
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != r.p.ID || !again.Replayed {
		t.Errorf("another retry: %+v, want %s replayed", again, r.p.ID)
	}
	e.checkLedger(t, ledger{Payments: 1, Keys: 1, Available: testLimit - 4800})
}
