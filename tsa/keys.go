package tsa

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
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

// Validity of the certificates LoadOrCreate makes.
const (
	rootValidity = 20 * 365 * 24 * time.Hour
	unitValidity = 5 * 365 * 24 * time.Hour
	// renewBefore: a unit certificate this close to its end is replaced by
	// a new one for the same key when the keys are next loaded.
	renewBefore = 30 * 24 * time.Hour
)

// Keys are a TSA's root and its time-stamping unit. Only the unit's Signer
// leaves the package; the root's key stays in the directory.
type Keys struct {
	// Root is the TSA's self-signed root: what verifiers trust.
	Root *x509.Certificate
	// Cert is the time-stamping unit's certificate, issued by Root.
	Cert *x509.Certificate
	// Signer holds the unit's key, which signs the tokens.
	Signer crypto.Signer
}

// LoadOrCreate loads the TSA's keys from dir, making them on first use:
//
//	root.key, root.crt   the root (ECDSA P-256, self-signed)
//	tsa.key, tsa.crt     the time-stamping unit (ECDSA P-256)
//
// Keys are PKCS #8 PEM files of mode 0600 in a directory of mode 0700; a
// lock file keeps two processes sharing the directory from making two
// different ones. The unit's certificate has one extended key usage,
// id-kp-timeStamping, in a critical extension (RFC 3161 §2.3); it is issued
// again for the same key when it is missing, not the root's, or within 30
// days of its end. ECDSA keeps the tokens small, which matters inside a
// PDF's /Contents.
func LoadOrCreate(dir string, now func() time.Time) (*Keys, error) {
	if now == nil {
		now = time.Now
	}
	var k *Keys
	err := locked(dir, func() error {
		t := now()
		rootKey, root, err := readPair(filepath.Join(dir, "root.key"), filepath.Join(dir, "root.crt"))
		switch {
		case errors.Is(err, os.ErrNotExist):
			if rootKey, root, err = newRoot(t); err != nil {
				return err
			}
			if err := writePair(filepath.Join(dir, "root.key"), filepath.Join(dir, "root.crt"), rootKey, root); err != nil {
				return err
			}
		case err != nil:
			return err
		case root == nil:
			return errors.New("root.key without root.crt")
		}
		unitKey, unit, err := readPair(filepath.Join(dir, "tsa.key"), filepath.Join(dir, "tsa.crt"))
		switch {
		case errors.Is(err, os.ErrNotExist):
			if unitKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
				return err
			}
			unit = nil
		case err != nil:
			return err
		}
		if unit == nil || unit.CheckSignatureFrom(root) != nil || !t.Add(renewBefore).Before(unit.NotAfter) {
			if unit, err = newUnitCert(unitKey, root, rootKey, t); err != nil {
				return err
			}
			if err := writePair(filepath.Join(dir, "tsa.key"), filepath.Join(dir, "tsa.crt"), unitKey, unit); err != nil {
				return err
			}
		}
		k = &Keys{Root: root, Cert: unit, Signer: unitKey}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("tsa: keys in %s: %w", dir, err)
	}
	return k, nil
}

// locked runs fn holding dir's lock file, making dir first.
func locked(dir string, fn func() error) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	return fn()
}

func randomSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
	if err != nil {
		return nil, err
	}
	return n.Add(n, big.NewInt(1)), nil
}

func newRoot(now time.Time) (*ecdsa.PrivateKey, *x509.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{Country: []string{"JP"}, Organization: []string{"MYNAPLAT-TEST"},
			CommonName: "Time-Stamp Root CA (test)"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(rootValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return key, cert, err
}

// oidExtKeyUsage and oidTimeStamping: the extended key usage extension and
// id-kp-timeStamping (RFC 5280 §4.2.1.12).
var (
	oidExtKeyUsage  = asn1.ObjectIdentifier{2, 5, 29, 37}
	oidTimeStamping = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 8}
)

func newUnitCert(key *ecdsa.PrivateKey, root *x509.Certificate, rootKey crypto.Signer, now time.Time) (*x509.Certificate, error) {
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	// crypto/x509 writes ExtKeyUsage as a non-critical extension; RFC 3161
	// §2.3 wants it critical, so it is given whole.
	eku, err := asn1.Marshal([]asn1.ObjectIdentifier{oidTimeStamping})
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{Country: []string{"JP"}, Organization: []string{"MYNAPLAT-TEST"},
			CommonName: "Time-Stamping Unit 1 (test)"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(unitValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtraExtensions:       []pkix.Extension{{Id: oidExtKeyUsage, Critical: true, Value: eku}},
		BasicConstraintsValid: true,
	}
	if tmpl.NotAfter.After(root.NotAfter) {
		tmpl.NotAfter = root.NotAfter
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, root, &key.PublicKey, rootKey)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// readPair reads a PKCS #8 ECDSA key and its certificate; the certificate
// is nil when only the key exists.
func readPair(keyPath, certPath string) (*ecdsa.PrivateKey, *x509.Certificate, error) {
	kb, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, nil, err
	}
	kp, _ := pem.Decode(kb)
	if kp == nil {
		return nil, nil, fmt.Errorf("%s is not PEM", keyPath)
	}
	k, err := x509.ParsePKCS8PrivateKey(kp.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", keyPath, err)
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, nil, fmt.Errorf("%s: not an ECDSA key", keyPath)
	}
	cb, err := os.ReadFile(certPath)
	if errors.Is(err, os.ErrNotExist) {
		return ek, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	cp, _ := pem.Decode(cb)
	if cp == nil {
		return nil, nil, fmt.Errorf("%s is not PEM", certPath)
	}
	cert, err := x509.ParseCertificate(cp.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", certPath, err)
	}
	if !ek.PublicKey.Equal(cert.PublicKey) {
		return nil, nil, fmt.Errorf("%s does not belong to %s", keyPath, certPath)
	}
	return ek, cert, nil
}

func writePair(keyPath, certPath string, key *ecdsa.PrivateKey, cert *x509.Certificate) error {
	kd, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := fileutil.WriteAtomic(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}), 0o600); err != nil {
		return err
	}
	return fileutil.WriteAtomic(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o644)
}
