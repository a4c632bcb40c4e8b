package fileutil

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWriteAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "key.pem")
	for _, content := range []string{"first", "second"} {
		if err := WriteAtomic(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(p)
		if err != nil || string(b) != content {
			t.Fatalf("read %q %v, want %q", b, err, content)
		}
	}
	st, _ := os.Stat(p)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", st.Mode().Perm())
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	if err := WriteAtomic(filepath.Join(dir, "missing", "x"), nil, 0o600); err == nil {
		t.Error("write into a missing directory succeeded")
	}
}

// TestJSONDir: files written with WriteJSON come back from ReadJSONDir in
// name order, mode 0600; a missing directory has none; a broken file names
// itself.
func TestJSONDir(t *testing.T) {
	type conf struct{ ID, Key string }
	dir := filepath.Join(t.TempDir(), "confs")
	if got, err := ReadJSONDir[conf](dir); err != nil || got != nil {
		t.Fatalf("missing dir: %v %v", got, err)
	}
	for _, c := range []conf{{"b", "k2"}, {"a", "k1"}} {
		if err := WriteJSON(filepath.Join(dir, c.ID+".json"), c); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ReadJSONDir[conf](dir)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]conf{{"a", "k1"}, {"b", "k2"}}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if fi, err := os.Stat(filepath.Join(dir, "a.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode: %v %v", fi, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "c.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadJSONDir[conf](dir); err == nil || !strings.Contains(err.Error(), "c.json") {
		t.Errorf("broken file: %v", err)
	}
}
