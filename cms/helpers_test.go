package cms

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/tsa"
)

// testClock is the fixed clock of the tests: three days before the wall
// clock, so that certificates made at it are valid both at it and now (for
// openssl and pdfsig, which check at the wall clock, and for the wall-clock
// signing-time the time-stamp library puts into its tokens).
func testClock() time.Time {
	return time.Now().UTC().AddDate(0, 0, -3).Truncate(time.Second)
}

// testPKI is a root and one signer's key and certificate.
type testPKI struct {
	root    *x509.Certificate
	rootKey crypto.Signer
	cert    *x509.Certificate
	key     crypto.Signer
	now     time.Time
}

func (p *testPKI) roots() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.root)
	return pool
}

func newKey(t testing.TB, alg string) crypto.Signer {
	t.Helper()
	var k crypto.Signer
	var err error
	switch alg {
	case "RSA":
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ECDSA":
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		t.Fatalf("key algorithm %q", alg)
	}
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newPKI(t testing.TB, alg string) *testPKI {
	t.Helper()
	now := testClock()
	rootKey := newKey(t, "ECDSA")
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{Organization: []string{"MYNAPLAT-TEST"}, CommonName: "cms test root"},
		NotBefore:    now.Add(-time.Hour), NotAfter: now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, rootKey.Public(), rootKey)
	if err != nil {
		t.Fatal(err)
	}
	root, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	p := &testPKI{root: root, rootKey: rootKey, now: now}
	p.key = newKey(t, alg)
	p.cert = p.issue(t, p.key.Public(), 2, "酒田 一郎 (signer)")
	return p
}

// issue makes a signing certificate from the root for pub, without an
// extended key usage.
func (p *testPKI) issue(t testing.TB, pub crypto.PublicKey, serial int64, cn string) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{Organization: []string{"MYNAPLAT-TEST"}, CommonName: cn},
		NotBefore:    p.now.Add(-time.Hour), NotAfter: p.now.AddDate(5, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.root, pub, p.rootKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// opaque hides a key behind crypto.Signer, as a card's key is: no type
// assertion reaches the private key.
type opaque struct{ s crypto.Signer }

func (o opaque) Public() crypto.PublicKey { return o.s.Public() }
func (o opaque) Sign(r io.Reader, d []byte, so crypto.SignerOpts) ([]byte, error) {
	return o.s.Sign(r, d, so)
}

// testTSA is an in-process TSA at the test clock and the pool of its root.
func testTSA(t testing.TB, now time.Time) (*tsa.Authority, *x509.CertPool, *tsa.Keys) {
	t.Helper()
	clock := func() time.Time { return now }
	k, err := tsa.LoadOrCreate(t.TempDir(), clock)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(k.Root)
	return tsa.New(k, clock, nil), pool, k
}

// lyingStamper stamps SHA-256 of something else than it is asked to.
type lyingStamper struct{ s Stamper }

func (l lyingStamper) Stamp(ctx context.Context, h crypto.Hash, _ []byte) ([]byte, error) {
	d := sha256.Sum256([]byte("another signature value"))
	return l.s.Stamp(ctx, h, d[:])
}

func writeFile(t testing.TB, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func certPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}
