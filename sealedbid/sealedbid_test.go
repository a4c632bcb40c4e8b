package sealedbid

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mynaplat/mynaplat/internal/testutil"
	"github.com/smallstep/pkcs7"
)

// fastKDF keeps the tests quick; TestNewOpeningDefaultKDF runs the real
// parameters once.
var fastKDF = KDFParams{Time: 1, Memory: 64, Threads: 1}

func officers(n int) []Officer {
	o := make([]Officer, n)
	for i := range o {
		o[i] = Officer{ID: fmt.Sprintf("officer-%d", i+1), Passphrase: fmt.Appendf(nil, "passphrase of officer %d", i+1)}
	}
	return o
}

func passphrases(offs []Officer, idx ...int) map[string][]byte {
	m := map[string][]byte{}
	for _, i := range idx {
		m[offs[i].ID] = offs[i].Passphrase
	}
	return m
}

var (
	fixtureOnce sync.Once
	fixturePub  *Published
	fixtureOffs []Officer
)

// fixture is one 2-of-3 opening shared by the tests that do not change it.
func fixture(t testing.TB) (*Published, []Officer, *x509.Certificate) {
	t.Helper()
	fixtureOnce.Do(func() {
		fixtureOffs = officers(3)
		var err error
		fixturePub, err = newOpening(rand.Reader, "入札 2026-0042 須坂市 庁舎清掃業務", 2, fixtureOffs, fastKDF, time.Now())
		if err != nil {
			panic(err)
		}
	})
	cert, err := x509.ParseCertificate(fixturePub.Certificate)
	if err != nil {
		t.Fatal(err)
	}
	return fixturePub, fixtureOffs, cert
}

