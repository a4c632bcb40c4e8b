package keydir

import (
	"bufio"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2025, 4, 1, 9, 0, 0, 0, time.UTC)

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func root(t *testing.T, dir string, alg Alg) (crypto.Signer, *x509.Certificate) {
	t.Helper()
	key, cert, err := Root(filepath.Join(dir, "ca.key"), filepath.Join(dir, "ca.crt"), alg,
		func(crypto.PublicKey) *x509.Certificate { return RootTemplate("Test CA", t0) })
	if err != nil {
		t.Fatal(err)
	}
	return key, cert
}

func TestKeyRoundTrip(t *testing.T) {
	for _, alg := range []Alg{RSA, ECDSA, Ed25519} {
		t.Run(alg.String(), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "sub", "k.key")
			k, err := LoadOrMakeKey(path, alg)
			if err != nil {
				t.Fatal(err)
			}
			if m := mode(t, path); m != 0o600 {
				t.Errorf("key mode %o, want 600", m)
			}
			if m := mode(t, filepath.Dir(path)); m != 0o700 {
				t.Errorf("directory mode %o, want 700", m)
			}
			b, _ := os.ReadFile(path)
			if p, _ := pem.Decode(b); p == nil || p.Type != "PRIVATE KEY" {
				t.Fatalf("not a PEM PRIVATE KEY:\n%s", b)
			}
			again, err := LoadOrMakeKey(path, alg)
			if err != nil {
				t.Fatal(err)
			}
			if !again.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(k.Public()) {
				t.Error("LoadOrMakeKey made a second key over the first")
			}
			for _, other := range []Alg{RSA, ECDSA, Ed25519} {
				if _, err := ReadKey(path, other); (err == nil) != (other == alg) {
					t.Errorf("ReadKey as %v: %v", other, err)
				}
			}
		})
	}
}

func TestReadRefuses(t *testing.T) {
	dir := t.TempDir()
	_, cert := root(t, dir, ECDSA)
	other, _ := NewKey(ECDSA)
	otherKey := filepath.Join(dir, "other.key")
	if err := WriteKey(otherKey, other); err != nil {
		t.Fatal(err)
	}
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	certPEM, _ := os.ReadFile(filepath.Join(dir, "ca.crt"))
	keyPEM, _ := os.ReadFile(filepath.Join(dir, "ca.key"))
	tests := []struct {
		name, keyFile, certFile, want string
	}{
		{"key not PEM", write("a.key", "hello"), filepath.Join(dir, "ca.crt"), "not PEM"},
		{"certificate as key", write("b.key", string(certPEM)), filepath.Join(dir, "ca.crt"), "not PEM of type PRIVATE KEY"},
		{"bad DER in key", write("c.key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), filepath.Join(dir, "ca.crt"), "c.key:"},
		{"certificate not PEM", filepath.Join(dir, "ca.key"), write("d.crt", "hello"), "not PEM"},
		{"key as certificate", filepath.Join(dir, "ca.key"), write("e.crt", string(keyPEM)), "not PEM of type CERTIFICATE"},
		{"bad DER in certificate", filepath.Join(dir, "ca.key"), write("f.crt", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), "f.crt:"},
		{"key of another certificate", otherKey, filepath.Join(dir, "ca.crt"), "does not belong to"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ReadPair(tt.keyFile, tt.certFile, ECDSA)
			if err == nil || !strings.Contains(err.Error(), tt.want) || errors.Is(err, os.ErrNotExist) {
				t.Fatalf("ReadPair: %v, want an error with %q", err, tt.want)
			}
		})
	}
	if c, err := ReadCert(filepath.Join(dir, "ca.crt")); err != nil || !c.Equal(cert) {
		t.Fatalf("ReadCert: %v", err)
	}
}

func TestReadPairMissing(t *testing.T) {
	dir := t.TempDir()
	keyPath, certPath := filepath.Join(dir, "x.key"), filepath.Join(dir, "x.crt")
	if _, _, err := ReadPair(keyPath, certPath, RSA); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("no key: %v, want ErrNotExist", err)
	}
	k, _ := NewKey(RSA)
	if err := WriteKey(keyPath, k); err != nil {
		t.Fatal(err)
	}
	if key, cert, err := ReadPair(keyPath, certPath, RSA); err != nil || key == nil || cert != nil {
		t.Fatalf("key without certificate: %v, %v, %v", key, cert, err)
	}
}

func TestRoot(t *testing.T) {
	for _, alg := range []Alg{RSA, ECDSA} {
		t.Run(alg.String(), func(t *testing.T) {
			dir := t.TempDir()
			key, cert := root(t, dir, alg)
			if m := mode(t, filepath.Join(dir, "ca.key")); m != 0o600 {
				t.Errorf("key mode %o", m)
			}
			if m := mode(t, filepath.Join(dir, "ca.crt")); m != 0o644 {
				t.Errorf("certificate mode %o", m)
			}
			if !cert.IsCA || cert.Subject.CommonName != "Test CA" || cert.CheckSignatureFrom(cert) != nil ||
				cert.SerialNumber.Sign() <= 0 || !cert.NotAfter.Equal(t0.Add(RootValidity)) {
				t.Errorf("root: %+v", cert)
			}
			key2, cert2 := root(t, dir, alg)
			if !cert2.Equal(cert) || !key2.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(key.Public()) {
				t.Error("second Root made another root")
			}
			if err := os.Remove(filepath.Join(dir, "ca.crt")); err != nil {
				t.Fatal(err)
			}
			_, _, err := Root(filepath.Join(dir, "ca.key"), filepath.Join(dir, "ca.crt"), alg,
				func(crypto.PublicKey) *x509.Certificate { return RootTemplate("Test CA", t0) })
			if err == nil || !strings.Contains(err.Error(), "ca.key without ca.crt") {
				t.Errorf("key without certificate: %v", err)
			}
		})
	}
}

