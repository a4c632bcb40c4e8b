package oidcop

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// clock is a settable clock for the tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func openProvider(t *testing.T, db *store.DB, base string, clk *clock, mod func(*Config)) *Provider {
	t.Helper()
	cfg := Config{DB: db, KeyDir: filepath.Join(t.TempDir(), "oidc", "keys"), BaseURL: base, Now: clk.Now}
	if mod != nil {
		mod(&cfg)
	}
	p, err := Open(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// jwkOf is the JWK (JSON) of a PEM key file's key, public or private.
func jwkOf(t *testing.T, name, kid string, private bool) []byte {
	t.Helper()
	p, _ := pem.Decode(readTestdata(t, name))
	var key any
	var err error
	if private {
		key, err = x509.ParsePKCS8PrivateKey(p.Bytes)
	} else {
		key, err = x509.ParsePKIXPublicKey(p.Bytes)
	}
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(jose.JSONWebKey{Key: key, KeyID: kid})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func count(t *testing.T, db *store.DB, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(t.Context(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestClientValidation: every refusal of §4.5, each in Japanese and
// English, registers nothing and leaves only its audit row.
func TestClientValidation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p := openProvider(t, db, "https://auth.example.jp", newClock(), nil)
		rsa, ec := readTestdata(t, "rp-rsa.pub"), readTestdata(t, "rp-ec.pub")
		good := func() ClientSpec {
			return ClientSpec{ID: "RP00000001", Name: "須坂市ウェブサイト", RedirectURIs: []string{"https://rp.example.jp/cb"}, Keys: [][]byte{rsa}}
		}
		if _, err := p.AddClient(t.Context(), good(), ""); err != nil {
			t.Fatal(err)
		}
		clients, keys, audits := count(t, db, "oidc_clients"), count(t, db, "oidc_client_keys"), count(t, db, "oidc_audit")
		long := "https://rp.example.jp/" + strings.Repeat("a", 240)
		for _, tc := range []struct {
			name, field, code string
			mod               func(*ClientSpec)
		}{
			{"empty ID", "id", "bad_id", func(s *ClientSpec) { s.ID = "" }},
			{"ID with a hyphen", "id", "bad_id", func(s *ClientSpec) { s.ID = "RP-1" }},
			{"ID over 255", "id", "bad_id", func(s *ClientSpec) { s.ID = strings.Repeat("a", 256) }},
			{"duplicate ID", "id", "duplicate_id", func(s *ClientSpec) {}},
			{"no name", "name", "bad_name", func(s *ClientSpec) { s.ID, s.Name = "RP2", " " }},
			{"no redirect URI", "redirect_uri", "no_redirect_uri", func(s *ClientSpec) { s.ID, s.RedirectURIs = "RP2", nil }},
			{"relative URI", "redirect_uri", "uri_not_absolute", func(s *ClientSpec) { s.ID, s.RedirectURIs = "RP2", []string{"/cb"} }},
			{"fragment", "redirect_uri", "uri_fragment", func(s *ClientSpec) { s.ID, s.RedirectURIs = "RP2", []string{"https://rp.example.jp/cb#x"} }},
			{"URI over 255", "redirect_uri", "uri_too_long", func(s *ClientSpec) { s.ID, s.RedirectURIs = "RP2", []string{long} }},
			{"http without dev", "redirect_uri", "uri_not_https", func(s *ClientSpec) { s.ID, s.RedirectURIs = "RP2", []string{"http://127.0.0.1/cb"} }},
			{"custom scheme", "redirect_uri", "uri_scheme", func(s *ClientSpec) { s.ID, s.RedirectURIs = "RP2", []string{"myapp://cb"} }},
			{"bad logout URI", "post_logout_uri", "uri_fragment", func(s *ClientSpec) { s.ID, s.PostLogoutURIs = "RP2", []string{"https://rp.example.jp/#"} }},
			{"no key", "key", "no_key", func(s *ClientSpec) { s.ID, s.Keys = "RP2", nil }},
			{"unreadable key", "key", "bad_key", func(s *ClientSpec) { s.ID, s.Keys = "RP2", [][]byte{readTestdata(t, "garbage.txt")} }},
			{"RSA 1024", "key", "bad_key", func(s *ClientSpec) { s.ID, s.Keys = "RP2", [][]byte{readTestdata(t, "weak-rsa1024.pub")} }},
			{"EC P-384", "key", "bad_key", func(s *ClientSpec) { s.ID, s.Keys = "RP2", [][]byte{readTestdata(t, "ec-p384.pub")} }},
			{"Ed25519", "key", "bad_key", func(s *ClientSpec) { s.ID, s.Keys = "RP2", [][]byte{readTestdata(t, "ed25519.pub")} }},
			{"private JWK", "key", "bad_key", func(s *ClientSpec) { s.ID, s.Keys = "RP2", [][]byte{jwkOf(t, "rp-ec.key", "k", true)} }},
			{"private PEM", "key", "bad_key", func(s *ClientSpec) { s.ID, s.Keys = "RP2", [][]byte{readTestdata(t, "rp-ec.key")} }},
			{"same key twice", "key", "duplicate_key", func(s *ClientSpec) { s.ID, s.Keys = "RP2", [][]byte{ec, ec} }},
			{"PF key not RSA", "pf_key", "bad_pf_key", func(s *ClientSpec) { s.ID, s.PFKey = "RP2", ec }},
			{"PF key RSA 1024", "pf_key", "bad_pf_key", func(s *ClientSpec) { s.ID, s.PFKey = "RP2", readTestdata(t, "weak-rsa1024.pub") }},
			{"PF key unreadable", "pf_key", "bad_pf_key", func(s *ClientSpec) { s.ID, s.PFKey = "RP2", readTestdata(t, "garbage.txt") }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				spec := good()
				tc.mod(&spec)
				_, err := p.AddClient(t.Context(), spec, "")
				fe, ok := errors.AsType[*FieldError](err)
				if !ok || !errors.Is(err, ErrInvalid) {
					t.Fatalf("got %v, want a FieldError", err)
				}
				if fe.Field != tc.field || fe.Code != tc.code || fe.JA == "" || fe.EN == "" {
					t.Errorf("got %+v, want field %s code %s in Japanese and English", fe, tc.field, tc.code)
				}
				audits++
				if got := [3]int{count(t, db, "oidc_clients"), count(t, db, "oidc_client_keys"), count(t, db, "oidc_audit")}; got != [3]int{clients, keys, audits} {
					t.Errorf("clients, keys, audit rows = %v, want %v", got, [3]int{clients, keys, audits})
				}
			})
		}
		es, err := p.Audit(t.Context(), "RP2", 1)
		if err != nil || len(es) != 1 || es[0].Result != "refused" || es[0].Action != "client-add" {
			t.Errorf("the refusal's audit row: %+v %v", es, err)
		}
	})
}

// TestClientPFKey: a PF key given at registration is kept with the client.
func TestClientPFKey(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p := openProvider(t, db, "https://auth.example.jp", newClock(), nil)
		if _, err := p.AddClient(t.Context(), ClientSpec{ID: "RP3", Name: "PF", RedirectURIs: []string{"https://rp.example.jp/cb"},
			Keys: [][]byte{readTestdata(t, "rp-ec.pub")}, PFKey: readTestdata(t, "rp-rsa.pub")}, "S-1"); err != nil {
			t.Fatal(err)
		}
		if pf, err := p.PFKey(t.Context(), "RP3"); pf == nil || err != nil {
			t.Errorf("the PF key given at add: %v, %v", pf, err)
		}
	})
}

