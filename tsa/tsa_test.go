package tsa_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
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

// rawReq is a TimeStampReq (RFC 3161 §2.4.1) with every field free, for the
// requests timestamp.Request cannot write (another version, an unknown hash).
type rawReq struct {
	Version int
	Imprint struct {
		Alg    pkix.AlgorithmIdentifier
		Digest []byte
	}
	Policy     asn1.ObjectIdentifier `asn1:"optional"`
	Nonce      *big.Int              `asn1:"optional"`
	CertReq    bool                  `asn1:"optional,default:false"`
	Extensions []pkix.Extension      `asn1:"tag:0,optional"`
}

func (r rawReq) der(t *testing.T) []byte {
	t.Helper()
	b, err := asn1.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sha256Req(digest []byte) rawReq {
	r := rawReq{Version: 1}
	r.Imprint.Alg = pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}, Parameters: asn1.NullRawValue}
	r.Imprint.Digest = digest
	return r
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
	v2 := sha256Req(digest[:])
	v2.Version = 2
	unknownHash := sha256Req(digest[:])
	unknownHash.Imprint.Alg.Algorithm = asn1.ObjectIdentifier{1, 2, 3, 4}
	withExt := sha256Req(digest[:])
	withExt.Extensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 2, 3, 5}, Value: []byte{5, 0}}}
	bigNonce := sha256Req(digest[:])
	bigNonce.Nonce = new(big.Int).Lsh(big.NewInt(1), 600)
	negNonce := sha256Req(digest[:])
	negNonce.Nonce = big.NewInt(-5)
	ourPolicy := sha256Req(digest[:])
	ourPolicy.Policy = tsa.Policy()
	tests := []struct {
		name     string
		body     []byte
		failInfo int // -1: granted
		// for granted requests: the nonce and the number of certificates
		nonce *big.Int
		certs int
	}{
		{"granted", query(good), -1, nonce, 1},
		{"granted without certReq or nonce", query(timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: digest[:]}), -1, nil, 0},
		{"granted under our policy", ourPolicy.der(t), -1, nil, 0},
		{"malformed", []byte("this is no DER"), int(timestamp.BadDataFormat), nil, 0},
		{"empty", nil, int(timestamp.BadDataFormat), nil, 0},
		{"truncated", query(good)[:20], int(timestamp.BadDataFormat), nil, 0},
		{"trailing data", append(query(good), 0), int(timestamp.BadDataFormat), nil, 0},
		{"version 2", v2.der(t), int(timestamp.BadDataFormat), nil, 0},
		{"SHA-1 imprint", query(timestamp.Request{HashAlgorithm: crypto.SHA1, HashedMessage: sha1}), int(timestamp.BadAlgorithm), nil, 0},
		{"unknown hash", unknownHash.der(t), int(timestamp.BadAlgorithm), nil, 0},
		{"short imprint", query(timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: digest[:16]}), int(timestamp.BadDataFormat), nil, 0},
		{"other policy", query(timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: digest[:], TSAPolicyOID: asn1.ObjectIdentifier{1, 2, 3}}),
			int(timestamp.UnacceptedPolicy), nil, 0},
		{"extension", withExt.der(t), int(timestamp.UnacceptedExtension), nil, 0},
		{"nonce too long", bigNonce.der(t), int(timestamp.BadDataFormat), nil, 0},
		{"negative nonce", negNonce.der(t), int(timestamp.BadDataFormat), nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Post(srv.URL+"/tsa", "application/timestamp-query", bytes.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			// RFC 3161 §2.4.2: a refusal is a TimeStampResp too, over HTTP 200.
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/timestamp-reply" {
				t.Fatalf("HTTP %d %q, want 200 application/timestamp-reply", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			var tr tsResp
			if rest, err := asn1.Unmarshal(body, &tr); err != nil || len(rest) > 0 {
				t.Fatalf("not a TimeStampResp: %v", err)
			}
			if tc.failInfo >= 0 {
				type got struct {
					Status, FailBits int
					Strings          int
					Token            bool
				}
				// DER: the named BIT STRING ends at its one set bit.
				want := got{int(timestamp.Rejection), tc.failInfo + 1, 2, false}
				if diff := cmp.Diff(want, got{tr.Status.Status, tr.Status.FailInfo.BitLength, len(tr.Status.StatusString),
					len(tr.Token.FullBytes) != 0}); diff != "" || tr.Status.FailInfo.At(tc.failInfo) != 1 {
					t.Errorf("rejection -want +got:\n%s(failInfo %x)", diff, tr.Status.FailInfo.Bytes)
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
				Nonce    *big.Int
				Policy   string
				Hash     crypto.Hash
				Imprint  []byte
				Certs    int
			}
			want := got{now, time.Second, tc.nonce, "2.999.392.3161.1", crypto.SHA256, digest[:], tc.certs}
			if diff := cmp.Diff(want, got{ts.Time, ts.Accuracy, ts.Nonce, ts.Policy.String(),
				ts.HashAlgorithm, ts.HashedMessage, len(ts.Certificates)}, cmp.Comparer(func(a, b *big.Int) bool {
				return (a == nil) == (b == nil) && (a == nil || a.Cmp(b) == 0)
			})); diff != "" {
				t.Errorf("token -want +got:\n%s", diff)
			}
			if tc.certs > 0 && !ts.Certificates[0].Equal(k.Cert) {
				t.Error("the token does not carry the unit's certificate")
			}
			if ts.SerialNumber.Sign() <= 0 {
				t.Errorf("serial %v is not positive", ts.SerialNumber)
			}
		})
	}

	// What is no time-stamp request at all is an HTTP error with a text.
	for _, tc := range []struct {
		name, method, contentType string
		body                      []byte
		status                    int
	}{
		{"GET", "GET", "", nil, http.StatusMethodNotAllowed},
		{"PUT", "PUT", "application/timestamp-query", query(good), http.StatusMethodNotAllowed},
		{"wrong media type", "POST", "application/octet-stream", query(good), http.StatusUnsupportedMediaType},
		{"no media type", "POST", "", query(good), http.StatusUnsupportedMediaType},
		{"too large", "POST", "application/timestamp-query", make([]byte, 64<<10), http.StatusRequestEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, srv.URL+"/tsa", bytes.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") ||
				!strings.Contains(string(body), " / ") {
				t.Errorf("HTTP %d %q %q, want %d and a Japanese / English text", resp.StatusCode,
					resp.Header.Get("Content-Type"), body, tc.status)
			}
		})
	}
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
		{"rejection", fixed(200, rejection), tsa.ErrRejected},
		{"rejection over HTTP 400", fixed(400, rejection), tsa.ErrRejected},
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

