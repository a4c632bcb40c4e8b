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
// The signature itself is cms.SignPDF's. It is PAdES B-B: SignPDFLongTerm
// makes B-T, B-LT and B-LTA.
func SignPDF(in []byte, signer crypto.Signer, cert *x509.Certificate, chain []*x509.Certificate, when time.Time) ([]byte, error) {
	return SignPDFLongTerm(context.Background(), in, signer, cert, chain, when, LongTerm{})
}

// LongTerm is what makes a seal signature verifiable after the seal
// certificate has expired (ETSI EN 319 142-1 §6).
type LongTerm struct {
	// Stamper time-stamps the signature (B-T); nil leaves it B-B and the
	// rest unused.
	Stamper cms.Stamper
	// TSARoots are the TSA roots the time-stamp is checked against; the
	// verified chain goes into the DSS.
	TSARoots *x509.CertPool
	// CRL is the seal CA's CRL (Authority.CRL), issued at or after the
	// signing time. With it a DSS holds the seal's chain, the CRL and the
	// TSA's chain (B-LT).
	CRL []byte
	// Archive adds a document time-stamp after the DSS (B-LTA), for the
	// PDFs kept for years.
	Archive bool
}

// SignPDFLongTerm is SignPDF with a signature time-stamp, a DSS and a
// document time-stamp as lt says. ctx is for the Stamper.
func SignPDFLongTerm(ctx context.Context, in []byte, signer crypto.Signer, cert *x509.Certificate, chain []*x509.Certificate,
	when time.Time, lt LongTerm) ([]byte, error) {
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
	out, err := cms.SignPDF(ctx, in, cms.PDFOptions{
		SignOptions: cms.SignOptions{Signer: signer, Cert: cert, Chain: chain, Stamper: lt.Stamper},
		Name:        name, Location: "Japan", Reason: signatureReason,
		When: when, Certify: true,
	})
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	if lt.Stamper == nil || lt.CRL == nil {
		return out, nil
	}
	// The token's chain, as the time-stamp's check finds it.
	sigs, err := cms.VerifyPDF(out, lt.TSARoots)
	if err != nil {
		return nil, fmt.Errorf("seal: the new signature: %w", err)
	}
	ts := sigs[len(sigs)-1].Timestamp
	vd := cms.ValidationData{Certs: append([]*x509.Certificate{cert}, chain...), CRLs: [][]byte{lt.CRL}}
	vd.Certs = append(vd.Certs, ts.Chain...)
	if out, err = cms.AddDSS(out, vd); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	if lt.Archive {
		if out, err = cms.AddDocTimeStamp(ctx, out, lt.Stamper); err != nil {
			return nil, fmt.Errorf("seal: %w", err)
		}
	}
	return out, nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	e, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && e.Equal(b)
}

// PDFReport is what VerifyPDF found.
type PDFReport struct {
	// Signatures are the PDF's signatures in file order, without its
	// document time-stamps.
	Signatures []PDFSignature
	// DocTimestamps are the times of its valid document time-stamps.
	DocTimestamps []time.Time
	// Level is the PAdES baseline level of the last signature (ETSI EN 319
	// 142-1 §6): B-B, B-T, B-LT (a DSS with the seal CA's CRL after the
	// signing time) or B-LTA (and a document time-stamp).
	Level string
}

// PDFSignature is one checked signature.
type PDFSignature struct {
	SubFilter              string
	Name, Location, Reason string
	// SigningTime is the dictionary's /M: the signer's claim.
	SigningTime time.Time
	// Timestamp is the signature time-stamp's time, zero without one.
	Timestamp time.Time
	// Signer is the signing certificate; Chain the verified chain to a root
	// (nil when untrusted).
	Signer *x509.Certificate
	Chain  []*x509.Certificate
	// WholeFile is whether the signature covers the whole file but its own
	// /Contents: nothing was appended after it.
	WholeFile bool
	// Certification is the DocMDP permission of a certification signature.
	Certification int
	// Revocation is what the DSS's CRL says of Signer ("" without one: the
	// seal CA has no online status service).
	Revocation string
}