// TestClients: add with a PEM and a JWK, dev http URIs, list, disable, and
// the keys' add and disable.
func TestClients(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clk := newClock()
		p := openProvider(t, db, "https://auth.example.jp", clk, nil)
		ctx := t.Context()
		c, err := p.AddClient(ctx, ClientSpec{ID: "RP1", Name: "日本生命", RedirectURIs: []string{"http://127.0.0.1:9000/cb", "https://rp.example.jp/cb"},
			PostLogoutURIs: []string{"http://127.0.0.1:9000/"}, Dev: true, Keys: [][]byte{readTestdata(t, "rp-rsa.pub"), jwkOf(t, "rp-ec.pub", "ec-1", false)}}, "S-1")
		if err != nil {
			t.Fatal(err)
		}
		if c.Sector != "RP1" || len(c.Keys) != 2 || c.Keys[0].KID != "ec-1" || c.Keys[0].Alg != jose.ES256 || c.Keys[1].Alg != jose.RS256 {
			t.Errorf("added %+v", c)
		}
		if pf, err := p.PFKey(ctx, "RP1"); pf != nil || err != nil {
			t.Errorf("a PF key (%v, %v) where none was given", pf, err)
		}
		got, err := p.Client(ctx, "RP1")
		if err != nil {
			t.Fatal(err)
		}
		opt := cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Public" },
			cmp.Comparer(func(a, b crypto.PublicKey) bool { return a.(interface{ Equal(crypto.PublicKey) bool }).Equal(b) }))
		if d := cmp.Diff(c, got, opt); d != "" {
			t.Errorf("read back (-added +read):\n%s", d)
		}
		clk.Add(time.Second)
		if _, err := p.AddClientKey(ctx, "RP1", jwkOf(t, "rp-ec.pub", "ec-1", false), ""); !errors.Is(err, ErrInvalid) {
			t.Errorf("the same key again: %v", err)
		}
		clk.Add(time.Second)
		if _, err := p.AddClientKey(ctx, "RP1", readTestdata(t, "weak-rsa1024.pub"), ""); !errors.Is(err, ErrInvalid) {
			t.Errorf("a weak key: %v", err)
		}
		if _, err := p.AddClientKey(ctx, "nope", readTestdata(t, "rp-ec.pub"), ""); !errors.Is(err, ErrNoClient) {
			t.Errorf("a key of no client: %v", err)
		}
		clk.Add(time.Minute)
		if err := p.DisableClientKey(ctx, "RP1", "ec-1", ""); err != nil {
			t.Fatal(err)
		}
		if err := p.DisableClientKey(ctx, "RP1", "nope", ""); !errors.Is(err, ErrNoKey) {
			t.Errorf("disable no key: %v", err)
		}
		clk.Add(time.Second)
		if err := p.DisableClient(ctx, "RP1", ""); err != nil {
			t.Fatal(err)
		}
		if err := p.DisableClient(ctx, "RP1", ""); err != nil {
			t.Errorf("disable again: %v", err)
		}
		if err := p.DisableClient(ctx, "nope", ""); !errors.Is(err, ErrNoClient) {
			t.Errorf("disable no client: %v", err)
		}
		cs, err := p.Clients(ctx)
		if err != nil || len(cs) != 1 {
			t.Fatalf("list: %v %v", cs, err)
		}
		if cs[0].Enabled() || cs[0].Keys[0].Enabled() || !cs[0].Keys[1].Enabled() || !cs[0].DisabledAt.Equal(clk.Now()) {
			t.Errorf("after disabling: %+v", cs[0])
		}
		es, _ := p.Audit(ctx, "RP1", 10)
		var actions []string
		for _, e := range es {
			actions = append(actions, e.Action+" "+e.Result)
		}
		want := []string{"client-disable OK", "client-key-disable OK", "client-key-add refused", "client-key-add refused", "client-add OK"}
		if d := cmp.Diff(want, actions); d != "" {
			t.Errorf("audit (-want +got):\n%s", d)
		}
	})
}

