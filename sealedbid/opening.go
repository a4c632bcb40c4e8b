package sealedbid

import (
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"sync"
	"time"
	"unicode/utf8"
)

// KeyBits is the size of the opening key. 2048-bit RSA (112-bit security,
// NIST SP 800-57 Pt 1 through 2030) is enough for a secret that must hold
// from the tender's publication to its opening, weeks at most: at the
// opening every bid, losing ones included, is published anyway. 3072 bits
// would cost about 3.7 times as much per bid to open (7.1 ms against
// 1.9 ms, BenchmarkOAEPDecrypt3072), for a margin this secret does not need.
const KeyBits = 2048

// Officer is an opening officer: the ID the share is sealed to and the
// passphrase that seals it. The passphrase is used and not kept.
type Officer struct {
	ID         string
	Passphrase []byte
}

// Published is what a tender keeps after NewOpening: the opening
// certificate (DER; its SHA-256 fingerprint goes on the tender page so
// bidders can pin it) and one sealed share per officer. None of it, alone
// or together, opens a bid without k passphrases.
type Published struct {
	Certificate []byte
	Shares      []SealedShare
}

// Fingerprint is the SHA-256 of the certificate, to publish.
func (p *Published) Fingerprint() [32]byte { return sha256.Sum256(p.Certificate) }

// NewOpening makes a tender's opening key: an RSA key and a self-signed
// certificate for subject; splits the key's PKCS#8 form k-of-n among the
// officers (Shamir over GF(2^8)); seals each share under its officer's
// passphrase (Argon2id, then AES-256-GCM bound to the tender and officer);
// and forgets the key. rand feeds every random choice but the RSA key
// (crypto/rsa uses its own source whatever it is given).
func NewOpening(rand io.Reader, subject string, k int, officers []Officer) (*Published, error) {
	return newOpening(rand, subject, k, officers, DefaultKDF(), time.Now())
}

