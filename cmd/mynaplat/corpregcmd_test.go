package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/corpreg"
	"github.com/mynaplat/mynaplat/delegation"
	"github.com/mynaplat/mynaplat/store"
)

// TestCorpregRename: the command records a change of name and prints the
// history; with --recertify the representative, certified again with the
// same key, grants a power in the new name; the same name again is refused
// in Japanese and English.
func TestCorpregRename(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	const number = "8120005900001"
	db, err := store.Open(ctx, store.Options{DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	ca, err := corpreg.OpenAuthority(filepath.Join(data, "corpreg"), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := corpreg.New(ctx, corpreg.Config{DB: db, Authority: ca})
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.RegisterCorporation(ctx, number, "須坂精機株式会社", "長野県須坂市大字須坂1528番地1"); err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	keyPath := filepath.Join(data, "rep.key")
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.AppointRepresentative(ctx, number, "須坂　一郎", key.Public()); err != nil {
		t.Fatal(err)
	}
	db.Close()
	time.Sleep(time.Second) // the registry counts whole seconds: the new name starts after the registration

	args := []string{"corpreg", "rename", "--data", data, "--corp", number, "--name", "須坂精密工業株式会社"}
	out, stderr, code := runArgs(ctx, append(args, "--recertify")...)
	if code != 0 {
		t.Fatalf("rename: exit %d: %s", code, stderr)
	}
	var got corpregRenamed
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got.Name != "須坂精密工業株式会社" || len(got.FormerNames) != 1 || got.FormerNames[0].Name != "須坂精機株式会社" ||
		!got.FormerNames[0].Until.Equal(got.NameSince) || got.Recertified == "" {
		t.Fatalf("renamed: %+v", got)
	}
	out, stderr, code = runArgs(ctx, "delegation", "grant", "--data", data, "--corp", number, "--agent-platform-id", "0123456789abcdef0123456789abcdef",
		"--agent-name", "須坂 健太", "--powers", "競争参加資格申請", "--days", "30", "--key", keyPath)
	if code != 0 {
		t.Fatalf("grant after the change: exit %d: %s", code, stderr)
	}
	var rec delegation.Record
	if err := json.Unmarshal([]byte(out), &rec); err != nil || rec.Power.Principal.CorporationName != "須坂精密工業株式会社" {
		t.Fatalf("the power after the change: %v %s", err, out)
	}
	_, stderr, code = runArgs(ctx, args...)
	if code != 1 || !strings.Contains(stderr, "現在の商号と同じ") || !strings.Contains(stderr, "current name") {
		t.Fatalf("the same name again: exit %d: %s", code, stderr)
	}
}