// TestOpenSSL has Debian's openssl ask our TSA (`openssl ts -query`), read
// its answers (`openssl ts -reply -text`) and verify them (`openssl ts
// -verify`) against the TSA root: with the unit's certificate in the token
// (certReq) or given apart (-untrusted) when the token has none. Under
// CI=true a missing openssl fails the test.
func TestOpenSSL(t *testing.T) {
	t.Parallel()
	bin := testutil.NeedProgram(t, "openssl", "openssl")
	a, k, now := newAuthority(t)
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	run := func(t *testing.T, args ...string) (string, error) {
		out, err := exec.Command(bin, args...).CombinedOutput()
		return string(out), err
	}
	root := write("root.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: k.Root.Raw}))
	unit := write("tsa.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: k.Cert.Raw}))
	data := write("data.txt", []byte("署名値 / signature value"))
	digest := sha256.Sum256([]byte("署名値 / signature value"))
	at := strconv.FormatInt(now.Unix(), 10)

	// Queries made by openssl itself: with certReq and a nonce, and without
	// certReq under our policy.
	withCert := filepath.Join(dir, "cert.tsq")
	if out, err := run(t, "ts", "-query", "-data", data, "-sha256", "-cert", "-out", withCert); err != nil {
		t.Fatalf("openssl ts -query: %v\n%s", err, out)
	}
	noCert := filepath.Join(dir, "nocert.tsq")
	if out, err := run(t, "ts", "-query", "-data", data, "-sha512", "-tspolicy", tsa.Policy().String(), "-out", noCert); err != nil {
		t.Fatalf("openssl ts -query: %v\n%s", err, out)
	}
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	respCert := write("cert.tsr", post(t, srv.URL+"/tsa", read(withCert)))
	respNoCert := write("nocert.tsr", post(t, srv.URL+"/tsa", read(noCert)))
	tok, err := a.Stamp(context.Background(), crypto.SHA256, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	token := write("tok.der", tok)
	q, _ := (&timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: digest[:], TSAPolicyOID: asn1.ObjectIdentifier{1, 2, 3}}).Marshal()
	rejected := write("rejected.tsr", post(t, srv.URL+"/tsa", q))

	t.Run("reply text", func(t *testing.T) {
		out, err := run(t, "ts", "-reply", "-in", respCert, "-text")
		for _, want := range []string{"Status: Granted.", "Policy OID: 2.999.392.3161.1", "Accuracy: 0x01 seconds",
			"Nonce: 0x", "Hash Algorithm: sha256", "TSA: DirName:/C=JP/O=MYNAPLAT-TEST/CN=Time-Stamping Unit 1 (test)"} {
			if err != nil || !strings.Contains(out, want) {
				t.Errorf("openssl ts -reply -text: %v: no %q in\n%s", err, want, out)
			}
		}
	})
	t.Run("rejection text", func(t *testing.T) {
		out, err := run(t, "ts", "-reply", "-in", rejected, "-text")
		for _, want := range []string{"Status: Rejected.", "Failure info: the requested TSA policy is not supported", "is not this TSA's", "TST info:\nNot included."} {
			if err != nil || !strings.Contains(out, want) {
				t.Errorf("openssl ts -reply -text: %v: no %q in\n%s", err, want, out)
			}
		}
	})
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"response with certReq", []string{"-in", respCert, "-queryfile", withCert}},
		{"response for the data", []string{"-in", respCert, "-data", data}},
		{"response without certReq, unit given apart", []string{"-in", respNoCert, "-queryfile", noCert, "-untrusted", unit}},
		{"token", []string{"-token_in", "-in", token, "-digest", hex.EncodeToString(digest[:])}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"ts", "-verify", "-CAfile", root, "-attime", at}, tc.args...)
			out, err := run(t, args...)
			if err != nil || !strings.Contains(out, "Verification: OK") {
				t.Errorf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		})
	}
	t.Run("without certReq, nothing to verify with", func(t *testing.T) {
		out, err := run(t, "ts", "-verify", "-CAfile", root, "-attime", at, "-in", respNoCert, "-queryfile", noCert)
		if err == nil || strings.Contains(out, "Verification: OK") {
			t.Errorf("openssl verified a token without the unit's certificate:\n%s", out)
		}
	})
	t.Run("other digest", func(t *testing.T) {
		other := sha256.Sum256([]byte("another signature value"))
		out, err := run(t, "ts", "-verify", "-CAfile", root, "-attime", at, "-token_in",
			"-in", token, "-digest", hex.EncodeToString(other[:]))
		if err == nil || strings.Contains(out, "Verification: OK") {
			t.Errorf("openssl accepts the token for another digest:\n%s", out)
		}
	})
}