// serve mounts the provider as the oidc role does.
func serve(t *testing.T, p *Provider) http.Handler {
	t.Helper()
	h, err := p.Handler(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(RealmPath+"/", http.StripPrefix(RealmPath, h))
	return mux
}

func getJSON(t *testing.T, h http.Handler, path string, v any) http.Header {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return rec.Header()
}

// TestDiscovery: every URL of discovery is §2's path under the base, and it
// lists code, S256, private_key_jwt and query only.
func TestDiscovery(t *testing.T) {
	db := storetest.SQLite(t)
	p := openProvider(t, db, "https://sb-auth.example.jp/", newClock(), nil)
	if err := p.EnsureKeys(t.Context()); err != nil {
		t.Fatal(err)
	}
	var d map[string]any
	getJSON(t, serve(t, p), "/api/realms/main/.well-known/openid-configuration", &d)
	base := "https://sb-auth.example.jp"
	want := map[string]any{
		"issuer":                                base + "/api/realms/main",
		"authorization_endpoint":                base + "/api/realms/main/protocol/openid-connect/auth",
		"token_endpoint":                        base + "/api/realms/main/protocol/openid-connect/token",
		"userinfo_endpoint":                     base + "/api/realms/main/protocol/openid-connect/userinfo",
		"end_session_endpoint":                  base + "/api/realms/main/protocol/openid-connect/logout",
		"jwks_uri":                              base + "/api/realms/main/protocol/openid-connect/certs",
		"response_types_supported":              []any{"code"},
		"response_modes_supported":              []any{"query"},
		"code_challenge_methods_supported":      []any{"S256"},
		"token_endpoint_auth_methods_supported": []any{"private_key_jwt"},
		"scopes_supported":                      []any{"openid", "name", "address", "birthdate", "gender", "sign"},
		"subject_types_supported":               []any{"pairwise"},
		"id_token_signing_alg_values_supported": []any{"ES256"},
	}
	for k, v := range want {
		if d := cmp.Diff(v, d[k]); d != "" {
			t.Errorf("%s (-want +got):\n%s", k, d)
		}
	}
	for _, k := range []string{"revocation_endpoint", "introspection_endpoint", "registration_endpoint", "device_authorization_endpoint"} {
		if _, ok := d[k]; ok {
			t.Errorf("discovery lists %s", k)
		}
	}
	// Every URL it names is served here.
	h := serve(t, p)
	for _, k := range []string{"jwks_uri"} {
		var v any
		getJSON(t, h, strings.TrimPrefix(d[k].(string), base), &v)
	}
}

// jwks is the JWKS as an RP reads it.
func jwks(t *testing.T, h http.Handler) (kids []string, header http.Header) {
	t.Helper()
	var set jose.JSONWebKeySet
	header = getJSON(t, h, "/api/realms/main/protocol/openid-connect/certs", &set)
	for _, k := range set.Keys {
		if !k.IsPublic() || k.Use != "sig" || k.Algorithm == "" || k.KeyID == "" {
			t.Errorf("JWKS key %+v: want public, use sig, alg and kid", k)
		}
		kids = append(kids, k.KeyID)
	}
	return kids, header
}

// TestJWKSRollover: one key; a rotation lists two, the old signing until the
// lead is over; then the new one signs; the old one is dropped
// max(access, ID token TTL) after it stopped signing.
func TestJWKSRollover(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clk := newClock()
		p := openProvider(t, db, "https://auth.example.jp", clk, func(c *Config) {
			c.KeyRotation, c.PublishLead, c.AccessTokenTTL, c.IDTokenTTL = 24*time.Hour, 10*time.Minute, 5*time.Minute, 7*time.Minute
		})
		ctx := t.Context()
		h := serve(t, p)
		if kids, _ := jwks(t, h); len(kids) != 0 {
			t.Fatalf("before any key: %v", kids)
		}
		if err := p.EnsureKeys(ctx); err != nil {
			t.Fatal(err)
		}
		kids, hdr := jwks(t, h)
		if len(kids) != 1 || hdr.Get("Cache-Control") != "max-age=300" {
			t.Fatalf("one key: %v, Cache-Control %q", kids, hdr.Get("Cache-Control"))
		}
		first := kids[0]
		signer := func() string {
			k, err := (&storage{p}).SigningKey(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return k.ID()
		}
		if signer() != first {
			t.Fatal("the first key does not sign at once")
		}
		// Not due yet: nothing changes.
		clk.Add(23*time.Hour + 49*time.Minute)
		if err := p.EnsureKeys(ctx); err != nil {
			t.Fatal(err)
		}
		if kids, _ := jwks(t, h); len(kids) != 1 {
			t.Fatalf("before rotation is due: %v", kids)
		}
		// Due (rotation less lead): a second key is listed, the first still signs.
		clk.Add(time.Minute)
		if err := p.EnsureKeys(ctx); err != nil {
			t.Fatal(err)
		}
		if err := p.EnsureKeys(ctx); err != nil { // again: no third key
			t.Fatal(err)
		}
		kids, _ = jwks(t, h)
		if len(kids) != 2 || signer() != first {
			t.Fatalf("during the lead: %v, signer %s", kids, signer())
		}
		second := kids[1]
		if kids[0] != first {
			t.Fatalf("order: %v", kids)
		}
		// The lead is over: the new key signs, both are listed.
		clk.Add(10 * time.Minute)
		if kids, _ := jwks(t, h); len(kids) != 2 || signer() != second {
			t.Fatalf("after the lead: %v, signer %s", kids, signer())
		}
		// Still listed just before max(access, ID token TTL) after it stopped.
		clk.Add(7*time.Minute - time.Millisecond)
		if kids, _ := jwks(t, h); len(kids) != 2 {
			t.Fatalf("before the old key's tokens expire: %v", kids)
		}
		clk.Add(time.Millisecond)
		if err := p.EnsureKeys(ctx); err != nil {
			t.Fatal(err)
		}
		if kids, _ := jwks(t, h); len(kids) != 1 || kids[0] != second {
			t.Fatalf("after: %v", kids)
		}
		if n := count(t, db, "oidc_keys"); n != 1 {
			t.Errorf("%d rows in oidc_keys after pruning", n)
		}
		// A manual rotation: listed at once as "lead".
		k, err := p.RotateKeys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st := p.KeyState(k, clk.Now()); st != "lead" {
			t.Errorf("a rotated key is %s", st)
		}
		files, _ := filepath.Glob(filepath.Join(p.cfg.KeyDir, "*.key"))
		if len(files) != 2 {
			t.Errorf("key files: %v", files)
		}
	})
}

