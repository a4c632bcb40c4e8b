// Package keydir keeps a certification authority's keys and certificates
// in a directory, the way jpki, seal, corpreg and tsa share:
//
//   - one directory of mode 0700, made on first use, whose lock file
//     (.lock, taken with flock) keeps two processes sharing it from making
//     two different roots (Lock);
//   - private keys as PKCS #8 PEM files ("PRIVATE KEY") of mode 0600,
//     certificates as PEM files ("CERTIFICATE") of mode 0644, each written
//     atomically (fileutil.WriteAtomic);
//   - a self-signed root made on first use (Root), and certificates under it
//     issued again for the same key when they come near their end (Leaf).
//
// Keys leave this package as crypto.Signer only.
package keydir

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/mynaplat/mynaplat/internal/fileutil"
)

// Modes of what this package makes.
const (
	DirMode  os.FileMode = 0o700
	KeyMode  os.FileMode = 0o600
	CertMode os.FileMode = 0o644
)

// PEM block types of the files.
const (
	keyPEM  = "PRIVATE KEY"
	certPEM = "CERTIFICATE"
)

// Lock runs fn holding dir's lock file, dir/.lock, making dir (mode 0700)
// first. The lock is flock(2)'s: it holds between processes and between
// two calls in one process alike, and goes with the process if it dies.
func Lock(dir string, fn func() error) error {
	if err := os.MkdirAll(dir, DirMode); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, KeyMode)
	if err != nil {
		return fmt.Errorf("lock %s: %w", dir, err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock %s: %w", dir, err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	return fn()
}

// Alg is the kind of key a file holds.
type Alg int

const (
	// RSA keys are made with 2048 bits; any size is read.
	RSA Alg = iota + 1
	// ECDSA keys are made on P-256; any curve is read.
	ECDSA
	// Ed25519 keys.
	Ed25519
)

func (a Alg) String() string {
	switch a {
	case RSA:
		return "RSA"
	case ECDSA:
		return "ECDSA"
	case Ed25519:
		return "Ed25519"
	}
	return fmt.Sprintf("Alg(%d)", int(a))
}

// holds reports whether k is a private key of kind a.
func (a Alg) holds(k any) bool {
	switch k.(type) {
	case *rsa.PrivateKey:
		return a == RSA
	case *ecdsa.PrivateKey:
		return a == ECDSA
	case ed25519.PrivateKey:
		return a == Ed25519
	}
	return false
}

// NewKey makes a key of kind alg: RSA-2048, ECDSA P-256 or Ed25519.
func NewKey(alg Alg) (crypto.Signer, error) {
	switch alg {
	case RSA:
		return rsa.GenerateKey(rand.Reader, 2048)
	case ECDSA:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case Ed25519:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	}
	return nil, fmt.Errorf("keydir: unknown key kind %v", alg)
}

// readPEM reads the one PEM block of type typ in path.
func readPEM(path, typ string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	p, _ := pem.Decode(b)
	if p == nil || p.Type != typ {
		return nil, fmt.Errorf("%s is not PEM of type %s", path, typ)
	}
	return p.Bytes, nil
}

// ReadKey reads a PKCS #8 PEM private key of kind alg. A missing file is an
// error satisfying errors.Is(err, os.ErrNotExist).
func ReadKey(path string, alg Alg) (crypto.Signer, error) {
	der, err := readPEM(path, keyPEM)
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if !alg.holds(k) {
		return nil, fmt.Errorf("%s: not an %v key", path, alg)
	}
	return k.(crypto.Signer), nil
}

// WriteKey writes key to path as PKCS #8 PEM, mode 0600, making the
// directory (0700) when it is missing.
func WriteKey(path string, key crypto.Signer) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	return write(path, keyPEM, der, KeyMode)
}

// LoadOrMakeKey reads the key of kind alg at path, or makes one and writes
// it there when there is none.
func LoadOrMakeKey(path string, alg Alg) (crypto.Signer, error) {
	k, err := ReadKey(path, alg)
	if !errors.Is(err, os.ErrNotExist) {
		return k, err
	}
	if k, err = NewKey(alg); err != nil {
		return nil, err
	}
	return k, WriteKey(path, k)
}

// ReadCert reads a PEM certificate. A missing file is an error satisfying
// errors.Is(err, os.ErrNotExist).
func ReadCert(path string) (*x509.Certificate, error) {
	der, err := readPEM(path, certPEM)
	if err != nil {
		return nil, err
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// WriteCert writes cert to path as PEM, mode 0644, making the directory
// (0700) when it is missing.
func WriteCert(path string, cert *x509.Certificate) error {
	return write(path, certPEM, cert.Raw, CertMode)
}

func write(path, typ string, der []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), DirMode); err != nil {
		return err
	}
	return fileutil.WriteAtomic(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode)
}

