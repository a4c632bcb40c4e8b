package seal

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"github.com/mynaplat/mynaplat/internal/fileutil"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"time"
)

// Validity of the keys this package makes.
const (
	caValidity   = 20 * 365 * 24 * time.Hour
	sealValidity = 5 * 365 * 24 * time.Hour
	// sealRenewBefore: a seal certificate this close to its end is replaced
	// by a new one under the same key directory when next loaded.
	sealRenewBefore = 30 * 24 * time.Hour
)

// municipalityCode is a 全国地方公共団体コード: five digits and a check digit.
var municipalityCode = regexp.MustCompile(`^[0-9]{6}$`)

// asciiName is what may go into a PDF signature dictionary (see SignPDF):
// printable ASCII, which pdfsign escapes correctly.
var asciiName = regexp.MustCompile(`^[ -~]{1,64}$`)

// Municipality names a municipality that holds a seal.
type Municipality struct {
	// Code is the six-digit 全国地方公共団体コード, e.g. "062049" for 酒田市.
	Code string
	// NameJA is the name in Japanese (酒田市), for the certificate subject's CN
	// and the verification page.
	NameJA string
	// NameEN is the name in ASCII (Sakata City): the PDF signature
	// dictionary's /Name and /Location, which must be ASCII (see SignPDF).
	NameEN string
}

func (m Municipality) validate() error {
	if !municipalityCode.MatchString(m.Code) {
		return fmt.Errorf("%w: municipality code %q is not six digits", ErrInvalid, m.Code)
	}
	if m.NameJA == "" || !asciiName.MatchString(m.NameEN) {
		return fmt.Errorf("%w: municipality %s needs a Japanese name and a printable-ASCII English name", ErrInvalid, m.Code)
	}
	return nil
}

// Seal is one municipality's seal: the RSA-2048 key that signs its issued
// PDFs, the certificate for that key from the deployment's seal CA, and the
// Ed25519 key that signs its QR codes. Only crypto.Signer leaves this package.
type Seal struct {
	Municipality Municipality
	// Cert is the seal certificate (the PDF signer's).
	Cert *x509.Certificate
	// Chain is Cert's issuers up to and including the root, for SignPDF.
	Chain []*x509.Certificate
	// Signer holds the seal key.
	Signer crypto.Signer
	// QRSigner holds the Ed25519 key that signs QR payloads (SignQR).
	QRSigner crypto.Signer
}

// Authority is a deployment's municipal seal CA, kept in a directory:
//
//	ca.key, ca.crt                   the root (RSA-2048, self-signed)
//	m-<code>/seal.key, seal.crt      a municipality's seal key and certificate
//	m-<code>/qr.key                  its QR signing key (Ed25519)
//
// Keys are PKCS#8 PEM files of mode 0600 in directories of mode 0700. They
// are made on first use; a lock file keeps two processes sharing the
// directory from making two different ones.
//
// RSA-2048 with SHA-256 is chosen for the PDF signature because it is what
// every PDF reader (poppler's NSS backend among them) validates; Ed25519 for
// the QR because its 64-byte signature keeps the code small.
type Authority struct {
	dir    string
	now    func() time.Time
	caCert *x509.Certificate
	caKey  crypto.Signer

	mu    sync.Mutex
	seals map[string]*Seal
}

