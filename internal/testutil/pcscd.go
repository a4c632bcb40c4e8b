//go:build linux

package testutil

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
	if _, err := os.Stat(vpcdDriver); err != nil {
		Missing(t, vpcdDriver+" (Debian package vsmartcard-vpcd)")
	}
	lock(t, filepath.Join(os.TempDir(), "mynaplat-pcscd.lock"))

	logPath := ""
	if _, err := os.Stat(pcscdSocket); err != nil {
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
		t.Cleanup(func() {
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
	deadline := time.Now().Add(15 * time.Second)
	for !tcpListening(0x8C7B) {
		if time.Now().After(deadline) {
			var b []byte
			if logPath != "" {
				b, _ = os.ReadFile(logPath)
			}
			t.Fatalf("vpcd is not listening on port 35963 after 15 s; pcscd log:\n%s", b)
		}
		time.Sleep(100 * time.Millisecond)
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
