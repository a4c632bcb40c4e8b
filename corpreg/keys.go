package corpreg

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
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
	"path/filepath"
	"syscall"
	"time"

	"github.com/mynaplat/mynaplat/internal/fileutil"
)

// Validity of the certificates this package makes.
const (
	caValidity = 20 * 365 * 24 * time.Hour
	// repMonths is the representative certificate's validity: 27 months, the
	// longest period a 商業登記 electronic certificate can be requested for.
	repMonths = 27
)

// oidOrganizationIdentifier is X.520 organizationIdentifier (2.5.4.97).
var oidOrganizationIdentifier = asn1.ObjectIdentifier{2, 5, 4, 97}

// OrganizationIdentifier is the organizationIdentifier of a corporation's
// representative certificate: "NTRJP-" and the 法人番号 (ETSI EN 319 412-1
// §5.1.4: legal person identified by a national trade register of Japan).
func OrganizationIdentifier(number string) string { return "NTRJP-" + number }

// CertificateNumber returns the 法人番号 of a representative certificate's
// organizationIdentifier, or "" when it has none of the NTRJP form.
func CertificateNumber(cert *x509.Certificate) string {
	for _, atv := range cert.Subject.Names {
		if !atv.Type.Equal(oidOrganizationIdentifier) {
			continue
		}
		if s, ok := atv.Value.(string); ok && len(s) == 19 && s[:6] == "NTRJP-" && ValidNumber(s[6:]) == nil {
			return s[6:]
		}
	}
	return ""
}

// Authority is the registry's CA, kept in a directory:
//
//	ca.key   the root's ECDSA P-256 key, PKCS#8 PEM, mode 0600
//	ca.crt   its self-signed certificate, PEM
//
// made on first use under a lock file, so two processes sharing the
// directory never make two roots. ECDSA rather than RSA: only this platform
// verifies the representative certificates, and no PDF reader needs to.
type Authority struct {
	key  crypto.Signer
	cert *x509.Certificate
}

// OpenAuthority loads the registry CA from dir (mode 0700), creating it on
// first start.
func OpenAuthority(dir string, now func() time.Time) (*Authority, error) {
	if now == nil {
		now = time.Now
	}
	a := &Authority{}
	err := withLock(dir, func() error {
		keyPath, certPath := filepath.Join(dir, "ca.key"), filepath.Join(dir, "ca.crt")
		key, cert, err := readCA(keyPath, certPath)
		if errors.Is(err, os.ErrNotExist) {
			if key, cert, err = newRoot(now()); err == nil {
				err = writeCA(keyPath, certPath, key, cert)
			}
		}
		a.key, a.cert = key, cert
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("corpreg: CA in %s: %w", dir, err)
	}
	return a, nil
}

// Root is the registry CA's certificate.
func (a *Authority) Root() *x509.Certificate { return a.cert }

// withLock runs fn holding dir's lock file.
func withLock(dir string, fn func() error) error {
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
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
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
			CommonName: "Corporate Registry CA (test)"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return key, cert, err
}

// checkRepresentativeKey accepts the keys a JPKI-era signer would hold: RSA
// of 2048 bits or more, or ECDSA on P-256 or P-384.
func checkRepresentativeKey(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() >= 2048 {
			return nil
		}
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() || k.Curve == elliptic.P384() {
			return nil
		}
	}
	return fmt.Errorf("%w: the representative's key must be RSA (2048 bits or more) or ECDSA P-256/P-384", ErrInvalid)
}

// issue certifies a representative's public key.
func (a *Authority) issue(name, corporation, number string, pub crypto.PublicKey, now time.Time) (*x509.Certificate, error) {
	if err := checkRepresentativeKey(pub); err != nil {
		return nil, err
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		// Go writes the Japanese names as UTF8String and the
		// organizationIdentifier, which is ASCII, as PrintableString: both
		// are DirectoryString choices (X.520).
		Subject: pkix.Name{Country: []string{"JP"}, Organization: []string{corporation}, CommonName: name,
			ExtraNames: []pkix.AttributeTypeAndValue{{Type: oidOrganizationIdentifier, Value: OrganizationIdentifier(number)}}},
		// The term starts now; the certificate may not start earlier, or it
		// would look valid for signatures before the appointment.
		NotBefore:             now,
		NotAfter:              now.AddDate(0, repMonths, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		BasicConstraintsValid: true,
	}
	if tmpl.NotAfter.After(a.cert.NotAfter) {
		tmpl.NotAfter = a.cert.NotAfter
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, pub, a.key)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

func readCA(keyPath, certPath string) (*ecdsa.PrivateKey, *x509.Certificate, error) {
	kb, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, nil, err
	}
	cb, err := os.ReadFile(certPath)
	if err != nil {
		return nil, nil, err
	}
	kp, _ := pem.Decode(kb)
	cp, _ := pem.Decode(cb)
	if kp == nil || cp == nil {
		return nil, nil, fmt.Errorf("%s or %s is not PEM", keyPath, certPath)
	}
	k, err := x509.ParsePKCS8PrivateKey(kp.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", keyPath, err)
	}
	cert, err := x509.ParseCertificate(cp.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", certPath, err)
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok || !key.PublicKey.Equal(cert.PublicKey) {
		return nil, nil, fmt.Errorf("%s does not belong to %s", keyPath, certPath)
	}
	return key, cert, nil
}

// writeCA writes the certificate first and the key last: a crash between
// the two leaves no key, so the next start makes a fresh pair rather than
// reading a key without its certificate.
func writeCA(keyPath, certPath string, key *ecdsa.PrivateKey, cert *x509.Certificate) error {
	kd, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := fileutil.WriteAtomic(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o644); err != nil {
		return err
	}
	return fileutil.WriteAtomic(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}), 0o600)
}
