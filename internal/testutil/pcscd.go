//go:build linux

package testutil

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// pcscdSocket is where a running pcscd accepts its clients.
const pcscdSocket = "/run/pcscd/pcscd.comm"

// vpcdDriver is the pcscd reader driver of vsmartcard-vpcd.
const vpcdDriver = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"

// PCSCD gives the test the machine's pcscd with vsmartcard-vpcd waiting for a
// virtual card on 127.0.0.1:35963 (jpki-card.md §9). There is only one pcscd
// and one vpcd slot 0 per machine, so it first takes an exclusive lock shared
// by every test binary of the module (tests in different packages run in
// parallel); the lock is held until the test ends. If no pcscd runs, it starts
// `pcscd --foreground` and stops it when the test ends.
//
// A missing pcscd or vpcd is a skip, or a failure under CI=true.
func PCSCD(t testing.TB) {
	t.Helper()
	bin := NeedProgram(t, "pcscd", "pcscd")
	NeedProgram(t, "opensc-tool", "opensc") // to see that pcscd lists the reader
	if _, err := os.Stat(vpcdDriver); err != nil {
		Missing(t, vpcdDriver+" (Debian package vsmartcard-vpcd)")
	}
	lock(t, filepath.Join(os.TempDir(), "mynaplat-pcscd.lock"))

	// A pcscd is ready when it lists vpcd's reader, not merely when the
	// port listens: under load the vpcd driver has been seen to come up
	// without a reader. A pcscd this test started gets one restart.
	for attempt := 0; ; attempt++ {
		stop, logPath := startPCSCD(t, bin)
		err := waitReady(15 * time.Second)
		if err == nil {
			return
		}
		var b []byte
		if logPath != "" {
			b, _ = os.ReadFile(logPath)
		}
		if stop == nil || attempt > 0 {
			t.Fatalf("%v; pcscd log:\n%s", err, b)
		}
		t.Logf("%v; restarting pcscd", err)
		stop()
		time.Sleep(time.Second)
	}
}

// startPCSCD starts `pcscd --foreground` unless one runs, and returns how to
// stop it (nil when it was already running) and its log file.
func startPCSCD(t testing.TB, bin string) (stop func(), logPath string) {
	t.Helper()
	if _, err := os.Stat(pcscdSocket); err == nil {
		return nil, ""
	}
	logPath = filepath.Join(t.TempDir(), "pcscd.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--foreground")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start pcscd: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				<-exited
			}
			logf.Close()
		})
	}
	t.Cleanup(stop)
	return stop, logPath
}

// waitReady waits until vpcd listens and pcscd lists its reader.
func waitReady(d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		if tcpListening(0x8C7B) {
			if out, err := exec.Command("opensc-tool", "-l").CombinedOutput(); err == nil && strings.Contains(string(out), "Virtual PCD") {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pcscd did not list the vpcd reader within %v", d)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// lock takes an flock on path until the test ends.
func lock(t testing.TB, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		t.Fatalf("lock %s: %v", path, err)
	}
	t.Cleanup(func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	})
}

// tcpListening reports whether some socket listens on port, by reading the
// kernel's tables: connecting to vpcd's port to find out would itself plug in
// an (empty) card.
func tcpListening(port uint16) bool {
	want := ":" + hex16(port)
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(table)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			// sl local_address rem_address st ...; st 0A is LISTEN.
			if len(fields) > 3 && strings.HasSuffix(fields[1], want) && fields[3] == "0A" {
				f.Close()
				return true
			}
		}
		f.Close()
	}
	return false
}

func hex16(v uint16) string {
	const digits = "0123456789ABCDEF"
	return string([]byte{digits[v>>12&0xF], digits[v>>8&0xF], digits[v>>4&0xF], digits[v&0xF]})
}
