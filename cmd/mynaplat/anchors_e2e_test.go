package main

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/digitorus/timestamp"

	"github.com/mynaplat/mynaplat/anchors"
)

// TestTrustAnchorsAndTSA serves every role in one process and the TSA in a
// process of its own: the TSA answers time-stamp requests from programs and
// from pages of any origin, outside the browser CSRF check; every anchor
// is at its URL as DER and PEM with the fingerprint the trust list states;
// the TSA alone lists its own root at its own URL and the others' at
// theirs.
func TestTrustAnchorsAndTSA(t *testing.T) {
	bin := buildBinary(t)
	data := t.TempDir()
	full := startServer(t, bin, "--data", data)
	hc := &http.Client{Timeout: 10 * time.Second}
	get := func(t *testing.T, url string) (int, string, []byte) {
		t.Helper()
		resp, err := hc.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), b
	}

	t.Run("TSA from any origin", func(t *testing.T) {
		digest := sha256.Sum256([]byte("contract"))
		q, _ := (&timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: digest[:], Certificates: true}).Marshal()
		for _, tc := range []struct {
			name, ctype string
			header      map[string]string
			status      int
			granted     bool
		}{
			{"a program: no Origin, no fetch metadata", "application/timestamp-query", nil, 200, true},
			{"a foreign Origin", "application/timestamp-query", map[string]string{"Origin": "http://relying-party.example"}, 200, true},
			{"a cross-site page", "application/timestamp-query",
				map[string]string{"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}, 200, true},
			{"no time-stamp query: 415, not the CSRF page", "text/plain",
				map[string]string{"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}, 415, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				req, _ := http.NewRequest(http.MethodPost, full+"/tsa", bytes.NewReader(q))
				req.Header.Set("Content-Type", tc.ctype)
				for k, v := range tc.header {
					req.Header.Set(k, v)
				}
				resp, err := hc.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != tc.status {
					t.Fatalf("HTTP %d %s, want %d", resp.StatusCode, b, tc.status)
				}
				if tc.granted {
					if _, err := timestamp.ParseResponse(b); err != nil || resp.Header.Get("Content-Type") != "application/timestamp-reply" {
						t.Errorf("no token: %v", err)
					}
				}
			})
		}
		if status, _, _ := get(t, full+"/tsa"); status != http.StatusMethodNotAllowed {
			t.Errorf("GET /tsa: HTTP %d, want 405", status)
		}
	})

	list := func(t *testing.T, base string) map[string]anchors.Entry {
		t.Helper()
		status, ctype, b := get(t, base+"/pki/trust-list.json")
		var l anchors.List
		if status != 200 || !strings.HasPrefix(ctype, "application/json") || json.Unmarshal(b, &l) != nil {
			t.Fatalf("trust list: HTTP %d %s %s", status, ctype, b)
		}
		out := map[string]anchors.Entry{}
		for _, e := range l.Anchors {
			out[e.ID] = e
		}
		return out
	}
	fullList := list(t, full)

	t.Run("every anchor at its URL", func(t *testing.T) {
		for _, a := range anchors.Catalog() {
			e, ok := fullList[a.ID]
			if !ok || e.Error != "" || e.SHA256 == "" || e.Role != a.Role || e.NotAfter.Before(e.NotBefore) {
				t.Errorf("%s: %+v", a.ID, e)
				continue
			}
			status, ctype, der := get(t, e.URL)
			sum := sha256.Sum256(der)
			if status != 200 || ctype != "application/pkix-cert" || hex.EncodeToString(sum[:]) != e.SHA256 {
				t.Errorf("%s: HTTP %d %s, fingerprint %x, want %s", e.URL, status, ctype, sum, e.SHA256)
			}
			status, _, p := get(t, e.PEMURL)
			if blk, _ := pem.Decode(p); status != 200 || blk == nil || !bytes.Equal(blk.Bytes, der) {
				t.Errorf("%s: HTTP %d, not the PEM of %s", e.PEMURL, status, e.URL)
			}
		}
		status, _, page := get(t, full+"/pki/")
		for _, want := range []string{"トラストアンカー", "/pki/trust-list.json", "時刻認証局 ルート", "商業登記認証局"} {
			if status != 200 || !bytes.Contains(page, []byte(want)) {
				t.Errorf("/pki/: HTTP %d, no %q", status, want)
			}
		}
		if _, _, home := get(t, full+"/"); !bytes.Contains(home, []byte(`href="/pki/"`)) {
			t.Error("the home page does not link /pki/")
		}
	})

	t.Run("the TSA alone", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data")
		if out, err := exec.Command("cp", "-a", data, dir).CombinedOutput(); err != nil {
			t.Fatalf("copy the data: %v %s", err, out)
		}
		args := []string{"--roles", roleTSA, "--data", dir}
		for _, r := range allRoles {
			if r != roleTSA {
				args = append(args, "--"+r+"-url", full)
			}
		}
		alone := startServer(t, bin, args...)
		got := list(t, alone)
		for id, e := range fullList {
			base := full
			if id == anchors.TSA {
				base = alone
			}
			if g := got[id]; g.SHA256 != e.SHA256 || g.Error != "" || !strings.HasPrefix(g.URL, base+"/pki/") {
				t.Errorf("%s: %s at %s (%s), want %s at %s", id, g.SHA256, g.URL, g.Error, e.SHA256, base)
			}
		}
		if status, _, _ := get(t, alone+"/pki/jpki-auth.crt"); status != http.StatusNotFound {
			t.Errorf("the TSA alone serves the JPKI CA: HTTP %d", status)
		}
	})
}
