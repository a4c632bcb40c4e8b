package corpreg

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/anchors"
	"github.com/mynaplat/mynaplat/internal/keydir"
)

// repMonths is the representative certificate's validity: 27 months, the
// longest period a 商業登記 electronic certificate can be requested for. The
// root lasts keydir.RootValidity.
const repMonths = 27

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
	// caIssuers is the AIA caIssuers URL of the representative
	// certificates (WithBaseURL); nil writes none.
	caIssuers []string
}

// WithBaseURL names the URL the registry's CA is published at
// (anchors.Serve in the corpreg role): representative certificates issued
// after it carry an AIA caIssuers URL to it (RFC 5280 §4.2.2.1).
func (a *Authority) WithBaseURL(u string) *Authority {
	a.caIssuers = nil
	if u != "" {
		a.caIssuers = []string{strings.TrimRight(u, "/") + anchors.DERPath(anchors.CorpReg)}
	}
	return a
}

// OpenAuthority loads the registry CA from dir (mode 0700), creating it on
// first start.
func OpenAuthority(dir string, now func() time.Time) (*Authority, error) {
	if now == nil {
		now = time.Now
	}
	a := &Authority{}
	err := keydir.Lock(dir, func() (err error) {
		a.key, a.cert, err = keydir.Root(filepath.Join(dir, "ca.key"), filepath.Join(dir, "ca.crt"), keydir.ECDSA,
			func(crypto.PublicKey) *x509.Certificate {
				return keydir.RootTemplate("Corporate Registry CA (test)", now())
			})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("corpreg: CA in %s: %w", dir, err)
	}
	return a, nil
}

// Root is the registry CA's certificate.
func (a *Authority) Root() *x509.Certificate { return a.cert }

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
	tmpl := &x509.Certificate{
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
		IssuingCertificateURL: a.caIssuers,
	}
	return keydir.Issue(tmpl, a.cert, pub, a.key)
}
