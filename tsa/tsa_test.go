package tsa_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/digitorus/timestamp"
	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/cms"
	"github.com/mynaplat/mynaplat/internal/testutil"
	"github.com/mynaplat/mynaplat/tsa"
)

var (
	_ cms.Stamper = (*tsa.Authority)(nil)
	_ cms.Stamper = (*tsa.Client)(nil)
)

// testClock is the TSA's fixed clock: three days before the wall clock, so
// that the wall-clock signing-time the token library adds is inside the
// unit certificate's validity, whenever the tests run.
func testClock() time.Time {
	return time.Now().UTC().AddDate(0, 0, -3).Truncate(time.Second)
}

func newAuthority(t *testing.T) (*tsa.Authority, *tsa.Keys, time.Time) {
	t.Helper()
	now := testClock()
	clock := func() time.Time { return now }
	k, err := tsa.LoadOrCreate(t.TempDir(), clock)
	if err != nil {
		t.Fatal(err)
	}
	return tsa.New(k, clock, nil), k, now
}

func TestLoadOrCreate(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "keys") // made by LoadOrCreate, 0700
	now := testClock()
	clock := func() time.Time { return now }
	k, err := tsa.LoadOrCreate(dir, clock)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"root.key", "tsa.key"} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", f, st.Mode().Perm())
		}
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("key directory: %v, %v", st.Mode().Perm(), err)
	}
	// RFC 3161 §2.3: one EKU, timeStamping, critical.
	var eku []bool
	for _, e := range k.Cert.Extensions {
		if e.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 37}) {
			eku = append(eku, e.Critical)
		}
	}
	if diff := cmp.Diff([]bool{true}, eku); diff != "" {
		t.Errorf("EKU extensions (criticality) -want +got:\n%s", diff)
	}
	if diff := cmp.Diff([]x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}, k.Cert.ExtKeyUsage); diff != "" {
		t.Errorf("EKU -want +got:\n%s", diff)
	}
	roots := x509.NewCertPool()
	roots.AddCert(k.Root)
	if _, err := k.Cert.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}}); err != nil {
		t.Errorf("unit certificate does not chain to the root: %v", err)
	}
	// Opened again, the same keys come back.
	k2, err := tsa.LoadOrCreate(dir, clock)
	if err != nil {
		t.Fatal(err)
	}
	if !k2.Root.Equal(k.Root) || !k2.Cert.Equal(k.Cert) {
		t.Error("reopened keys differ")
	}
	// Near its end, the unit certificate is issued again for the same key.
	later := now.Add(5*365*24*time.Hour - 10*24*time.Hour)
	k3, err := tsa.LoadOrCreate(dir, func() time.Time { return later })
	if err != nil {
		t.Fatal(err)
	}
	if k3.Cert.Equal(k.Cert) || !k3.Root.Equal(k.Root) {
		t.Error("the unit certificate was not renewed")
	}
	if !k3.Cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(k.Cert.PublicKey) {
		t.Error("renewal changed the unit key")
	}
}

// tsResp is a TimeStampResp as RFC 3161 §2.4.2 has it, to read the
// rejections the library's ParseResponse only reports as text.
type tsResp struct {
	Status struct {
		Status       int
		StatusString []string       `asn1:"optional,utf8"`
		FailInfo     asn1.BitString `asn1:"optional"`
	}
	Token asn1.RawValue `asn1:"optional"`
}

