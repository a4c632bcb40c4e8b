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

// TestDelegationCommands: a representative grants a power from the command
// line with the key file, shows it and revokes it; a key that is not the
// representative's is refused and nothing is registered.
func TestDelegationCommands(t *testing.T) {
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
	if err := reg.RegisterCorporation(ctx, number, "日本生命保険相互会社", "大阪府大阪市中央区今橋三丁目５番１２号"); err != nil {
		t.Fatal(err)
	}
	writeKey := func(name string) (string, *ecdsa.PrivateKey) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		der, _ := x509.MarshalPKCS8PrivateKey(key)
		path := filepath.Join(data, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return path, key
	}
	repKey, key := writeKey("rep.key")
	if _, err := reg.AppointRepresentative(ctx, number, "生田　正人", key.Public()); err != nil {
		t.Fatal(err)
	}
	db.Close()

	grant := []string{"delegation", "grant", "--data", data, "--corp", number, "--agent-platform-id", "0123456789abcdef0123456789abcdef",
		"--agent-name", "酒井 由美", "--powers", "保険料控除証明書", "--days", "30"}
	other, _ := writeKey("other.key")
	if _, stderr, code := runArgs(ctx, append(grant, "--key", other)...); code != 1 || !strings.Contains(stderr, "not the key") {
		t.Fatalf("grant with another key: exit %d: %s", code, stderr)
	}
	out, stderr, code := runArgs(ctx, append(grant, "--key", repKey)...)
	if code != 0 {
		t.Fatalf("grant: exit %d: %s", code, stderr)
	}
	var rec delegation.Record
	if err := json.Unmarshal([]byte(out), &rec); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if rec.Status != delegation.StatusActive || rec.Power.Agent.Name != "酒井\u3000由美" || rec.Power.Principal.RepresentativeName != "生田　正人" ||
		rec.Power.NotAfter.Sub(rec.Power.NotBefore) != 30*24*time.Hour || rec.SignedAt.IsZero() {
		t.Fatalf("granted: %+v", rec)
	}
	if _, stderr, code := runArgs(ctx, "delegation", "revoke", "--data", data, "--power", rec.Power.ID, "--key", repKey); code != 0 {
		t.Fatalf("revoke: exit %d: %s", code, stderr)
	}
	out, stderr, code = runArgs(ctx, "delegation", "show", "--data", data, "--power", rec.Power.ID)
	if code != 0 {
		t.Fatalf("show: exit %d: %s", code, stderr)
	}
	var shown delegation.Record
	if err := json.Unmarshal([]byte(out), &shown); err != nil || shown.Status != delegation.StatusRevoked || shown.RevokedAt.IsZero() {
		t.Fatalf("after revoke: %v %s", err, out)
	}
}
