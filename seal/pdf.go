package seal

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/mynaplat/mynaplat/cms"
)

// signatureReason is the ASCII /Reason of every seal signature.
const signatureReason = "Certificate issued by the municipality (kofu)"

// SignPDF signs pdf with the municipality's seal key: an invisible
// certification signature (DocMDP: no changes permitted) with SubFilter
// ETSI.CAdES.detached, whose CMS holds cert and chain (cert's issuers, the
// root last). when is the signing time written as the dictionary's /M. The
// /Name and /Location come from cert's OU (ASCII, as Authority writes it).
// The signature itself is cms.SignPDF's.
func SignPDF(in []byte, signer crypto.Signer, cert *x509.Certificate, chain []*x509.Certificate, when time.Time) ([]byte, error) {
	if signer == nil || cert == nil {
		return nil, fmt.Errorf("%w: SignPDF needs a signer and its certificate", ErrInvalid)
	}
	if !publicKeysEqual(signer.Public(), cert.PublicKey) {
		return nil, fmt.Errorf("%w: the signer's key is not the certificate's", ErrInvalid)
	}
	name := "Municipal seal"
	if len(cert.Subject.OrganizationalUnit) > 0 && asciiName.MatchString(cert.Subject.OrganizationalUnit[0]) {
		name = cert.Subject.OrganizationalUnit[0]
	}
	out, err := cms.SignPDF(context.Background(), in, cms.PDFOptions{
		SignOptions: cms.SignOptions{Signer: signer, Cert: cert, Chain: chain},
		Name:        name, Location: "Japan", Reason: signatureReason,
		When: when, Certify: true,
	})
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return out, nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	e, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && e.Equal(b)
}

// PDFReport is what VerifyPDF found.
type PDFReport struct {
	// Signatures are the PDF's signatures in file order.
	Signatures []PDFSignature
}

// PDFSignature is one checked signature.
type PDFSignature struct {
	SubFilter              string
	Name, Location, Reason string
	// SigningTime is the dictionary's /M: the signer's claim, as there is
	// no timestamp.
	SigningTime time.Time
	// Signer is the signing certificate; Chain the verified chain to a root
	// (nil when untrusted).
	Signer *x509.Certificate
	Chain  []*x509.Certificate
	// WholeFile is whether the signature covers the whole file but its own
	// /Contents: nothing was appended after it.
	WholeFile bool
}

// VerifyPDF checks every signature of a PDF with cms.VerifyPDF: the CMS
// signature over the ByteRange (the file has not changed), then that the
// ByteRange covers the whole file (nothing appended since, PDF 32000-1
// §12.8.1), and the signer's chain to roots at the signing time. It returns
// the report with an error wrapping ErrNoSignature, ErrPDFSignature (with
// the cms sentinel of the failure) or ErrUntrusted when any check fails.
func VerifyPDF(file []byte, roots *x509.CertPool) (*PDFReport, error) {
	// Seal signatures carry no time-stamp, so there are no TSA roots: a
	// time-stamp token would not verify.
	sigs, err := cms.VerifyPDF(file, nil)
	if len(sigs) == 0 {
		switch {
		case errors.Is(err, cms.ErrNoSignature) && errors.Is(err, cms.ErrFormat):
			return nil, fmt.Errorf("%w: %w", ErrNoSignature, err)
		case errors.Is(err, cms.ErrNoSignature):
			return &PDFReport{}, ErrNoSignature
		default:
			return nil, fmt.Errorf("%w: %w", ErrPDFSignature, err)
		}
	}
	rep := &PDFReport{}
	var firstErr error
	for _, cs := range sigs {
		s := PDFSignature{
			SubFilter: cs.SubFilter, Name: cs.Name, Location: cs.Location, Reason: cs.Reason,
			SigningTime: cs.SigningTime, Signer: cs.Signer, WholeFile: cs.WholeFile,
		}
		err := checkChain(&s, cs, roots)
		rep.Signatures = append(rep.Signatures, s)
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return rep, firstErr
}

// checkChain turns cms's verdict on one signature into seal's, and checks
// the signer's chain to roots at the signing time (the time-stamp's, or
// else /M).
func checkChain(s *PDFSignature, cs cms.PDFSignature, roots *x509.CertPool) error {
	switch {
	case cs.Err != nil:
		return fmt.Errorf("%w: %w", ErrPDFSignature, cs.Err)
	case cs.Signer == nil:
		return fmt.Errorf("%w: no signer certificate", ErrPDFSignature)
	case !cs.WholeFile:
		return fmt.Errorf("%w: the file was extended after it was signed", ErrPDFSignature)
	}
	at := s.SigningTime
	if cs.Timestamp != nil {
		at = cs.Timestamp.Time
	}
	if at.IsZero() {
		at = time.Now()
	}
	inter := x509.NewCertPool()
	for _, c := range cs.Certificates {
		inter.AddCert(c)
	}
	chains, err := cs.Signer.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: at,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUntrusted, err)
	}
	s.Chain = chains[0]
	return nil
}