// TestOpaqueSigner: what the adapter signs verifies under the public key,
// ES256 (R‖S) and RS256, with the kid in the header.
func TestOpaqueSigner(t *testing.T) {
	for _, name := range []string{"rp-ec.key", "rp-rsa.key"} {
		t.Run(name, func(t *testing.T) {
			p, _ := pem.Decode(readTestdata(t, name))
			k, err := x509.ParsePKCS8PrivateKey(p.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			alg := jose.ES256
			if strings.Contains(name, "rsa") {
				alg = jose.RS256
			}
			s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: OpaqueSigner(k.(crypto.Signer), "kid-1", alg)}, nil)
			if err != nil {
				t.Fatal(err)
			}
			jws, err := s.Sign([]byte("payload"))
			if err != nil {
				t.Fatal(err)
			}
			compact, _ := jws.CompactSerialize()
			parsed, err := jose.ParseSignedCompact(compact, []jose.SignatureAlgorithm{alg})
			if err != nil {
				t.Fatal(err)
			}
			if parsed.Signatures[0].Header.KeyID != "kid-1" {
				t.Errorf("kid %q", parsed.Signatures[0].Header.KeyID)
			}
			out, err := parsed.Verify(k.(crypto.Signer).Public())
			if err != nil || string(out) != "payload" {
				t.Errorf("verify: %q %v", out, err)
			}
		})
	}
}

