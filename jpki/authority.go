package jpki

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
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

// authority is one CA with its delegated OCSP responder. Only the signers
// (crypto.Signer) are used; the keys stay in this package.
type authority struct {
	kind            Kind
	cert            *x509.Certificate
	signer          crypto.Signer
	responderCert   *x509.Certificate
	responderSigner crypto.Signer
	// issuer hashes for matching OCSP CertIDs (RFC 6960 §4.1.1), by hash.
	nameHash, keyHash map[crypto.Hash][]byte
}

// caFiles are the files of one CA in <data>/jpki.
func caFiles(dir string, k Kind) (caKey, caCert, ocspKey, ocspCert string) {
	p := func(s string) string { return filepath.Join(dir, string(k)+"-"+s) }
	return p("ca.key"), p("ca.crt"), p("ocsp.key"), p("ocsp.crt")
}

// loadAuthorities reads both CAs from dir, creating them on first start. A
// lock file keeps two processes sharing a data dir from creating two
// different CAs.
func loadAuthorities(dir string, now time.Time) (map[Kind]*authority, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("jpki: create %s: %w", dir, err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("jpki: lock %s: %w", dir, err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return nil, fmt.Errorf("jpki: lock %s: %w", dir, err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)

	out := map[Kind]*authority{}
	for _, k := range Kinds {
		a, err := loadAuthority(dir, k, now)
		if err != nil {
			return nil, err
		}
		out[k] = a
	}
	return out, nil
}

func loadAuthority(dir string, k Kind, now time.Time) (*authority, error) {
	keyPath, certPath, rKeyPath, rCertPath := caFiles(dir, k)
	key, cert, err := readPair(keyPath, certPath)
	if errors.Is(err, os.ErrNotExist) {
		key, cert, err = newCA(k, now)
		if err == nil {
			err = writePair(keyPath, certPath, key, cert)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("jpki: %s CA: %w", k, err)
	}
	rKey, rCert, err := readPair(rKeyPath, rCertPath)
	// A responder certificate is renewed a month before it ends; it is the
	// CA's to sign, so nothing else changes.
	if errors.Is(err, os.ErrNotExist) || (err == nil && now.Add(30*24*time.Hour).After(rCert.NotAfter)) ||
		(err == nil && rCert.CheckSignatureFrom(cert) != nil) {
		rKey, rCert, err = newResponder(k, cert, key, now)
		if err == nil {
			err = writePair(rKeyPath, rCertPath, rKey, rCert)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("jpki: %s OCSP responder: %w", k, err)
	}
	a := &authority{kind: k, cert: cert, signer: key, responderCert: rCert, responderSigner: rKey,
		nameHash: map[crypto.Hash][]byte{}, keyHash: map[crypto.Hash][]byte{}}
	spki, err := subjectPublicKeyBits(cert)
	if err != nil {
		return nil, err
	}
	for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256} {
		a.nameHash[h] = digest(h, cert.RawSubject)
		a.keyHash[h] = digest(h, spki)
	}
	return a, nil
}

func digest(h crypto.Hash, b []byte) []byte {
	switch h {
	case crypto.SHA1:
		s := sha1.Sum(b)
		return s[:]
	default:
		s := sha256.Sum256(b)
		return s[:]
	}
}

func randomSerial() (*big.Int, error) {
	// 63 random bits: positive, never zero in practice, unique enough for the
	// handful of CA and responder certificates.
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
	if err != nil {
		return nil, err
	}
	return n.Add(n, big.NewInt(1)), nil
}

func newCA(k Kind, now time.Time) (*rsa.PrivateKey, *x509.Certificate, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, nil, err
	}
	tmpl := caTemplate(k, &key.PublicKey, serial, now)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return key, cert, err
}

func newResponder(k Kind, ca *x509.Certificate, caKey crypto.Signer, now time.Time) (*rsa.PrivateKey, *x509.Certificate, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, nil, err
	}
	tmpl := responderTemplate(k, &key.PublicKey, serial, now)
	if tmpl.NotAfter.After(ca.NotAfter) {
		tmpl.NotAfter = ca.NotAfter
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return key, cert, err
}

func readPair(keyPath, certPath string) (*rsa.PrivateKey, *x509.Certificate, error) {
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
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, nil, fmt.Errorf("%s: not an RSA key", keyPath)
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

// writePair writes a key (mode 0600) and its certificate, each atomically.
func writePair(keyPath, certPath string, key *rsa.PrivateKey, cert *x509.Certificate) error {
	kd, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := fileutil.WriteAtomic(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}), 0o600); err != nil {
		return err
	}
	return fileutil.WriteAtomic(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o644)
}

// checkAuthorities makes sure the database and the data dir agree on the CAs:
// certificates issued by one CA must never be judged against another's key.
func (c *Centre) checkAuthorities(ctx context.Context) error {
	return c.db.Tx(ctx, func(tx *sql.Tx) error {
		for _, k := range Kinds {
			a := c.ca[k]
			var der []byte
			err := tx.QueryRowContext(ctx, qAuthority, string(k)).Scan(&der)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				if _, err := tx.ExecContext(ctx, qInsertAuthority, string(k), a.cert.Raw); err != nil {
					return fmt.Errorf("jpki: record %s CA: %w", k, err)
				}
			case err != nil:
				return fmt.Errorf("jpki: read %s CA: %w", k, err)
			case !bytes.Equal(der, a.cert.Raw):
				return fmt.Errorf("jpki: the %s CA in the data dir is not the one this database was issued under; use the data dir that belongs to this database", k)
			}
		}
		return nil
	})
}

// subjectPublicKeyBits is the BIT STRING content of the certificate's
// SubjectPublicKeyInfo: what issuerKeyHash hashes (RFC 6960 §4.1.1).
func subjectPublicKeyBits(cert *x509.Certificate) ([]byte, error) {
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(cert.RawSubjectPublicKeyInfo, &spki); err != nil {
		return nil, fmt.Errorf("jpki: parse public key of %s: %w", cert.Subject, err)
	}
	return spki.PublicKey.Bytes, nil
}