func TestLeaf(t *testing.T) {
	dir := t.TempDir()
	caKey, ca := root(t, dir, ECDSA)
	keyPath, certPath := filepath.Join(dir, "u", "unit.key"), filepath.Join(dir, "u", "unit.crt")
	leaf := func(now time.Time, validity time.Duration) (crypto.Signer, *x509.Certificate, int) {
		t.Helper()
		issued := 0
		k, c, err := Leaf(keyPath, certPath, ECDSA,
			func(c *x509.Certificate) bool { return Current(c, ca, now, 30*24*time.Hour) },
			func(k crypto.Signer) (*x509.Certificate, error) {
				issued++
				return Issue(&x509.Certificate{NotBefore: now, NotAfter: now.Add(validity)}, ca, k.Public(), caKey)
			})
		if err != nil {
			t.Fatal(err)
		}
		return k, c, issued
	}
	equal := func(a, b crypto.Signer) bool {
		return a.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(b.Public())
	}
	k1, c1, n := leaf(t0, 365*24*time.Hour)
	if n != 1 || c1.CheckSignatureFrom(ca) != nil {
		t.Fatalf("first Leaf: issued %d", n)
	}
	if m := mode(t, filepath.Dir(keyPath)); m != 0o700 {
		t.Errorf("directory mode %o", m)
	}
	tests := []struct {
		name      string
		now       time.Time
		validity  time.Duration
		reissued  bool
		breakCert bool
	}{
		{"current: kept", t0.Add(24 * time.Hour), 365 * 24 * time.Hour, false, false},
		{"near its end: issued again", t0.Add(340 * 24 * time.Hour), 365 * 24 * time.Hour, true, false},
		{"certificate lost: issued again", t0.Add(341 * 24 * time.Hour), 365 * 24 * time.Hour, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.breakCert {
				if err := os.Remove(certPath); err != nil {
					t.Fatal(err)
				}
			}
			k, _, n := leaf(tt.now, tt.validity)
			if (n == 1) != tt.reissued || !equal(k, k1) {
				t.Errorf("issued %d, same key %v", n, equal(k, k1))
			}
		})
	}
	// A certificate that would outlive its issuer ends with it.
	_, c, _ := leaf(ca.NotAfter.Add(-31*24*time.Hour), 100*365*24*time.Hour)
	if !c.NotAfter.Equal(ca.NotAfter) {
		t.Errorf("NotAfter %v, issuer's %v", c.NotAfter, ca.NotAfter)
	}
}

func TestLock(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "d")
	var (
		mu      sync.Mutex
		inside  int
		maxSeen int
		wg      sync.WaitGroup
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := Lock(dir, func() error {
				mu.Lock()
				inside++
				maxSeen = max(maxSeen, inside)
				mu.Unlock()
				time.Sleep(5 * time.Millisecond)
				mu.Lock()
				inside--
				mu.Unlock()
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if maxSeen != 1 {
		t.Errorf("%d holders at once", maxSeen)
	}
	if m := mode(t, dir); m != 0o700 {
		t.Errorf("directory mode %o", m)
	}
	if m := mode(t, filepath.Join(dir, ".lock")); m != 0o600 {
		t.Errorf("lock file mode %o", m)
	}
	want := errors.New("from fn")
	if err := Lock(dir, func() error { return want }); err != want {
		t.Errorf("Lock returned %v, want fn's error", err)
	}
	// A directory that cannot be made.
	file := filepath.Join(t.TempDir(), "f")
	os.WriteFile(file, nil, 0o600)
	if err := Lock(filepath.Join(file, "sub"), func() error { return nil }); err == nil {
		t.Error("Lock under a file succeeded")
	}
}

// TestLockAcrossProcesses holds the lock in a child process (this test
// binary again) and checks that the parent waits for it.
func TestLockAcrossProcesses(t *testing.T) {
	if dir := os.Getenv("KEYDIR_TEST_HOLD"); dir != "" {
		Lock(dir, func() error {
			os.Stdout.WriteString("held\n")
			io.Copy(io.Discard, os.Stdin) // until the parent closes stdin
			return nil
		})
		os.Exit(0)
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockAcrossProcesses$")
	cmd.Env = append(os.Environ(), "KEYDIR_TEST_HOLD="+dir)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer stdin.Close() // first: lets the child go
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "held\n" {
		t.Fatalf("child: %q, %v", line, err)
	}
	got := make(chan struct{})
	go func() {
		Lock(dir, func() error { return nil })
		close(got)
	}()
	select {
	case <-got:
		t.Fatal("took the lock while another process held it")
	case <-time.After(200 * time.Millisecond):
	}
	stdin.Close()
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("lock not taken after the other process let it go")
	}
}

func TestNewSerial(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		n, err := NewSerial()
		if err != nil {
			t.Fatal(err)
		}
		if n.Sign() <= 0 || n.BitLen() > 128 || seen[n.String()] {
			t.Fatalf("serial %v", n)
		}
		seen[n.String()] = true
	}
}
