package kiosk

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/internal/fileutil"
)

// TestClearTray: certificates left in the tray longer than TrayKeep are
// removed; newer ones stay.
func TestClearTray(t *testing.T) {
	dir := t.TempDir()
	st, err := NewStation(StationConfig{Terminal: terminalConfig("kiosk-tray"), Store: testStore, RelayKey: "kiosk_x"},
		StationOptions{PlatformURL: "http://127.0.0.1:1", RelayURL: "http://127.0.0.1:1", Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for id, age := range map[string]time.Duration{"0123456789abcdef0123456789abcdef": TrayKeep + time.Minute,
		"fedcba9876543210fedcba9876543210": time.Minute} {
		p := st.trayPath(id)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := fileutil.WriteAtomic(p, []byte("%PDF-"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, now.Add(-age), now.Add(-age)); err != nil {
			t.Fatal(err)
		}
	}
	n, err := st.ClearTray(now)
	if err != nil || n != 1 {
		t.Fatalf("cleared %d, %v", n, err)
	}
	left, err := st.Tray()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"fedcba9876543210fedcba9876543210"}, left); diff != "" {
		t.Errorf("tray (-want +got):\n%s", diff)
	}
}