// TestRPDiscovery: coreos/go-oidc, an RP library, accepts the issuer and
// the discovery document.
func TestRPDiscovery(t *testing.T) {
	db := storetest.SQLite(t)
	var h http.Handler
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	defer ts.Close()
	h = serve(t, openProvider(t, db, ts.URL, newClock(), nil))
	ctx := gooidc.ClientContext(context.Background(), ts.Client())
	prov, err := gooidc.NewProvider(ctx, ts.URL+"/api/realms/main")
	if err != nil {
		t.Fatal(err)
	}
	if got := prov.Endpoint().TokenURL; got != ts.URL+"/api/realms/main/protocol/openid-connect/token" {
		t.Errorf("token URL %s", got)
	}
}

// TestClientCache: a client read is kept for ClientCacheTTL. A change made
// by another instance on the same database shows within the bound; one
// made through the same Provider at once.
func TestClientCache(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clk := newClock()
		a := openProvider(t, db, "https://auth.example.jp", clk, nil)
		b := openProvider(t, db, "https://auth.example.jp", clk, nil) // another instance
		ctx := t.Context()
		spec := ClientSpec{ID: "RP1", Name: "RP", RedirectURIs: []string{"https://rp.example.jp/cb"}, Keys: [][]byte{readTestdata(t, "rp-ec.pub")}}
		if _, err := b.AddClient(ctx, spec, ""); err != nil {
			t.Fatal(err)
		}
		enabled := func(p *Provider) (bool, int) {
			t.Helper()
			c, err := p.Client(ctx, "RP1")
			if err != nil {
				t.Fatal(err)
			}
			return c.Enabled(), len(c.Keys)
		}
		if on, n := enabled(a); !on || n != 1 {
			t.Fatalf("first read: enabled %v, %d keys", on, n)
		}
		// A caller changing what it got does not change the cache.
		c, _ := a.Client(ctx, "RP1")
		c.Keys[0].KID = "changed"
		if c2, _ := a.Client(ctx, "RP1"); c2.Keys[0].KID == "changed" {
			t.Error("a caller's change reached the cache")
		}

		// Another instance adds a key, then disables the client: seen within the bound.
		if _, err := b.AddClientKey(ctx, "RP1", readTestdata(t, "rp-rsa.pub"), ""); err != nil {
			t.Fatal(err)
		}
		if err := b.DisableClient(ctx, "RP1", ""); err != nil {
			t.Fatal(err)
		}
		if on, n := enabled(b); on || n != 2 {
			t.Errorf("the changing instance: enabled %v, %d keys; want at once", on, n)
		}
		clk.Add(DefaultClientCacheTTL)
		if on, n := enabled(a); on || n != 2 {
			t.Errorf("after the bound: enabled %v, %d keys", on, n)
		}

		// The same instance's own key add: at once, no time passing.
		if _, err := a.AddClient(ctx, ClientSpec{ID: "RP2", Name: "RP2", RedirectURIs: []string{"https://rp.example.jp/cb"}, Keys: [][]byte{readTestdata(t, "rp-ec.pub")}}, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Client(ctx, "RP2"); err != nil {
			t.Fatal(err)
		}
		if _, err := a.AddClientKey(ctx, "RP2", readTestdata(t, "rp-rsa.pub"), ""); err != nil {
			t.Fatal(err)
		}
		if c, _ := a.Client(ctx, "RP2"); len(c.Keys) != 2 {
			t.Errorf("own key add: %d keys", len(c.Keys))
		}
		if err := a.DisableClient(ctx, "RP2", ""); err != nil {
			t.Fatal(err)
		}
		if c, _ := a.Client(ctx, "RP2"); c.Enabled() {
			t.Error("own disable not seen at once")
		}

		// ClientCacheTTL < 0: every read goes to the database.
		off := openProvider(t, db, "https://auth.example.jp", clk, func(c *Config) { c.ClientCacheTTL = -1 })
		if _, err := off.Client(ctx, "RP2"); err != nil {
			t.Fatal(err)
		}
		if _, err := b.AddClientKey(ctx, "RP2", jwkOf(t, "rp-ec.pub", "ec-2", false), ""); err != nil {
			t.Fatal(err)
		}
		if c, _ := off.Client(ctx, "RP2"); len(c.Keys) != 3 {
			t.Errorf("uncached: %d keys", len(c.Keys))
		}
	})
}
