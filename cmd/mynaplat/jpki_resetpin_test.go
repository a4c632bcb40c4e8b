package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mynaplat/mynaplat/card"
)

// TestJPKIResetPIN resets a blocked PIN with mynaplat jpki reset-pin: the
// new PIN comes from a file, never from the command line, and is checked
// before anything is recorded.
func TestJPKIResetPIN(t *testing.T) {
	dir := t.TempDir()
	out, errOut, code := runArgs(t.Context(), "jpki", "issue", "--data", dir, "--json", "--name", "本間 光", "--kana", "ホンマ ヒカル",
		"--birth", "1985-05-05", "--sex", "male", "--address", "山形県酒田市本町一丁目1番1号", "--municipality", "062049",
		"--auth-pin", "1357", "--sign-pin", "HONMA1985")
	if code != 0 {
		t.Fatalf("issue: exit %d: %s", code, errOut)
	}
	var issued struct {
		CardID string `json:"card_id"`
	}
	if err := json.Unmarshal([]byte(out), &issued); err != nil {
		t.Fatal(err)
	}
	id := issued.CardID
	store, err := card.NewStore(filepath.Join(dir, "cards"), nil)
	if err != nil {
		t.Fatal(err)
	}
	cd, err := store.Open(id)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		_ = card.NewClient(cd).VerifyPIN(card.AuthPIN, "0000")
	}
	file := func(name, content string) string {
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := file("pin", "2468\n")
	refusals := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"a PIN on the command line", []string{"--card", id, "--pin", "auth", "2468"}, 2, "never taken from the command line"},
		{"an unknown PIN", []string{"--card", id, "--pin", "puk", "--pin-file", good}, 2, "--pin must be auth, sign or text"},
		{"no card", []string{"--pin", "auth", "--pin-file", good}, 2, "--card"},
		{"a short PIN", []string{"--card", id, "--pin", "auth", "--pin-file", file("short", "246\n")}, 1, "the PIN is 4 digits"},
		{"a bad signing password", []string{"--card", id, "--pin", "sign", "--pin-file", file("sign", "ab!12345\n")}, 1, "6 to 16 letters"},
		{"no such file", []string{"--card", id, "--pin", "auth", "--pin-file", filepath.Join(dir, "nope")}, 1, "nope"},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := runArgs(t.Context(), append([]string{"jpki", "reset-pin", "--data", dir}, tc.args...)...)
			if code != tc.code || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d (want %d), stderr %q lacks %q", code, tc.code, errOut, tc.want)
			}
		})
	}
	if n, _ := card.NewClient(cd).PINStatus(card.AuthPIN); n != 0 {
		t.Fatalf("a refused reset changed the card: %d tries", n)
	}

	out, errOut, code = runArgs(t.Context(), "jpki", "reset-pin", "--data", dir, "--card", id, "--pin", "auth", "--pin-file", good, "--approved-by", "supervisor:S-001")
	if code != 0 || !strings.Contains(out, "approved by supervisor:S-001") {
		t.Fatalf("reset-pin: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	cd, err = store.Open(id) // the command's process changed the file
	if err != nil {
		t.Fatal(err)
	}
	if err := card.NewClient(cd).VerifyPIN(card.AuthPIN, "2468"); err != nil {
		t.Fatalf("the new PIN: %v", err)
	}
	// The signing password, lower case in the file, is upper-cased.
	if _, errOut, code := runArgs(t.Context(), "jpki", "reset-pin", "--data", dir, "--card", id, "--pin", "sign", "--pin-file", file("s", "newpass42\n")); code != 0 {
		t.Fatalf("reset the signing password: %s", errOut)
	}
	if cd, err = store.Open(id); err != nil {
		t.Fatal(err)
	}
	if err := card.NewClient(cd).VerifyPIN(card.SignPIN, "NEWPASS42"); err != nil {
		t.Fatalf("the new signing password: %v", err)
	}
	if strings.Contains(out, "2468") {
		t.Errorf("the output shows the PIN: %q", out)
	}
}