// failingSigner is a unit key that cannot sign (an HSM gone away).
type failingSigner struct{ crypto.Signer }

func (failingSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("the key is not reachable")
}

// TestSystemFailure: a TSA that cannot sign answers with a rejection
// TimeStampResp, systemFailure, over HTTP 200; Stamp returns the error.
func TestSystemFailure(t *testing.T) {
	t.Parallel()
	_, k, now := newAuthority(t)
	broken := *k
	broken.Signer = failingSigner{k.Signer}
	a := tsa.New(&broken, func() time.Time { return now }, nil)
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	digest := sha256.Sum256([]byte("x"))
	q, _ := (&timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: digest[:]}).Marshal()
	var tr tsResp
	if _, err := asn1.Unmarshal(post(t, srv.URL+"/tsa", q), &tr); err != nil {
		t.Fatal(err)
	}
	if tr.Status.Status != int(timestamp.Rejection) || tr.Status.FailInfo.At(int(timestamp.SystemFailure)) != 1 ||
		tr.Status.FailInfo.BitLength != int(timestamp.SystemFailure)+1 || len(tr.Status.StatusString) != 2 {
		t.Errorf("answer %+v, want rejection with systemFailure", tr.Status)
	}
	if _, err := a.Stamp(context.Background(), crypto.SHA256, digest[:]); err == nil {
		t.Error("Stamp with a broken key did not fail")
	}
}
