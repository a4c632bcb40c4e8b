package card

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"
)

// Test PINs of every fixture card.
const (
	testAuthPIN = "1234"
	testSignPIN = "ABC123"
	testTextPIN = "5678"
)

func testSpec() Spec {
	return Spec{
		Label:     "test card",
		AuthPIN:   testAuthPIN,
		SignPIN:   testSignPIN,
		TextPIN:   testTextPIN,
		MyNumber:  "123456789012",
		Name:      "試験\u3000花子",
		Address:   "東京都千代田区霞が関二丁目1番2号",
		BirthDate: "19900401",
		Sex:       "2",
		// 照合番号B: 平成2年4月1日, expiry 2036, security code 2285.
		Expiry:       "20360401",
		SecurityCode: "2285",
	}
}

// Printed keys of the fixture cards.
const (
	testPINA = "123456789012"   // the My Number
	testPINB = "02040120362285" // era birth date, expiry year, security code
)

// triesOf is Info.Tries of a card whose printed keys have all their tries.
func triesOf(auth, sign, text int) []PINTries {
	out := []PINTries{{AuthPIN, auth}, {SignPIN, sign}, {TextPIN, text}}
	for _, p := range PINs[3:] {
		out = append(out, PINTries{p, p.MaxTries()})
	}
	return out
}

// sharedIssuer is the card issuer of the in-memory cards, made once.
var sharedIssuer = sync.OnceValues(NewIssuer)

// testCA is a throw-away self-signed CA, in the spirit of the JPKI roots but
// not the real jpki package.
type testCA struct {
	key  *rsa.PrivateKey
	cert *x509.Certificate
	der  []byte
}

func newTestCA(cn string) (*testCA, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{Country: []string{"JP"}, Organization: []string{"JPKI-TEST"}, OrganizationalUnit: []string{cn}},
		NotBefore:             time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:              time.Date(2035, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		SignatureAlgorithm:    x509.SHA256WithRSA,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &testCA{key: key, cert: cert, der: der}, nil
}

func (ca *testCA) issue(pub *rsa.PublicKey, serial int64, cn string, ku x509.KeyUsage) ([]byte, error) {
	tmpl := &x509.Certificate{
		SerialNumber:       big.NewInt(serial),
		Subject:            pkix.Name{Country: []string{"JP"}, CommonName: cn},
		NotBefore:          time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:           time.Date(2030, 4, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:           ku,
		SignatureAlgorithm: x509.SHA256WithRSA,
	}
	return x509.CreateCertificate(rand.Reader, tmpl, ca.cert, pub, ca.key)
}

type fixture struct {
	authCA, signCA *testCA
}

// sharedFixture makes the two CAs once per test binary: RSA key generation is
// the slow part of these tests.
var sharedFixture = sync.OnceValues(func() (*fixture, error) {
	a, err := newTestCA("JPKI-TEST for user authentication")
	if err != nil {
		return nil, err
	}
	s, err := newTestCA("JPKI-TEST for digital signature")
	if err != nil {
		return nil, err
	}
	return &fixture{authCA: a, signCA: s}, nil
})

func testFixture(t testing.TB) *fixture {
	t.Helper()
	f, err := sharedFixture()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// personalise does what the counter does at issuance: keys in the card,
// certificates from the CAs.
func personalise(t testing.TB, c *Card, purposes ...Purpose) {
	t.Helper()
	f := testFixture(t)
	for _, p := range purposes {
		pub, err := c.GenerateKey(p)
		if err != nil {
			t.Fatal(err)
		}
		ca, ku, cn := f.authCA, x509.KeyUsageDigitalSignature, "997794E9AGCIEG13221003A"
		if p == Sign {
			ca, ku, cn = f.signCA, x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment, "SIGN997794E9AGCIEG1322"
		}
		der, err := ca.issue(pub, int64(p)+100, cn, ku)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.WriteCertificate(p, der, ca.der); err != nil {
			t.Fatal(err)
		}
	}
}

// memState is a fully personalised card state, made once: table tests and the
// fuzzer start every case from a copy of it with an in-memory card.
var memState = sync.OnceValues(func() (state, error) {
	st, err := newState(testSpec(), time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	if err != nil {
		return state{}, err
	}
	st.ID = "0123456789abcdef"
	c, err := newCard(st, nil)
	if err != nil {
		return state{}, err
	}
	personalise(panicTB{}, c, Auth, Sign)
	return c.st, nil
})

// newMemCard returns a fresh personalised card that lives only in memory.
func newMemCard(t testing.TB) *Card {
	t.Helper()
	st, err := memState()
	if err != nil {
		t.Fatal(err)
	}
	c, err := newCard(st, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.issuer = sharedIssuer
	return c
}

// newStoreCard creates a personalised card in a fresh store.
func newStoreCard(t *testing.T) (*Store, *Card) {
	t.Helper()
	s, err := NewStore(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Create(testSpec())
	if err != nil {
		t.Fatal(err)
	}
	personalise(t, c, Auth, Sign)
	return s, c
}

// panicTB lets personalise run inside sync.OnceValues, where there is no *testing.T.
type panicTB struct{ testing.TB }

func (panicTB) Helper()               {}
func (panicTB) Fatal(args ...any)     { panic(args) }
func (panicTB) Fatalf(string, ...any) { panic("fatal") }

// h decodes hex with spaces, for readable APDUs.
func h(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}
