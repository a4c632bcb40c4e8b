package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/corpreg"
	"github.com/mynaplat/mynaplat/store"
)

// TestCorpregRename: the command records a change of name and prints the
// history; the same name again is refused in Japanese and English.
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
	db.Close()
	time.Sleep(time.Second) // the registry counts whole seconds: the new name starts after the registration

	args := []string{"corpreg", "rename", "--data", data, "--corp", number, "--name", "須坂精密工業株式会社"}
	out, stderr, code := runArgs(ctx, args...)
	if code != 0 {
		t.Fatalf("rename: exit %d: %s", code, stderr)
	}
	var got corpregRenamed
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got.Name != "須坂精密工業株式会社" || len(got.FormerNames) != 1 || got.FormerNames[0].Name != "須坂精機株式会社" ||
		!got.FormerNames[0].Until.Equal(got.NameSince) {
		t.Fatalf("renamed: %+v", got)
	}
	_, stderr, code = runArgs(ctx, args...)
	if code != 1 || !strings.Contains(stderr, "現在の商号と同じ") || !strings.Contains(stderr, "current name") {
		t.Fatalf("the same name again: exit %d: %s", code, stderr)
	}
}