func newOpening(rand io.Reader, subject string, k int, officers []Officer, kdf KDFParams, now time.Time) (*Published, error) {
	n := len(officers)
	if subject == "" || len(subject) > 1024 || !utf8.ValidString(subject) {
		return nil, fmt.Errorf("%w: subject", ErrBadParameters)
	}
	if k < 2 || n < k || n > 255 {
		return nil, fmt.Errorf("%w: k=%d of n=%d (need 2 ≤ k ≤ n ≤ 255)", ErrBadParameters, k, n)
	}
	seen := map[string]bool{}
	for _, o := range officers {
		if o.ID == "" || len(o.ID) > maxOfficerID || seen[o.ID] || len(o.Passphrase) == 0 {
			return nil, fmt.Errorf("%w: officer %q (empty, too long or twice, or no passphrase)", ErrBadParameters, o.ID)
		}
		seen[o.ID] = true
	}
	priv, err := rsa.GenerateKey(rand, KeyBits)
	if err != nil {
		return nil, err
	}
	defer zeroKey(priv)
	serial := make([]byte, 16)
	if _, err := io.ReadFull(rand, serial); err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          new(big.Int).SetBytes(serial),
		Subject:               pkix.Name{CommonName: subject, Organization: []string{"JPKI-TEST"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(2, 0, 0),
		KeyUsage:              x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		return nil, err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	defer clear(pkcs8)
	points, err := split(rand, pkcs8, k, n)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, p := range points {
			clear(p.y)
		}
	}()
	pub := &Published{Certificate: der, Shares: make([]SealedShare, n)}
	fp := pub.Fingerprint()
	for i, o := range officers {
		s := &pub.Shares[i]
		*s = SealedShare{Officer: o.ID, Threshold: uint8(k), X: points[i].x, Fingerprint: fp, KDF: kdf}
		if err := s.seal(rand, subject, o.Passphrase, points[i].y); err != nil {
			return nil, err
		}
	}
	return pub, nil
}

// Opener holds the rebuilt opening key in memory for the opening. Close
// it when the opening ends.
type Opener struct {
	cert *x509.Certificate
	mu   sync.RWMutex
	key  *rsa.PrivateKey // nil once closed
}

// Open rebuilds the opening key from the shares whose officers gave a
// passphrase; k of them are needed. Shares without a passphrase are
// skipped; a given passphrase that does not unseal its share is refused,
// naming the officer.
func Open(cert []byte, shares []SealedShare, passphrases map[string][]byte) (*Opener, error) {
	c, err := x509.ParseCertificate(cert)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadCertificate, err)
	}
	certPub, ok := c.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: not an RSA key", ErrBadCertificate)
	}
	fp := sha256.Sum256(cert)
	var points []share
	defer func() {
		for _, p := range points {
			clear(p.y)
		}
	}()
	threshold := 0
	officers, xs := map[string]bool{}, map[uint8]bool{}
	for i := range shares {
		s := &shares[i]
		pass, given := passphrases[s.Officer]
		if !given {
			continue
		}
		if s.Fingerprint != fp {
			return nil, fmt.Errorf("%w (officer %q)", ErrForeignShare, s.Officer)
		}
		if officers[s.Officer] || xs[s.X] {
			return nil, fmt.Errorf("%w (officer %q)", ErrDuplicateShare, s.Officer)
		}
		officers[s.Officer], xs[s.X] = true, true
		if threshold != 0 && int(s.Threshold) != threshold {
			return nil, fmt.Errorf("%w: the shares disagree on how many open", ErrTamperedShare)
		}
		threshold = int(s.Threshold)
		if len(points) == threshold {
			continue // enough; the rest are not needed
		}
		y, err := s.unseal(c.Subject.CommonName, pass)
		if err != nil {
			return nil, err
		}
		points = append(points, share{x: s.X, y: y})
	}
	if threshold == 0 || len(points) < threshold {
		return nil, fmt.Errorf("%w: %d unsealed, %d needed", ErrNotEnoughShares, len(points), max(threshold, 2))
	}
	pkcs8, err := combine(points)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTamperedShare, err)
	}
	defer clear(pkcs8)
	k, err := x509.ParsePKCS8PrivateKey(pkcs8)
	if err != nil {
		return nil, fmt.Errorf("%w: the rebuilt key does not parse", ErrKeyMismatch)
	}
	priv, ok := k.(*rsa.PrivateKey)
	if !ok || !priv.PublicKey.Equal(certPub) {
		return nil, ErrKeyMismatch
	}
	return &Opener{cert: c, key: priv}, nil
}

// Certificate is the opening certificate.
func (o *Opener) Certificate() *x509.Certificate { return o.cert }

// Decrypt opens one sealed bid. It is safe for concurrent use, so an
// opening can spread its bids over the cores.
func (o *Opener) Decrypt(envelope []byte) ([]byte, error) {
	o.mu.RLock()
	defer o.mu.RUnlock()
	if o.key == nil {
		return nil, ErrClosed
	}
	return decrypt(envelope, o.cert, o.key)
}

// Close zeroes the key material the Opener holds and makes Decrypt
// refuse. It is best effort: Go may have copied the key's numbers (the
// garbage collector moves nothing, but crypto/rsa keeps its own
// precomputed form, which this cannot reach).
func (o *Opener) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.key != nil {
		zeroKey(o.key)
		o.key = nil
	}
	return nil
}

// zeroKey overwrites the private numbers of an RSA key in place.
func zeroKey(k *rsa.PrivateKey) {
	zero := func(n *big.Int) {
		if n != nil {
			clear(n.Bits())
			n.SetInt64(0)
		}
	}
	zero(k.D)
	for _, p := range k.Primes {
		zero(p)
	}
	zero(k.Precomputed.Dp)
	zero(k.Precomputed.Dq)
	zero(k.Precomputed.Qinv)
}