// signedBid is a bid signed as an agent would sign it (CMS SignedData).
func signedBid(t testing.TB, amount string) []byte {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "代理人 須坂 太郎"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	sd, err := pkcs7.NewSignedData([]byte(`{"tender":"2026-0042","amount_yen":` + amount + `}`))
	if err != nil {
		t.Fatal(err)
	}
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	if err := sd.AddSigner(cert, key, pkcs7.SignerInfoConfig{}); err != nil {
		t.Fatal(err)
	}
	b, err := sd.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAnyKOfNOpens(t *testing.T) {
	for _, tt := range []struct{ k, n int }{{2, 3}, {3, 5}} {
		t.Run(fmt.Sprintf("%d of %d", tt.k, tt.n), func(t *testing.T) {
			offs := officers(tt.n)
			pub, err := newOpening(rand.Reader, "tender", tt.k, offs, fastKDF, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			cert, _ := x509.ParseCertificate(pub.Certificate)
			bid := []byte("入札金額 1,234,000円")
			env, err := Seal(bid, cert)
			if err != nil {
				t.Fatal(err)
			}
			subsets := 0
			for mask := 0; mask < 1<<tt.n; mask++ {
				var idx []int
				for i := range tt.n {
					if mask&(1<<i) != 0 {
						idx = append(idx, i)
					}
				}
				o, err := Open(pub.Certificate, pub.Shares, passphrases(offs, idx...))
				if len(idx) < tt.k {
					if !errors.Is(err, ErrNotEnoughShares) {
						t.Fatalf("officers %v opened: %v", idx, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("officers %v: %v", idx, err)
				}
				got, err := o.Decrypt(env)
				if err != nil || !bytes.Equal(got, bid) {
					t.Fatalf("officers %v: %q, %v", idx, got, err)
				}
				o.Close()
				subsets++
			}
			if subsets == 0 {
				t.Fatal("no subset tried")
			}
		})
	}
}

// TestOneOfficerAndTheDatabaseCannotOpen: one officer, holding their own
// passphrase and everything the database holds (every sealed share, the
// certificate and the envelopes), cannot open a bid; and the stored bytes
// do not contain the bid.
func TestOneOfficerAndTheDatabaseCannotOpen(t *testing.T) {
	pub, offs, cert := fixture(t)
	bid := signedBid(t, "9876543")
	env, err := Seal(bid, cert)
	if err != nil {
		t.Fatal(err)
	}
	var db bytes.Buffer
	db.Write(pub.Certificate)
	for i := range pub.Shares {
		db.Write(pub.Shares[i].Marshal())
	}
	db.Write(env)
	if bytes.Contains(db.Bytes(), []byte("9876543")) || bytes.Contains(db.Bytes(), bid[len(bid)/2:len(bid)/2+16]) {
		t.Fatal("the stored bytes contain the bid")
	}
	for i := range offs {
		_, err := Open(pub.Certificate, pub.Shares, passphrases(offs, i))
		if !errors.Is(err, ErrNotEnoughShares) {
			t.Errorf("officer %d alone: %v", i, err)
		}
	}
	// Even with the officer's share unsealed, one point of a degree-1
	// polynomial says nothing: "combining" it with any guess of another
	// share gives a key that does not parse or does not match.
	y, err := pub.Shares[0].unseal(cert.Subject.CommonName, offs[0].Passphrase)
	if err != nil {
		t.Fatal(err)
	}
	guess := make([]byte, len(y))
	rand.Read(guess)
	k, err := combine([]share{{x: pub.Shares[0].X, y: y}, {x: pub.Shares[1].X, y: guess}})
	if err != nil {
		t.Fatal(err)
	}
	if priv, err := x509.ParsePKCS8PrivateKey(k); err == nil && priv.(*rsa.PrivateKey).PublicKey.Equal(cert.PublicKey) {
		t.Fatal("a guessed share rebuilt the key")
	}
}

func TestOpenRefusals(t *testing.T) {
	pub, offs, _ := fixture(t)
	other, err := newOpening(rand.Reader, "another tender", 2, offs, fastKDF, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	copyShares := func() []SealedShare {
		s := make([]SealedShare, len(pub.Shares))
		for i := range s {
			p, err := ParseSealedShare(pub.Shares[i].Marshal())
			if err != nil {
				t.Fatal(err)
			}
			s[i] = *p
		}
		return s
	}
	for _, tt := range []struct {
		name   string
		cert   []byte
		shares func() []SealedShare
		pass   map[string][]byte
		want   error
	}{
		{"no passphrase", pub.Certificate, copyShares, nil, ErrNotEnoughShares},
		{"one of two", pub.Certificate, copyShares, passphrases(offs, 2), ErrNotEnoughShares},
		{"wrong passphrase", pub.Certificate, copyShares, map[string][]byte{offs[0].ID: offs[0].Passphrase, offs[1].ID: []byte("guess")}, ErrWrongPassphrase},
		{"passphrase of another officer", pub.Certificate, copyShares, map[string][]byte{offs[0].ID: offs[1].Passphrase, offs[1].ID: offs[1].Passphrase}, ErrWrongPassphrase},
		{"share of another tender", pub.Certificate, func() []SealedShare {
			s := copyShares()
			s[1] = other.Shares[1]
			return s
		}, passphrases(offs, 0, 1), ErrForeignShare},
		{"shares of another tender with this certificate", other.Certificate, copyShares, passphrases(offs, 0, 1), ErrForeignShare},
		{"sealed bytes changed", pub.Certificate, func() []SealedShare {
			s := copyShares()
			s[1].Sealed[5] ^= 1
			return s
		}, passphrases(offs, 0, 1), ErrTamperedShare},
		{"point changed", pub.Certificate, func() []SealedShare {
			s := copyShares()
			s[1].X = 7
			return s
		}, passphrases(offs, 0, 1), ErrTamperedShare},
		{"officer renamed", pub.Certificate, func() []SealedShare {
			s := copyShares()
			s[1].Officer = offs[2].ID // the share of officer 2 under officer 3's name
			return s
		}, map[string][]byte{offs[0].ID: offs[0].Passphrase, offs[2].ID: offs[1].Passphrase}, ErrTamperedShare},
		{"threshold changed", pub.Certificate, func() []SealedShare {
			s := copyShares()
			s[0].Threshold, s[1].Threshold = 3, 3
			return s
		}, passphrases(offs, 0, 1, 2), ErrTamperedShare},
		{"thresholds disagree", pub.Certificate, func() []SealedShare {
			s := copyShares()
			s[1].Threshold = 3
			return s
		}, passphrases(offs, 0, 1), ErrTamperedShare},
		{"same share twice", pub.Certificate, func() []SealedShare {
			s := copyShares()
			return append(s, s[0])
		}, passphrases(offs, 0), ErrDuplicateShare},
		{"bad certificate", []byte("not a certificate"), copyShares, passphrases(offs, 0, 1), ErrBadCertificate},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(tt.cert, tt.shares(), tt.pass)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if ja, en, ok := Messages(err); !ok || ja == "" || en == "" {
				t.Errorf("no messages for %v", err)
			}
		})
	}
}

func TestDecryptRefusals(t *testing.T) {
	pub, offs, cert := fixture(t)
	o, err := Open(pub.Certificate, pub.Shares, passphrases(offs, 0, 2))
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	bid := signedBid(t, "5000000")
	env, err := Seal(bid, cert)
	if err != nil {
		t.Fatal(err)
	}
	otherPub, err := newOpening(rand.Reader, "another tender", 2, offs, fastKDF, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	otherCert, _ := x509.ParseCertificate(otherPub.Certificate)
	foreign, err := Seal(bid, otherCert)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int, x byte) []byte { b := bytes.Clone(env); b[i] ^= x; return b }
	// The ciphertext is the envelope's tail; its last byte of padding is
	// known from the bid's length. Changing the byte 16 before the end
	// changes that padding byte in the plaintext: XOR with the padding
	// value makes it 0, never valid.
	pad := byte(16 - len(bid)%16)
	for _, tt := range []struct {
		name string
		env  []byte
		want error
	}{
		{"garbage", []byte("not CMS"), ErrMalformedEnvelope},
		{"empty", nil, ErrMalformedEnvelope},
		{"trailing bytes", append(bytes.Clone(env), 0), ErrMalformedEnvelope},
		{"truncated", env[:len(env)-1], ErrMalformedEnvelope},
		{"signed data, not enveloped", bid, ErrMalformedEnvelope},
		{"another tender's envelope", foreign, ErrForeignEnvelope},
		{"padding changed", flip(len(env)-17, pad), ErrTamperedEnvelope},
		{"content key changed", flip(bytes.Index(env, oaepKeyOf(t, env))+100, 1), ErrTamperedEnvelope},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := o.Decrypt(tt.env)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			// Without the key, Addressed finds the form and recipient
			// refusals; an altered content is the opening's to find.
			aerr := Addressed(tt.env, cert)
			if tt.want == ErrTamperedEnvelope {
				if aerr != nil {
					t.Fatalf("Addressed = %v on an envelope of the right form and recipient", aerr)
				}
			} else if !errors.Is(aerr, tt.want) {
				t.Fatalf("Addressed = %v, want %v", aerr, tt.want)
			}
			if ja, en, ok := Messages(err); !ok || ja == "" || en == "" {
				t.Errorf("no messages for %v", err)
			}
		})
	}
	// A change in the middle of the content may decrypt (CBC has no
	// integrity); the bid's signature, which the opening checks, fails.
	got, err := o.Decrypt(flip(len(env)-40, 1))
	if err == nil {
		p7, perr := pkcs7.Parse(got)
		if perr == nil && p7.Verify() == nil {
			t.Fatal("a changed bid decrypted and verified")
		}
	} else if !errors.Is(err, ErrTamperedEnvelope) {
		t.Fatalf("err = %v", err)
	}
	// The untouched one opens and verifies.
	got, err = o.Decrypt(env)
	if err != nil || !bytes.Equal(got, bid) {
		t.Fatalf("Decrypt: %v", err)
	}
	p7, err := pkcs7.Parse(got)
	if err != nil || p7.Verify() != nil {
		t.Fatalf("the bid's signature: %v", err)
	}
	o.Close()
	if _, err := o.Decrypt(env); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

// oaepKeyOf returns the RSA-encrypted content key inside an envelope.
func oaepKeyOf(t testing.TB, env []byte) []byte {
	t.Helper()
	var ci contentInfo
	var ed envelopedData
	if _, err := asn1.Unmarshal(env, &ci); err != nil {
		t.Fatal(err)
	}
	if _, err := asn1.Unmarshal(ci.Content.Bytes, &ed); err != nil {
		t.Fatal(err)
	}
	return ed.RecipientInfos[0].EncryptedKey
}

func TestCloseZeroesKey(t *testing.T) {
	pub, offs, _ := fixture(t)
	o, err := Open(pub.Certificate, pub.Shares, passphrases(offs, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	k := o.key
	o.Close()
	if k.D.Sign() != 0 || k.Primes[0].Sign() != 0 || k.Primes[1].Sign() != 0 || k.Precomputed.Dp.Sign() != 0 {
		t.Fatal("Close left the private numbers")
	}
	if err := o.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
}

// TestInterop: `openssl cms -decrypt` (Debian's openssl) and
// smallstep/pkcs7 both read what Seal writes.
func TestInterop(t *testing.T) {
	openssl := testutil.NeedProgram(t, "openssl", "openssl")
	pub, offs, cert := fixture(t)
	o, err := Open(pub.Certificate, pub.Shares, passphrases(offs, 1, 2))
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	bid := signedBid(t, "1200000")
	env, err := Seal(bid, cert)
	if err != nil {
		t.Fatal(err)
	}
	p7, err := pkcs7.Parse(env)
	if err != nil {
		t.Fatal("smallstep Parse:", err)
	}
	got, err := p7.Decrypt(cert, o.key)
	if err != nil || !bytes.Equal(got, bid) {
		t.Fatalf("smallstep Decrypt: %v", err)
	}
	dir := t.TempDir()
	keyDER, err := x509.MarshalPKCS8PrivateKey(o.key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	out, err := exec.Command(openssl, "cms", "-decrypt", "-inform", "DER", "-binary",
		"-in", write("bid.p7m", env),
		"-recip", write("cert.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: pub.Certificate})),
		"-inkey", write("key.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})),
	).Output()
	if err != nil {
		t.Fatalf("openssl cms -decrypt: %v", err)
	}
	if !bytes.Equal(out, bid) {
		t.Fatalf("openssl gave %d bytes, want the %d of the bid", len(out), len(bid))
	}
}

func TestNewOpeningRefuses(t *testing.T) {
	offs := officers(3)
	for _, tt := range []struct {
		name    string
		subject string
		k       int
		offs    []Officer
	}{
		{"k of 1", "t", 1, offs},
		{"k above n", "t", 4, offs},
		{"no subject", "", 2, offs},
		{"officer twice", "t", 2, append(officers(2), officers(1)...)},
		{"no passphrase", "t", 2, []Officer{offs[0], {ID: "x"}}},
		{"no officer ID", "t", 2, []Officer{offs[0], {Passphrase: []byte("p")}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewOpening(rand.Reader, tt.subject, tt.k, tt.offs)
			if !errors.Is(err, ErrBadParameters) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

// TestNewOpeningDefaultKDF runs the real Argon2id parameters once, and
// reports what a derivation costs.
func TestNewOpeningDefaultKDF(t *testing.T) {
	offs := officers(3)
	start := time.Now()
	pub, err := NewOpening(rand.Reader, "tender", 2, offs)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("NewOpening 2 of 3 with %+v: %v", DefaultKDF(), time.Since(start))
	if got := pub.Shares[0].KDF; got != DefaultKDF() {
		t.Fatalf("KDF %+v", got)
	}
	cert, _ := x509.ParseCertificate(pub.Certificate)
	if cert.PublicKey.(*rsa.PublicKey).N.BitLen() != KeyBits || cert.Subject.CommonName != "tender" {
		t.Fatalf("certificate: %v", cert.Subject)
	}
	start = time.Now()
	o, err := Open(pub.Certificate, pub.Shares, passphrases(offs, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Open with 2 shares: %v", time.Since(start))
	o.Close()
}

func TestSealedShareBytes(t *testing.T) {
	pub, _, _ := fixture(t)
	b := pub.Shares[0].Marshal()
	s, err := ParseSealedShare(b)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(pub.Shares[0], *s); d != "" {
		t.Fatalf("round trip (-want +got):\n%s", d)
	}
	huge := (&SealedShare{Officer: "a", Threshold: 2, X: 1, KDF: KDFParams{Time: 1, Memory: 4 << 20, Threads: 1}, Sealed: make([]byte, 32)}).Marshal()
	zeroX := (&SealedShare{Officer: "a", Threshold: 2, X: 0, KDF: fastKDF, Sealed: make([]byte, 32)}).Marshal()
	for name, bad := range map[string][]byte{
		"empty":             nil,
		"truncated":         b[:len(b)-1],
		"trailing":          append(bytes.Clone(b), 0),
		"other version":     append([]byte("MYNA-SBS\x02"), b[len(magic):]...),
		"KDF memory 4 GiB":  huge,
		"point 0":           zeroX,
		"magic only":        []byte(magic),
		"short sealed part": b[:len(b)-len(pub.Shares[0].Sealed)],
	} {
		if _, err := ParseSealedShare(bad); !errors.Is(err, ErrTamperedShare) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestShamir(t *testing.T) {
	// GF(2^8): every non-zero element has its inverse, and multiplication
	// agrees with a plain carry-less multiply reduced by the AES
	// polynomial (FIPS 197 §4.2: {57}·{83} = {c1}).
	if got := gfMul(0x57, 0x83); got != 0xc1 {
		t.Fatalf("{57}·{83} = %#x", got)
	}
	for a := 1; a < 256; a++ {
		if gfMul(byte(a), gfInv(byte(a))) != 1 {
			t.Fatalf("inverse of %#x", a)
		}
	}
	secret := []byte("PKCS#8 stand-in: 秘密")
	shares, err := split(rand.Reader, secret, 3, 5)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		for j := i + 1; j < 5; j++ {
			for k := j + 1; k < 5; k++ {
				got, err := combine([]share{shares[i], shares[j], shares[k]})
				if err != nil || !bytes.Equal(got, secret) {
					t.Fatalf("shares %d,%d,%d: %q %v", i, j, k, got, err)
				}
			}
			if got, _ := combine([]share{shares[i], shares[j]}); bytes.Equal(got, secret) {
				t.Fatalf("two of 3-of-5 rebuilt the secret")
			}
		}
	}
	if _, err := combine([]share{shares[0], shares[0]}); err == nil {
		t.Fatal("duplicate point accepted")
	}
	if _, err := split(rand.Reader, secret, 1, 3); err == nil {
		t.Fatal("k=1 accepted")
	}
}