// VerifyPDF checks every signature of a PDF with cms.VerifyPDF: the CMS
// signature over the ByteRange (the file has not changed), then that
// nothing but validation data and document time-stamps was appended since
// (PDF 32000-1 §12.8.1; ETSI EN 319 142-1 §5.4), the signer's chain to roots
// at the signing time (the time-stamp's, or else /M) and, when the DSS has
// a CRL of the signer's CA issued after that time, that the seal is not on
// it. Time-stamps are checked against tsaRoots (nil: any time-stamp fails).
// It returns the report with an error wrapping ErrNoSignature,
// ErrPDFSignature (with the cms sentinel of the failure), ErrUntrusted or
// ErrRevoked when any check fails.
func VerifyPDF(file []byte, roots, tsaRoots *x509.CertPool) (*PDFReport, error) {
	sigs, err := cms.VerifyPDF(file, tsaRoots)
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
	fail := func(err error) {
		if firstErr == nil {
			firstErr = err
		}
	}
	dss, err := cms.DSS(file)
	if err != nil {
		fail(fmt.Errorf("%w: %w", ErrPDFSignature, err))
	}
	for _, cs := range sigs {
		if cs.DocTimeStamp {
			if cs.Err != nil {
				fail(fmt.Errorf("%w: document time-stamp: %w", ErrPDFSignature, cs.Err))
				continue
			}
			rep.DocTimestamps = append(rep.DocTimestamps, cs.Timestamp.Time)
			continue
		}
		s := PDFSignature{
			SubFilter: cs.SubFilter, Name: cs.Name, Location: cs.Location, Reason: cs.Reason,
			SigningTime: cs.SigningTime, Signer: cs.Signer, WholeFile: cs.WholeFile, Certification: cs.Certification,
		}
		if cs.Timestamp != nil {
			s.Timestamp = cs.Timestamp.Time
		}
		rep.Level = "B-B"
		if cs.Timestamp != nil {
			rep.Level = "B-T"
		}
		err := checkChain(&s, cs, roots)
		if err == nil && cs.Timestamp != nil {
			var lt bool
			lt, err = checkCRL(&s, dss.CRLs)
			if lt {
				rep.Level = "B-LT"
			}
		}
		rep.Signatures = append(rep.Signatures, s)
		if err != nil {
			fail(err)
		}
	}
	if rep.Level == "B-LT" && len(rep.DocTimestamps) > 0 {
		rep.Level = "B-LTA"
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
	case !cs.OnlyLTVAfter:
		return fmt.Errorf("%w: the file was extended after it was signed", ErrPDFSignature)
	}
	at := signingTime(*s)
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

// signingTime is the time-stamp's time, or else the claimed /M.
func signingTime(s PDFSignature) time.Time {
	if !s.Timestamp.IsZero() {
		return s.Timestamp
	}
	return s.SigningTime
}

// checkCRL reads the signer's status from a CRL in the DSS signed by its
// issuer and issued at or after the time-stamp (ETSI EN 319 102-1
// §5.6.2.4): whether one was found, and ErrRevoked when it lists the seal
// as revoked before the time-stamp.
func checkCRL(s *PDFSignature, crls [][]byte) (bool, error) {
	if len(s.Chain) < 2 {
		return false, nil
	}
	issuer := s.Chain[1]
	for _, der := range crls {
		rl, err := x509.ParseRevocationList(der)
		if err != nil || rl.CheckSignatureFrom(issuer) != nil || rl.ThisUpdate.Before(s.Timestamp.Truncate(time.Second)) {
			continue
		}
		for _, e := range rl.RevokedCertificateEntries {
			if e.SerialNumber.Cmp(s.Signer.SerialNumber) == 0 {
				s.Revocation = fmt.Sprintf("revoked %s (CRL %v of %s)", e.RevocationTime.UTC().Format(time.RFC3339), rl.Number, rl.ThisUpdate.UTC().Format(time.RFC3339))
				if !e.RevocationTime.After(s.Timestamp) {
					return true, ErrRevoked
				}
				return true, nil
			}
		}
		s.Revocation = fmt.Sprintf("good (CRL %v of %s in the document)", rl.Number, rl.ThisUpdate.UTC().Format(time.RFC3339))
		return true, nil
	}
	return false, nil
}
