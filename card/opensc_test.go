//go:build linux

package card

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/internal/testutil"
)

const opensc11 = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"

// tlogWriter sends the emulator's log lines to the test log.
type tlogWriter struct{ t testing.TB }

func (w tlogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// plug serves c to vpcd until the test ends.
func plug(t *testing.T, c *Card) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	logger := slog.New(slog.NewTextHandler(tlogWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	go func() {
		defer close(done)
		if err := ServeVPCD(ctx, DefaultVPCDAddr, c, logger); err != nil {
			t.Errorf("ServeVPCD: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// run runs an outside program and returns its combined output.
func run(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	t.Logf("$ %s %s\n%s", name, strings.Join(args, " "), out)
	return string(out), err
}

func writePubPEM(t *testing.T, certDER []byte, path string) {
	t.Helper()
	cert, err := x509.ParseCertificate(certDER)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(cert.PublicKey.(*rsa.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestOpenSC plugs an emulated card into pcscd through vsmartcard-vpcd and
// uses it with Debian's OpenSC 0.23 and openssl, as a relying party would.
func TestOpenSC(t *testing.T) {
	for _, p := range []struct{ name, pkg string }{
		{"opensc-tool", "opensc"}, {"pkcs15-tool", "opensc"}, {"pkcs11-tool", "opensc"}, {"openssl", "openssl"},
	} {
		testutil.NeedProgram(t, p.name, p.pkg)
	}
	if _, err := os.Stat(opensc11); err != nil {
		testutil.Missing(t, opensc11+" (Debian package opensc-pkcs11)")
	}
	testutil.PCSCD(t)
	store, c := newStoreCard(t)
	plug(t, c)

	// pcscd polls its readers; wait until OpenSC sees the card.
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, err := run(t, "opensc-tool", "-r", "0", "-n")
		if err == nil && strings.TrimSpace(out) == "jpki" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("opensc-tool -r 0 -n never printed jpki")
		}
		time.Sleep(500 * time.Millisecond)
	}

	out, err := run(t, "opensc-tool", "-r", "0", "-a")
	if err != nil || !strings.Contains(out, "3b:e0:00:ff:81:31:fe:45:14") {
		t.Errorf("opensc-tool -a: %v, ATR not shown", err)
	}

	// A standard client's "PIN status" (MYNA-RS `myna pin status`,
	// jpki-card.md §7): the text AP's three keys, the visual AP's two, then
	// the JPKI AP's two, each selected and queried with the empty VERIFY.
	// It stops at the first error, so every step must answer 63Cx.
	col := func(s string) string { return strings.ReplaceAll(s, " ", ":") }
	args := []string{"-r", "0"}
	for _, s := range []string{selText, selEF("00 11"), query, selEF("00 14"), query, selEF("00 15"), query,
		selVisual, selEF("00 13"), query, selEF("00 12"), query, selJPKI, selEF("00 18"), query, selEF("00 1B"), query} {
		args = append(args, "-s", col(s))
	}
	out, err = run(t, "opensc-tool", args...)
	if err != nil {
		t.Fatalf("opensc-tool -s (PIN status): %v", err)
	}
	if n := strings.Count(out, "SW1=0x90, SW2=0x00"); n != 10 {
		t.Errorf("PIN status: %d SELECTs answered 9000, want 10", n)
	}
	for _, want := range []string{"SW1=0x63, SW2=0xC3", "SW1=0x63, SW2=0xCA", "SW1=0x63, SW2=0xC5"} {
		if !strings.Contains(out, want) {
			t.Errorf("PIN status lacks %s", want)
		}
	}
	if n := strings.Count(out, "SW1=0x63"); n != 7 || strings.Contains(out, "SW1=0x6A") {
		t.Errorf("PIN status: %d retry counts (want 7), or a 6Axx", n)
	}

	out, err = run(t, "pkcs15-tool", "-r", "0", "--list-certificates")
	if err != nil {
		t.Fatalf("pkcs15-tool --list-certificates: %v", err)
	}
	for _, want := range []string{"User Authentication Certificate", "Digital Signature Certificate"} {
		if !strings.Contains(out, want) {
			t.Errorf("pkcs15-tool --list-certificates lacks %q", want)
		}
	}

	dir := t.TempDir()
	msg, sig, pub := filepath.Join(dir, "msg"), filepath.Join(dir, "sig"), filepath.Join(dir, "pub.pem")
	if err := os.WriteFile(msg, []byte("mynaplat OpenSC test\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	signs := []struct {
		name, slot, id, pin string
		cert                []byte
	}{
		{"auth key", "0", "01", testAuthPIN, c.st.Auth.Cert},
		// OpenSC presents the signing password twice (login and
		// context-specific login): the verified state must survive that.
		{"sign key", "1", "02", testSignPIN, c.st.Sign.Cert},
	}
	for _, s := range signs {
		t.Run(s.name, func(t *testing.T) {
			os.Remove(sig)
			if _, err := run(t, "pkcs11-tool", "--module", opensc11, "--slot-index", s.slot, "--login", "--pin", s.pin,
				"--sign", "--id", s.id, "-m", "SHA256-RSA-PKCS", "-i", msg, "-o", sig); err != nil {
				t.Fatalf("pkcs11-tool --sign: %v", err)
			}
			writePubPEM(t, s.cert, pub)
			out, err := run(t, "openssl", "dgst", "-sha256", "-verify", pub, "-signature", sig, msg)
			if err != nil || !strings.Contains(out, "Verified OK") {
				t.Errorf("openssl dgst -verify: %v", err)
			}
		})
	}

	// Three wrong PINs block the auth PIN; OpenSC must then report it locked.
	for i := range 3 {
		out, err := run(t, "pkcs11-tool", "--module", opensc11, "--slot-index", "0", "--login", "--pin", "9999", "-O")
		if err == nil || !strings.Contains(out, "CKR_PIN_INCORRECT") {
			t.Errorf("wrong PIN %d: err %v, want CKR_PIN_INCORRECT", i+1, err)
		}
	}
	if in := c.Info(); in.AuthTriesLeft != 0 {
		t.Errorf("card has %d auth tries left, want 0", in.AuthTriesLeft)
	}
	// The retry query answers 63C0, so the token stays and is flagged
	// locked; the signing slot is not.
	out, _ = run(t, "pkcs11-tool", "--module", opensc11, "-L")
	authSlot, signSlot, _ := strings.Cut(out, "Slot 1 ")
	if !strings.Contains(authSlot, "JPKI (User Authentication PIN)") || !strings.Contains(authSlot, "user PIN locked") {
		t.Errorf("pkcs11-tool -L: slot 0 is not the locked auth token")
	}
	if !strings.Contains(signSlot, "JPKI (Digital Signature PIN)") || strings.Contains(signSlot, "user PIN locked") {
		t.Errorf("pkcs11-tool -L: slot 1 is not the unlocked signing token")
	}
	// The card answers 6984 to VERIFY on a blocked PIN, which OpenSC 0.23
	// maps to SC_ERROR_REF_DATA_NOT_USABLE and then CKR_GENERAL_ERROR
	// (jpki-card.md §3.3), even with the right PIN.
	out, err = run(t, "pkcs11-tool", "--module", opensc11, "--slot-index", "0", "--login", "--pin", testAuthPIN, "-O")
	if err == nil || !strings.Contains(out, "CKR_GENERAL_ERROR") {
		t.Errorf("login with the right PIN on a blocked PIN: err %v, want CKR_GENERAL_ERROR", err)
	}

	// The counter resets the PIN (management key, RESET RETRY COUNTER):
	// OpenSC then sees an unlocked token and the new PIN logs in.
	if err := NewClient(c).ResetPIN(AuthPIN, "2468", store.SAM().Authenticator(c.ID())); err != nil {
		t.Fatalf("reset the auth PIN: %v", err)
	}
	c.Reset() // as the counter's reader hands the card back
	out, _ = run(t, "pkcs11-tool", "--module", opensc11, "-L")
	authSlot, _, _ = strings.Cut(out, "Slot 1 ")
	if !strings.Contains(authSlot, "JPKI (User Authentication PIN)") || strings.Contains(authSlot, "user PIN locked") {
		t.Errorf("pkcs11-tool -L after the reset: slot 0 is not an unlocked auth token:\n%s", authSlot)
	}
	if out, err := run(t, "pkcs11-tool", "--module", opensc11, "--slot-index", "0", "--login", "--pin", "2468", "-O"); err != nil {
		t.Errorf("login with the new PIN after the reset: %v\n%s", err, out)
	}
}
