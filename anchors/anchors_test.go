package anchors_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/anchors"
	"github.com/mynaplat/mynaplat/internal/keydir"
	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/web"
)

func newCA(t *testing.T, cn string, now time.Time) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c, err := keydir.SelfSigned(keydir.RootTemplate(cn, now), key)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestAnchors: two roles, each on its own server, serve their own anchors
// as DER and PEM; a third process lists them, read over HTTP, on its page
// and in its trust list, and says which one it cannot read now.
func TestAnchors(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	tsaRoot, corpCA := newCA(t, "TSA root", now), newCA(t, "Corporate registry CA", now)
	// A certificate that is no CA, served where the seal CA should be.
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := keydir.SelfSigned(&x509.Certificate{Subject: pkix.Name{CommonName: "not a CA"},
		NotBefore: now, NotAfter: now.Add(time.Hour)}, leafKey)
	if err != nil {
		t.Fatal(err)
	}
	serve := func(id string, c *x509.Certificate) *httptest.Server {
		mux := http.NewServeMux()
		anchors.Serve(mux, id, c)
		s := httptest.NewServer(mux)
		t.Cleanup(s.Close)
		return s
	}
	tsaRole, corpRole := serve(anchors.TSA, tsaRoot), serve(anchors.CorpReg, corpCA)
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	notCA := serve(anchors.Seal, leaf)

	t.Run("DER and PEM", func(t *testing.T) {
		for _, tc := range []struct{ path, ctype string }{{"/pki/tsa-root.crt", "application/pkix-cert"}, {"/pki/tsa-root.pem", "application/x-pem-file"}} {
			resp, err := http.Get(tsaRole.URL + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != tc.ctype {
				t.Fatalf("%s: %s %q", tc.path, resp.Status, resp.Header.Get("Content-Type"))
			}
			der := b
			if blk, _ := pem.Decode(b); blk != nil && blk.Type == "CERTIFICATE" {
				der = blk.Bytes
			}
			if string(der) != string(tsaRoot.Raw) {
				t.Errorf("%s is not the TSA root", tc.path)
			}
		}
		if resp, err := http.Get(tsaRole.URL + "/pki/corpreg.crt"); err != nil || resp.StatusCode != http.StatusNotFound {
			t.Errorf("a role serves another's anchor: %v %v", resp.Status, err)
		}
	})

	site, err := web.New(context.Background(), web.Options{DB: storetest.SQLite(t)})
	if err != nil {
		t.Fatal(err)
	}
	src := func(id, base string) anchors.Source {
		a, ok := anchors.ByID(id)
		if !ok {
			t.Fatalf("no anchor %s", id)
		}
		return anchors.Source{Anchor: a, BaseURL: base}
	}
	l, err := anchors.NewLister(site, []anchors.Source{src(anchors.TSA, tsaRole.URL), src(anchors.CorpReg, corpRole.URL+"/"),
		src(anchors.JPKIAuth, down.URL), src(anchors.Seal, notCA.URL)}, &http.Client{Timeout: 5 * time.Second},
		func() time.Time { return now }, nil)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	l.Routes(mux)
	c := webtest.Start(t, site.Protect(mux))
	fp := func(c *x509.Certificate) string { s := sha256.Sum256(c.Raw); return hex.EncodeToString(s[:]) }

	t.Run("trust list", func(t *testing.T) {
		r := c.With(t).Step(webtest.Step{Name: "trust list", Path: "/pki/trust-list.json", WantStatus: 200})
		var got anchors.List
		if err := json.Unmarshal([]byte(r.Body), &got); err != nil {
			t.Fatal(err)
		}
		type row struct {
			ID, Role, URL, PEMURL, SHA256, Subject string
			NotBefore, NotAfter                    time.Time
			Failed                                 bool
		}
		var rows []row
		for _, e := range got.Anchors {
			rows = append(rows, row{e.ID, e.Role, e.URL, e.PEMURL, e.SHA256, e.Subject, e.NotBefore, e.NotAfter, e.Error != ""})
		}
		want := []row{
			{"tsa-root", "tsa", tsaRole.URL + "/pki/tsa-root.crt", tsaRole.URL + "/pki/tsa-root.pem", fp(tsaRoot),
				"CN=TSA root,O=MYNAPLAT-TEST,C=JP", tsaRoot.NotBefore, tsaRoot.NotAfter, false},
			{"corpreg", "corpreg", corpRole.URL + "/pki/corpreg.crt", corpRole.URL + "/pki/corpreg.pem", fp(corpCA),
				"CN=Corporate registry CA,O=MYNAPLAT-TEST,C=JP", corpCA.NotBefore, corpCA.NotAfter, false},
			{"jpki-auth", "jpki", down.URL + "/pki/jpki-auth.crt", down.URL + "/pki/jpki-auth.pem", "", "", time.Time{}, time.Time{}, true},
			{"seal", "jlis", notCA.URL + "/pki/seal.crt", notCA.URL + "/pki/seal.pem", "", "", time.Time{}, time.Time{}, true},
		}
		if diff := cmp.Diff(want, rows); diff != "" || got.Version != 1 || !got.Updated.Equal(now) {
			t.Errorf("trust list (version %d, updated %v) -want +got:\n%s", got.Version, got.Updated, diff)
		}
	})
	t.Run("page", func(t *testing.T) {
		colons := func(c *x509.Certificate) string {
			s := strings.ToUpper(fp(c))
			var parts []string
			for i := 0; i < len(s); i += 2 {
				parts = append(parts, s[i:i+2])
			}
			return strings.Join(parts, ":")
		}
		c.With(t).Step(webtest.Step{Name: "page", Path: "/pki/", WantStatus: 200, WantContains: []string{
			"トラストアンカー", `href="/pki/trust-list.json"`, colons(tsaRoot), colons(corpCA),
			`href="` + tsaRole.URL + `/pki/tsa-root.pem"`, "時刻認証局 ルート", "いま読み出せません"}})
		c.With(t).Step(webtest.Step{Name: "page in English", Path: "/pki/?lang=en", WantStatus: 200,
			WantContains: []string{"Trust anchors (CA certificates)", "Time-stamp authority root", "Cannot be read now"}})
	})
}

// TestCatalog: every anchor has an id, names in both languages, a role and
// its use, and ids are unique.
func TestCatalog(t *testing.T) {
	seen := map[string]bool{}
	for _, a := range anchors.Catalog() {
		if a.ID == "" || a.NameJA == "" || a.NameEN == "" || a.Role == "" || a.UseJA == "" || a.UseEN == "" || seen[a.ID] {
			t.Errorf("anchor %+v", a)
		}
		seen[a.ID] = true
	}
	if len(seen) != 5 {
		t.Errorf("%d anchors, want 5 (two JPKI CAs, seal, TSA, corporate registry)", len(seen))
	}
}
