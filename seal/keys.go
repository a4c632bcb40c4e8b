package seal

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mynaplat/mynaplat/anchors"
	"github.com/mynaplat/mynaplat/internal/keydir"
)

// Validity of the seal certificates; the root lasts keydir.RootValidity.
const (
	sealValidity = 5 * 365 * 24 * time.Hour
	// sealRenewBefore: a seal certificate this close to its end is replaced
	// by a new one under the same key directory when next loaded.
	sealRenewBefore = 30 * 24 * time.Hour
)

// municipalityCode is a 全国地方公共団体コード: five digits and a check digit.
var municipalityCode = regexp.MustCompile(`^[0-9]{6}$`)

// asciiName is what may go into a PDF signature dictionary (see SignPDF):
// printable ASCII, as cms.SignPDF takes it.
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
	// base is the URL of the role that publishes the CA (anchors.Serve)
	// and its CRL (ServeCRL); "" writes no AIA and no CRL DP.
	base string

	mu    sync.Mutex
	seals map[string]*Seal
}

// OpenAuthority loads the seal CA from dir, creating it on first start.
func OpenAuthority(dir string, now func() time.Time) (*Authority, error) {
	if now == nil {
		now = time.Now
	}
	a := &Authority{dir: dir, now: now, seals: map[string]*Seal{}}
	err := keydir.Lock(dir, func() (err error) {
		a.caKey, a.caCert, err = keydir.Root(filepath.Join(dir, "ca.key"), filepath.Join(dir, "ca.crt"), keydir.RSA,
			func(crypto.PublicKey) *x509.Certificate {
				return keydir.RootTemplate("Municipal Seal CA (test)", now())
			})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("seal: CA in %s: %w", dir, err)
	}
	return a, nil
}

// CRLPath is where the seal CA's CRL is published, beside its certificate
// at anchors.DERPath(anchors.Seal).
const CRLPath = anchors.Prefix + "seal.crl"

// WithBaseURL names the URL the seal CA is published at. Seal certificates
// issued after it carry an Authority Information Access caIssuers URL to
// the CA's certificate there and a CRL distribution point to CRLPath
// (RFC 5280 §4.2.2.1, §4.2.1.13), so that a verifier holding only a seal
// certificate finds its issuer and status. Call it before the first Seal;
// a seal certificate without these is then issued anew.
func (a *Authority) WithBaseURL(u string) *Authority {
	a.base = strings.TrimRight(u, "/")
	return a
}

// caIssuers and crlDP are the URLs seal certificates carry; nil without a
// base URL.
func (a *Authority) caIssuers() []string {
	if a.base == "" {
		return nil
	}
	return []string{a.base + anchors.DERPath(anchors.Seal)}
}

func (a *Authority) crlDP() []string {
	if a.base == "" {
		return nil
	}
	return []string{a.base + CRLPath}
}

// ServeCRL serves a fresh CRL of the seal CA at CRLPath, DER, as
// application/pkix-crl (RFC 2585 §4.2).
func (a *Authority) ServeCRL(mux *http.ServeMux) {
	mux.HandleFunc("GET "+CRLPath, func(w http.ResponseWriter, r *http.Request) {
		der, err := a.CRL()
		if err != nil {
			http.Error(w, "CRL を発行できません / the CRL cannot be issued", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/pkix-crl")
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Write(der)
	})
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
	err := keydir.Lock(a.dir, func() error {
		dir := filepath.Join(a.dir, "m-"+m.Code)
		key, cert, err := keydir.Leaf(filepath.Join(dir, "seal.key"), filepath.Join(dir, "seal.crt"), keydir.RSA,
			func(c *x509.Certificate) bool {
				return c.Subject.CommonName == subjectCN(m) && keydir.Current(c, a.caCert, now, sealRenewBefore) &&
					(a.base == "" || slices.Equal(c.IssuingCertificateURL, a.caIssuers()) && slices.Equal(c.CRLDistributionPoints, a.crlDP()))
			},
			func(key crypto.Signer) (*x509.Certificate, error) { return a.newSealCert(m, key, now) })
		if err != nil {
			return err
		}
		qr, err := keydir.LoadOrMakeKey(filepath.Join(dir, "qr.key"), keydir.Ed25519)
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
	k, err := keydir.ReadKey(filepath.Join(a.dir, "m-"+code, "qr.key"), keydir.Ed25519)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrUnknownMunicipality
	}
	if err != nil {
		return nil, fmt.Errorf("seal: QR key of %s: %w", code, err)
	}
	return k.Public().(ed25519.PublicKey), nil
}

func subjectCN(m Municipality) string { return m.NameJA + " 公印 / " + m.NameEN + " seal" }

// oidDocumentSigning is id-kp-documentSigning (RFC 9336).
var oidDocumentSigning = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 36}

func (a *Authority) newSealCert(m Municipality, key crypto.Signer, now time.Time) (*x509.Certificate, error) {
	return keydir.Issue(&x509.Certificate{
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
		IssuingCertificateURL: a.caIssuers(),
		CRLDistributionPoints: a.crlDP(),
	}, a.caCert, key.Public(), a.caKey)
}

// crlValidity is how long a seal CA CRL is current.
const crlValidity = 7 * 24 * time.Hour

// CRL is a CRL of the seal CA (RFC 5280 §5) issued now, for the DSS of the
// PDFs the seals sign (PAdES B-LT): the seal CA has no OCSP responder, and
// this CRL is how a verifier sees, from the PDF alone, that the seal was
// not revoked after the signature. It lists nothing: this deployment
// renews seals and never revokes one. Its number is its thisUpdate in Unix
// seconds, which grows as CRLs are issued.
func (a *Authority) CRL() ([]byte, error) {
	this := a.now().UTC().Truncate(time.Second)
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number:     big.NewInt(this.Unix()),
		ThisUpdate: this,
		NextUpdate: this.Add(crlValidity),
	}, a.caCert, a.caKey)
	if err != nil {
		return nil, fmt.Errorf("seal: CRL: %w", err)
	}
	return der, nil
}
