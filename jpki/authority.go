package jpki

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/asn1"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/mynaplat/mynaplat/internal/keydir"
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

// loadAuthorities reads both CAs from dir, creating them on first start,
// under the directory's lock (keydir.Lock): two processes sharing a data
// dir never create two different CAs.
func loadAuthorities(dir string, now time.Time) (map[Kind]*authority, error) {
	out := map[Kind]*authority{}
	err := keydir.Lock(dir, func() error {
		for _, k := range Kinds {
			a, err := loadAuthority(dir, k, now)
			if err != nil {
				return err
			}
			out[k] = a
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("jpki: %w", err)
	}
	for _, a := range out {
		spki, err := subjectPublicKeyBits(a.cert)
		if err != nil {
			return nil, err
		}
		for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256} {
			a.nameHash[h] = digest(h, a.cert.RawSubject)
			a.keyHash[h] = digest(h, spki)
		}
	}
	return out, nil
}

// loadAuthority reads one CA and its responder, making the CA when its key
// is missing and a new responder (key and certificate) when its certificate
// is missing, not the CA's, or within a month of its end. The responder is
// the CA's to sign, so nothing else changes.
func loadAuthority(dir string, k Kind, now time.Time) (*authority, error) {
	keyPath, certPath, rKeyPath, rCertPath := caFiles(dir, k)
	key, cert, err := keydir.Root(keyPath, certPath, keydir.RSA,
		func(pub crypto.PublicKey) *x509.Certificate { return caTemplate(k, pub.(*rsa.PublicKey), now) })
	if err != nil {
		return nil, fmt.Errorf("%s CA: %w", k, err)
	}
	rKey, rCert, err := keydir.ReadPair(rKeyPath, rCertPath, keydir.RSA)
	if errors.Is(err, os.ErrNotExist) || (err == nil && !keydir.Current(rCert, cert, now, 30*24*time.Hour)) {
		if rKey, err = keydir.NewKey(keydir.RSA); err == nil {
			rCert, err = keydir.Issue(responderTemplate(k, rKey.Public().(*rsa.PublicKey), now), cert, rKey.Public(), key)
		}
		if err == nil {
			err = keydir.WritePair(rKeyPath, rCertPath, rKey, rCert)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s OCSP responder: %w", k, err)
	}
	return &authority{kind: k, cert: cert, signer: key, responderCert: rCert, responderSigner: rKey,
		nameHash: map[crypto.Hash][]byte{}, keyHash: map[crypto.Hash][]byte{}}, nil
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