// ReadPair reads a key of kind alg and its certificate, which must certify
// that key. The certificate is nil when only the key exists; a missing key
// is an error satisfying errors.Is(err, os.ErrNotExist).
func ReadPair(keyPath, certPath string, alg Alg) (crypto.Signer, *x509.Certificate, error) {
	key, err := ReadKey(keyPath, alg)
	if err != nil {
		return nil, nil, err
	}
	cert, err := ReadCert(certPath)
	if errors.Is(err, os.ErrNotExist) {
		return key, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(cert.PublicKey) {
		return nil, nil, fmt.Errorf("%s does not belong to %s", keyPath, certPath)
	}
	return key, cert, nil
}

// WritePair writes a certificate and then its key. A crash between the two
// leaves a certificate without its key, which ReadPair reports as a missing
// key, never a key without its certificate.
func WritePair(keyPath, certPath string, key crypto.Signer, cert *x509.Certificate) error {
	if err := WriteCert(certPath, cert); err != nil {
		return err
	}
	return WriteKey(keyPath, key)
}

// NewSerial is a random positive certificate serial number of up to 127
// bits: at least 64 bits of randomness and within RFC 5280's 20 octets.
func NewSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	return n.Add(n, big.NewInt(1)), nil
}

// Issue makes a certificate of tmpl for pub, signed by parentKey, the key
// of parent. A nil tmpl.SerialNumber gets NewSerial's; a certificate that
// would outlive its parent ends with it. tmpl itself is not changed.
func Issue(tmpl, parent *x509.Certificate, pub crypto.PublicKey, parentKey crypto.Signer) (*x509.Certificate, error) {
	t := *tmpl
	if t.SerialNumber == nil {
		serial, err := NewSerial()
		if err != nil {
			return nil, err
		}
		t.SerialNumber = serial
	}
	if parent == tmpl {
		parent = &t
	} else if t.NotAfter.After(parent.NotAfter) {
		t.NotAfter = parent.NotAfter
	}
	der, err := x509.CreateCertificate(rand.Reader, &t, parent, pub, parentKey)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// SelfSigned makes a certificate of tmpl for key, signed by key itself.
func SelfSigned(tmpl *x509.Certificate, key crypto.Signer) (*x509.Certificate, error) {
	return Issue(tmpl, tmpl, key.Public(), key)
}

// Current reports whether cert is there, is signed by issuer and does not
// end within renewBefore of now: whether it can stay rather than be issued
// again.
func Current(cert, issuer *x509.Certificate, now time.Time, renewBefore time.Duration) bool {
	return cert != nil && cert.CheckSignatureFrom(issuer) == nil && now.Add(renewBefore).Before(cert.NotAfter)
}

// RootValidity is how long a RootTemplate root lasts.
const RootValidity = 20 * 365 * 24 * time.Hour

// RootTemplate is the profile of this platform's test roots: subject
// C=JP, O=MYNAPLAT-TEST, CN=cn; valid from an hour before now for
// RootValidity; keyCertSign and cRLSign; CA:TRUE with pathLen 0.
func RootTemplate(cn string, now time.Time) *x509.Certificate {
	return &x509.Certificate{
		Subject:               pkix.Name{Country: []string{"JP"}, Organization: []string{"MYNAPLAT-TEST"}, CommonName: cn},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(RootValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
}

// Root reads the self-signed root kept in keyPath and certPath, or, when
// there is no key, makes a key of kind alg, certifies it with the template
// tmpl returns for its public key, and writes both. A key without its
// certificate is refused rather than replaced: it may be a root that others
// trust. Call it under Lock.
func Root(keyPath, certPath string, alg Alg, tmpl func(pub crypto.PublicKey) *x509.Certificate) (crypto.Signer, *x509.Certificate, error) {
	key, cert, err := ReadPair(keyPath, certPath, alg)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if key, err = NewKey(alg); err != nil {
			return nil, nil, err
		}
		if cert, err = SelfSigned(tmpl(key.Public()), key); err != nil {
			return nil, nil, err
		}
		if err := WritePair(keyPath, certPath, key, cert); err != nil {
			return nil, nil, err
		}
	case err != nil:
		return nil, nil, err
	case cert == nil:
		return nil, nil, fmt.Errorf("%s without %s", filepath.Base(keyPath), filepath.Base(certPath))
	}
	return key, cert, nil
}

// Leaf reads the key (of kind alg) and certificate kept in keyPath and
// certPath, making the key when there is none. When the certificate is
// missing or keep refuses it, issue certifies the key again and the new
// certificate is written. Call it under Lock.
func Leaf(keyPath, certPath string, alg Alg, keep func(*x509.Certificate) bool, issue func(crypto.Signer) (*x509.Certificate, error)) (crypto.Signer, *x509.Certificate, error) {
	key, cert, err := ReadPair(keyPath, certPath, alg)
	fresh := errors.Is(err, os.ErrNotExist)
	if fresh {
		key, err = NewKey(alg)
	}
	if err != nil {
		return nil, nil, err
	}
	if cert != nil && keep(cert) {
		return key, cert, nil
	}
	if cert, err = issue(key); err != nil {
		return nil, nil, err
	}
	if fresh {
		err = WritePair(keyPath, certPath, key, cert)
	} else {
		err = WriteCert(certPath, cert)
	}
	if err != nil {
		return nil, nil, err
	}
	return key, cert, nil
}