func TestHandler(t *testing.T) {
	t.Parallel()
	a, k, now := newAuthority(t)
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	digest := sha256.Sum256([]byte("令和8年 住民票の写し"))
	nonce := big.NewInt(0x1234_5678_9abc)
	query := func(r timestamp.Request) []byte {
		b, err := r.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good := timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: digest[:], Certificates: true, Nonce: nonce}
	sha1 := make([]byte, 20)
	tests := []struct {
		name        string
		method      string
		contentType string
		body        []byte
		status      int
		failInfo    int // -1: granted
	}{
		{"granted", "POST", "application/timestamp-query", query(good), 200, -1},
		{"malformed", "POST", "application/timestamp-query", []byte("this is no DER"), 400, int(timestamp.BadDataFormat)},
		{"truncated", "POST", "application/timestamp-query", query(good)[:20], 400, int(timestamp.BadDataFormat)},
		{"wrong media type", "POST", "application/octet-stream", query(good), 415, int(timestamp.BadDataFormat)},
		{"SHA-1 imprint", "POST", "application/timestamp-query",
			query(timestamp.Request{HashAlgorithm: crypto.SHA1, HashedMessage: sha1}), 400, int(timestamp.BadAlgorithm)},
		{"short imprint", "POST", "application/timestamp-query",
			query(timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: digest[:16]}), 400, int(timestamp.BadDataFormat)},
		{"other policy", "POST", "application/timestamp-query",
			query(timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: digest[:], TSAPolicyOID: asn1.ObjectIdentifier{1, 2, 3}}),
			400, int(timestamp.UnacceptedPolicy)},
		{"too large", "POST", "application/timestamp-query", make([]byte, 64<<10), 413, int(timestamp.BadDataFormat)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, srv.URL+"/tsa", bytes.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", tc.contentType)
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != "application/timestamp-reply" {
				t.Fatalf("HTTP %d %q, want %d application/timestamp-reply", resp.StatusCode, resp.Header.Get("Content-Type"), tc.status)
			}
			var tr tsResp
			if rest, err := asn1.Unmarshal(body, &tr); err != nil || len(rest) > 0 {
				t.Fatalf("not a TimeStampResp: %v", err)
			}
			if tc.failInfo >= 0 {
				if tr.Status.Status != int(timestamp.Rejection) || tr.Status.FailInfo.At(tc.failInfo) != 1 || len(tr.Token.FullBytes) != 0 {
					t.Errorf("status %d, failInfo %x, want rejection with bit %d and no token",
						tr.Status.Status, tr.Status.FailInfo.Bytes, tc.failInfo)
				}
				return
			}
			ts, err := timestamp.ParseResponse(body)
			if err != nil {
				t.Fatal(err)
			}
			type got struct {
				Time     time.Time
				Accuracy time.Duration
				Nonce    string
				Policy   string
				Hash     crypto.Hash
				Imprint  []byte
				Certs    int
			}
			want := got{now, time.Second, nonce.String(), "2.999.392.3161.1", crypto.SHA256, digest[:], 1}
			if diff := cmp.Diff(want, got{ts.Time, ts.Accuracy, ts.Nonce.String(), ts.Policy.String(),
				ts.HashAlgorithm, ts.HashedMessage, len(ts.Certificates)}); diff != "" {
				t.Errorf("token -want +got:\n%s", diff)
			}
			if !ts.Certificates[0].Equal(k.Cert) {
				t.Error("the token does not carry the unit's certificate")
			}
			if ts.SerialNumber.Sign() <= 0 {
				t.Errorf("serial %v is not positive", ts.SerialNumber)
			}
		})
	}
	t.Run("GET", func(t *testing.T) {
		resp, err := srv.Client().Get(srv.URL + "/tsa")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET /tsa: HTTP %d, want 405", resp.StatusCode)
		}
	})
}

