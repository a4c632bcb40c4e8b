package tsa

import (
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/anchors"
	"github.com/mynaplat/mynaplat/internal/keydir"
)

// Validity of the unit certificates LoadOrCreate makes; the root lasts
// keydir.RootValidity.
const (
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
	return LoadOrCreatePublished(dir, "", now)
}

// LoadOrCreatePublished is LoadOrCreate for the TSA role, whose root is
// published at baseURL (anchors.Serve): the unit's certificate carries an
// AIA caIssuers URL to the root there (RFC 5280 §4.2.2.1), and one kept
// without it is issued again. Tools that only read the keys use
// LoadOrCreate, which keeps whatever is current.
func LoadOrCreatePublished(dir, baseURL string, now func() time.Time) (*Keys, error) {
	var aia []string
	if baseURL != "" {
		aia = []string{strings.TrimRight(baseURL, "/") + anchors.DERPath(anchors.TSA)}
	}
	if now == nil {
		now = time.Now
	}
	var k *Keys
	err := keydir.Lock(dir, func() error {
		t := now()
		rootKey, root, err := keydir.Root(filepath.Join(dir, "root.key"), filepath.Join(dir, "root.crt"), keydir.ECDSA,
			func(crypto.PublicKey) *x509.Certificate {
				return keydir.RootTemplate("Time-Stamp Root CA (test)", t)
			})
		if err != nil {
			return err
		}
		unitKey, unit, err := keydir.Leaf(filepath.Join(dir, "tsa.key"), filepath.Join(dir, "tsa.crt"), keydir.ECDSA,
			func(c *x509.Certificate) bool {
				return keydir.Current(c, root, t, renewBefore) && (aia == nil || slices.Equal(c.IssuingCertificateURL, aia))
			},
			func(key crypto.Signer) (*x509.Certificate, error) { return newUnitCert(key, root, rootKey, t, aia) })
		if err != nil {
			return err
		}
		k = &Keys{Root: root, Cert: unit, Signer: unitKey}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("tsa: keys in %s: %w", dir, err)
	}
	return k, nil
}

// oidExtKeyUsage and oidTimeStamping: the extended key usage extension and
// id-kp-timeStamping (RFC 5280 §4.2.1.12).
var (
	oidExtKeyUsage  = asn1.ObjectIdentifier{2, 5, 29, 37}
	oidTimeStamping = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 8}
)

func newUnitCert(key crypto.Signer, root *x509.Certificate, rootKey crypto.Signer, now time.Time, caIssuers []string) (*x509.Certificate, error) {
	// crypto/x509 writes ExtKeyUsage as a non-critical extension; RFC 3161
	// §2.3 wants it critical, so it is given whole.
	eku, err := asn1.Marshal([]asn1.ObjectIdentifier{oidTimeStamping})
	if err != nil {
		return nil, err
	}
	return keydir.Issue(&x509.Certificate{
		Subject: pkix.Name{Country: []string{"JP"}, Organization: []string{"MYNAPLAT-TEST"},
			CommonName: "Time-Stamping Unit 1 (test)"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(unitValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtraExtensions:       []pkix.Extension{{Id: oidExtKeyUsage, Critical: true, Value: eku}},
		BasicConstraintsValid: true,
		IssuingCertificateURL: caIssuers,
	}, root, key.Public(), rootKey)
}