// OpenAuthority loads the seal CA from dir, creating it on first start.
func OpenAuthority(dir string, now func() time.Time) (*Authority, error) {
	if now == nil {
		now = time.Now
	}
	a := &Authority{dir: dir, now: now, seals: map[string]*Seal{}}
	err := a.locked(func() error {
		key, cert, err := readPair(filepath.Join(dir, "ca.key"), filepath.Join(dir, "ca.crt"))
		if errors.Is(err, os.ErrNotExist) {
			key, cert, err = newRoot(now())
			if err == nil {
				err = writePair(filepath.Join(dir, "ca.key"), filepath.Join(dir, "ca.crt"), key, cert)
			}
		}
		if err != nil {
			return fmt.Errorf("seal: CA in %s: %w", dir, err)
		}
		a.caCert, a.caKey = cert, key
		return nil
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// locked runs fn holding the directory's lock file.
func (a *Authority) locked(fn func() error) error {
	if err := os.MkdirAll(a.dir, 0o700); err != nil {
		return fmt.Errorf("seal: create %s: %w", a.dir, err)
	}
	lock, err := os.OpenFile(filepath.Join(a.dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("seal: lock %s: %w", a.dir, err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("seal: lock %s: %w", a.dir, err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	return fn()
}

// Root is the seal CA's certificate.
func (a *Authority) Root() *x509.Certificate { return a.caCert }

// Roots is a pool holding only the seal CA, for VerifyPDF.
func (a *Authority) Roots() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(a.caCert)
	return p
}

// Seal returns the municipality's seal, making its keys on first use and
// renewing its certificate (same key) when it is about to end.
func (a *Authority) Seal(m Municipality) (*Seal, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	if s, ok := a.seals[m.Code]; ok && s.Municipality == m && now.Add(sealRenewBefore).Before(s.Cert.NotAfter) {
		return s, nil
	}
	var s *Seal
	err := a.locked(func() error {
		dir := filepath.Join(a.dir, "m-"+m.Code)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		keyPath, certPath := filepath.Join(dir, "seal.key"), filepath.Join(dir, "seal.crt")
		key, cert, err := readPair(keyPath, certPath)
		switch {
		case errors.Is(err, os.ErrNotExist):
			if key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
				return err
			}
			cert = nil
		case err != nil:
			return err
		}
		if cert == nil || cert.Subject.CommonName != subjectCN(m) ||
			!now.Add(sealRenewBefore).Before(cert.NotAfter) || cert.CheckSignatureFrom(a.caCert) != nil {
			if cert, err = a.newSealCert(m, key, now); err != nil {
				return err
			}
			if err := writePair(keyPath, certPath, key, cert); err != nil {
				return err
			}
		}
		qr, err := loadOrMakeQRKey(filepath.Join(dir, "qr.key"))
		if err != nil {
			return err
		}
		s = &Seal{Municipality: m, Cert: cert, Chain: []*x509.Certificate{a.caCert}, Signer: key, QRSigner: qr}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("seal: keys of %s: %w", m.Code, err)
	}
	a.seals[m.Code] = s
	return s, nil
}

// QRPublicKey is the public key that checks the QR codes of a municipality,
// or ErrUnknownMunicipality when it has no seal in this deployment.
func (a *Authority) QRPublicKey(code string) (ed25519.PublicKey, error) {
	if !municipalityCode.MatchString(code) {
		return nil, ErrUnknownMunicipality
	}
	a.mu.Lock()
	s, ok := a.seals[code]
	a.mu.Unlock()
	if ok {
		return s.QRSigner.Public().(ed25519.PublicKey), nil
	}
	k, err := readQRKey(filepath.Join(a.dir, "m-"+code, "qr.key"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrUnknownMunicipality
	}
	if err != nil {
		return nil, fmt.Errorf("seal: QR key of %s: %w", code, err)
	}
	return k.Public().(ed25519.PublicKey), nil
}

func subjectCN(m Municipality) string { return m.NameJA + " 公印 / " + m.NameEN + " seal" }

func randomSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
	if err != nil {
		return nil, err
	}
	return n.Add(n, big.NewInt(1)), nil
}

func newRoot(now time.Time) (*rsa.PrivateKey, *x509.Certificate, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
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
			CommonName: "Municipal Seal CA (test)"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return key, cert, err
}

// oidDocumentSigning is id-kp-documentSigning (RFC 9336).
var oidDocumentSigning = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 36}

func (a *Authority) newSealCert(m Municipality, key *rsa.PrivateKey, now time.Time) (*x509.Certificate, error) {
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		// Go writes the Japanese CN as UTF8String and the rest as
		// PrintableString; nothing of the subject goes into the PDF
		// signature dictionary, which gets NameEN only.
		Subject: pkix.Name{Country: []string{"JP"}, Organization: []string{"MYNAPLAT-TEST"},
			OrganizationalUnit: []string{m.NameEN + " (" + m.Code + ")"}, CommonName: subjectCN(m)},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(sealValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection},
		UnknownExtKeyUsage:    []asn1.ObjectIdentifier{oidDocumentSigning},
		BasicConstraintsValid: true,
	}
	if tmpl.NotAfter.After(a.caCert.NotAfter) {
		tmpl.NotAfter = a.caCert.NotAfter
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.caCert, &key.PublicKey, a.caKey)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

func readPair(keyPath, certPath string) (*rsa.PrivateKey, *x509.Certificate, error) {
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
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, nil, fmt.Errorf("%s: not an RSA key", keyPath)
	}
	cb, err := os.ReadFile(certPath)
	if errors.Is(err, os.ErrNotExist) {
		return rk, nil, nil // the key without a certificate: certify it again
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
	if !rk.PublicKey.Equal(cert.PublicKey) {
		return nil, nil, fmt.Errorf("%s does not belong to %s", keyPath, certPath)
	}
	return rk, cert, nil
}

func writePair(keyPath, certPath string, key crypto.Signer, cert *x509.Certificate) error {
	kd, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := fileutil.WriteAtomic(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}), 0o600); err != nil {
		return err
	}
	return fileutil.WriteAtomic(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o644)
}

func readQRKey(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	p, _ := pem.Decode(b)
	if p == nil {
		return nil, fmt.Errorf("%s is not PEM", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(p.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an Ed25519 key", path)
	}
	return ek, nil
}

func loadOrMakeQRKey(path string) (ed25519.PrivateKey, error) {
	k, err := readQRKey(path)
	if !errors.Is(err, os.ErrNotExist) {
		return k, err
	}
	_, k, err = ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	return k, fileutil.WriteAtomic(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
}