func TestStamp(t *testing.T) {
	t.Parallel()
	a, k, now := newAuthority(t)
	digest := sha256.Sum256([]byte("content"))
	tok, err := a.Stamp(context.Background(), crypto.SHA256, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	ts, err := timestamp.Parse(tok)
	if err != nil {
		t.Fatal(err)
	}
	if !ts.Time.Equal(now) || !bytes.Equal(ts.HashedMessage, digest[:]) || ts.Nonce != nil ||
		len(ts.Certificates) != 1 || !ts.Certificates[0].Equal(k.Cert) {
		t.Errorf("token: time %v, imprint %x, nonce %v, %d certificates", ts.Time, ts.HashedMessage, ts.Nonce, len(ts.Certificates))
	}
	for _, bad := range []struct {
		h crypto.Hash
		d []byte
	}{{crypto.SHA256, digest[:31]}, {crypto.SHA1, make([]byte, 20)}, {crypto.SHA512, digest[:]}} {
		if _, err := a.Stamp(context.Background(), bad.h, bad.d); err == nil {
			t.Errorf("Stamp(%v, %d bytes) did not fail", bad.h, len(bad.d))
		}
	}
}

func TestClient(t *testing.T) {
	t.Parallel()
	a, k, now := newAuthority(t)
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	digest := sha256.Sum256([]byte("content"))

	// A response to another request, replayed: its nonce is not the one sent.
	other := sha256.Sum256([]byte("other"))
	q, _ := (&timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: digest[:], Certificates: true, Nonce: big.NewInt(7)}).Marshal()
	replayed := post(t, srv.URL+"/tsa", q)
	q, _ = (&timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: other[:], Certificates: true}).Marshal()
	otherImprint := post(t, srv.URL+"/tsa", q)
	rejection, _ := timestamp.CreateErrorResponse(timestamp.Rejection, timestamp.SystemFailure)
	fixed := func(status int, body []byte) string {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/timestamp-reply")
			w.WriteHeader(status)
			w.Write(body)
		}))
		t.Cleanup(s.Close)
		return s.URL
	}
	// A server that echoes the nonce but answers for another imprint.
	echoOther := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		req, err := timestamp.ParseRequest(b)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		req.HashedMessage = other[:]
		q, _ := req.Marshal()
		w.Write(post(t, srv.URL+"/tsa", q))
	}))
	defer echoOther.Close()

	tests := []struct {
		name string
		url  string
		want error
	}{
		{"granted", srv.URL + "/tsa", nil},
		{"replayed response", fixed(200, replayed), tsa.ErrBadResponse},
		{"response for another imprint", echoOther.URL, tsa.ErrBadResponse},
		{"no nonce in response", fixed(200, otherImprint), tsa.ErrBadResponse},
		{"rejection", fixed(400, rejection), tsa.ErrRejected},
		{"HTTP error", fixed(503, []byte("down")), tsa.ErrRejected},
		{"not a response", fixed(200, []byte("<html>")), tsa.ErrBadResponse},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &tsa.Client{URL: tc.url}
			tok, err := c.Stamp(context.Background(), crypto.SHA256, digest[:])
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("Stamp: %v, want %v", err, tc.want)
			}
			if tc.want != nil {
				return
			}
			ts, err := timestamp.Parse(tok)
			if err != nil {
				t.Fatal(err)
			}
			if !ts.Time.Equal(now) || !ts.Certificates[0].Equal(k.Cert) || ts.Nonce == nil {
				t.Errorf("token: time %v, nonce %v", ts.Time, ts.Nonce)
			}
		})
	}
}

func post(t *testing.T, url string, q []byte) []byte {
	t.Helper()
	resp, err := http.Post(url, "application/timestamp-query", bytes.NewReader(q))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("POST: HTTP %d, %v", resp.StatusCode, err)
	}
	return b
}

// TestOpenSSLVerifies has `openssl ts -verify` check our TSA's response and
// token for a digest against the TSA root.
func TestOpenSSLVerifies(t *testing.T) {
	t.Parallel()
	bin := testutil.NeedProgram(t, "openssl", "openssl")
	a, k, now := newAuthority(t)
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	digest := sha256.Sum256([]byte("signature value"))
	q, _ := (&timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: digest[:], Certificates: true,
		Nonce: big.NewInt(42)}).Marshal()
	resp := post(t, srv.URL+"/tsa", q)
	tok, err := a.Stamp(context.Background(), crypto.SHA256, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	root := write("root.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: k.Root.Raw}))
	at := strconv.FormatInt(now.Unix(), 10)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"response", []string{"-in", write("resp.der", resp), "-queryfile", write("query.der", q)}},
		{"response for the digest", []string{"-in", write("resp.der", resp), "-digest", hex.EncodeToString(digest[:])}},
		{"token", []string{"-token_in", "-in", write("tok.der", tok), "-digest", hex.EncodeToString(digest[:])}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"ts", "-verify", "-CAfile", root, "-attime", at}, tc.args...)
			out, err := exec.Command(bin, args...).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "Verification: OK") {
				t.Errorf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		})
	}
	t.Run("other digest", func(t *testing.T) {
		other := sha256.Sum256([]byte("another signature value"))
		out, err := exec.Command(bin, "ts", "-verify", "-CAfile", root, "-attime", at, "-token_in",
			"-in", write("tok2.der", tok), "-digest", hex.EncodeToString(other[:])).CombinedOutput()
		if err == nil || strings.Contains(string(out), "Verification: OK") {
			t.Errorf("openssl accepts the token for another digest:\n%s", out)
		}
	})
}
