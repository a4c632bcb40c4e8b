package jpki

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"strconv"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/mynaplat/mynaplat/wareki"
)

// Verifying signatures made with the 署名用電子証明書: what a 署名検証者
// (a relying party that checks signed applications and consents) does with
// a signing certificate, and reading the holder's four attributes from it.

// Errors of signing-certificate checks.
var (
	ErrUntrustedCert     = errors.New("jpki: the signing certificate is not from the JPKI signing CA")
	ErrCertExpired       = errors.New("jpki: the signing certificate is outside its validity")
	ErrCertRevoked       = errors.New("jpki: the signing certificate is revoked")
	ErrRevocationUnknown = errors.New("jpki: the signing certificate's status could not be confirmed")
)

// SigningVerifier checks signing certificates against the 署名用 CA, asking
// the centre's OCSP responder about revocation, or the CA's CRL when a
// check asks for it (ByCRL).
type SigningVerifier struct {
	CA *x509.Certificate
	// OCSP sends a DER OCSP request and returns the DER response:
	// (*Client).OCSP, or in one process a wrapper of the centre.
	OCSP func(ctx context.Context, request []byte) ([]byte, error)
	// MaxAge bounds the age of an OCSP answer (10 minutes when zero).
	MaxAge time.Duration
	// CRL, when set, is the cache of the CA's CRL for checks ByCRL (the
	// OpenID Connect provider's acr_values=crl): a CRLCache of CA with
	// Client.CRLFetcher(Sign). Without it such a check is
	// ErrRevocationUnknown.
	CRL *CRLCache
}

// RevocationSource is where a check asks whether a certificate is revoked.
type RevocationSource int

// The sources.
const (
	// ByOCSP asks the centre's OCSP responder (RFC 6960).
	ByOCSP RevocationSource = iota
	// ByCRL reads the CA's CRL (RFC 5280 §5), fetched from the centre.
	ByCRL
)

func (s RevocationSource) String() string {
	if s == ByCRL {
		return "CRL"
	}
	return "OCSP"
}

// Check checks a signing certificate at time now: issued by the CA, for
// signatures, within its validity, and not revoked per a fresh OCSP answer
// of the centre (RFC 6960).
func (v *SigningVerifier) Check(ctx context.Context, cert *x509.Certificate, now time.Time) error {
	return v.CheckBy(ctx, cert, now, ByOCSP)
}

// CheckBy is Check asking source about revocation. Whatever the source,
// no fresh answer is ErrRevocationUnknown.
func (v *SigningVerifier) CheckBy(ctx context.Context, cert *x509.Certificate, now time.Time, source RevocationSource) error {
	if err := v.Issued(cert); err != nil {
		return err
	}
	if now.Before(cert.NotBefore) || now.After(cert.NotAfter) || now.After(v.CA.NotAfter) {
		return fmt.Errorf("%w: valid %s to %s", ErrCertExpired, cert.NotBefore.Format(time.DateOnly), cert.NotAfter.Format(time.DateOnly))
	}
	st, err := v.RevocationBy(ctx, cert, now, source)
	if err != nil {
		return err
	}
	if st.Revoked {
		return fmt.Errorf("%w: %s since %s", ErrCertRevoked, st.Reason, st.RevokedAt.Format(time.RFC3339))
	}
	return nil
}

// Issued checks that cert is a signing certificate of the CA.
func (v *SigningVerifier) Issued(cert *x509.Certificate) error {
	ca := v.CA
	// The JPKI profile marks certificatePolicies critical, which
	// x509.Verify refuses; the chain is one level, so check it directly.
	if !bytes.Equal(cert.RawIssuer, ca.RawSubject) || cert.CheckSignatureFrom(ca) != nil {
		return ErrUntrustedCert
	}
	if cert.KeyUsage&(x509.KeyUsageContentCommitment|x509.KeyUsageDigitalSignature) == 0 {
		return fmt.Errorf("%w: not a signing certificate", ErrUntrustedCert)
	}
	return nil
}

// RevocationStatus is what a fresh OCSP answer or CRL said about a
// certificate.
type RevocationStatus struct {
	Revoked   bool
	RevokedAt time.Time
	Reason    Reason
	// ThisUpdate is when the responder knew the status to be correct, or
	// when the centre last confirmed the CRL to be its newest.
	ThisUpdate time.Time
	// Source names the answer for reports: "OCSP (…)" or "CRL #n (…)".
	Source string
	// Archived marks an answer kept with the signature (ArchivedRevocation)
	// rather than asked for.
	Archived bool
}

// RevocationBy asks source about cert (issued by the CA): Revocation for
// ByOCSP, the CRL cache for ByCRL.
func (v *SigningVerifier) RevocationBy(ctx context.Context, cert *x509.Certificate, now time.Time, source RevocationSource) (RevocationStatus, error) {
	if source != ByCRL {
		return v.Revocation(ctx, cert, now)
	}
	if v.CRL == nil {
		return RevocationStatus{}, fmt.Errorf("%w: no CRL of the signing CA is kept here", ErrRevocationUnknown)
	}
	return v.CRL.Revocation(ctx, cert, now)
}

// Revocation asks the centre's responder about cert (issued by the CA) and
// accepts only an answer at most MaxAge old at now: otherwise, or when the
// responder cannot be reached or does not know the certificate, the error
// wraps ErrRevocationUnknown. A revoked status is an answer, not an error:
// a signature time-stamped before RevokedAt stays valid.
//
// It first asks without a nonce, which the responder may answer with a
// response it signed earlier and keeps for a quarter of its validity
// (Respond); when that is older than MaxAge it asks again with a nonce
// (RFC 8954), which the responder answers freshly, and wants the nonce
// echoed.
func (v *SigningVerifier) Revocation(ctx context.Context, cert *x509.Certificate, now time.Time) (RevocationStatus, error) {
	maxAge := v.maxAge()
	resp, _, err := v.ask(ctx, cert, nil)
	if err == nil && now.Sub(resp.ThisUpdate) > maxAge {
		nonce := make([]byte, 16)
		rand.Read(nonce)
		resp, _, err = v.ask(ctx, cert, nonce)
	}
	if err != nil {
		return RevocationStatus{}, fmt.Errorf("%w: %w", ErrRevocationUnknown, err)
	}
	if now.Sub(resp.ThisUpdate) > maxAge || (!resp.NextUpdate.IsZero() && now.After(resp.NextUpdate)) {
		return RevocationStatus{}, fmt.Errorf("%w: stale OCSP answer of %s", ErrRevocationUnknown, resp.ThisUpdate.Format(time.RFC3339))
	}
	return status(resp, "OCSP ("+resp.ProducedAt.UTC().Format(time.RFC3339)+")")
}

// status is what an OCSP answer says about its certificate.
func status(resp *ocsp.Response, src string) (RevocationStatus, error) {
	switch resp.Status {
	case ocsp.Good:
		return RevocationStatus{ThisUpdate: resp.ThisUpdate, Source: src}, nil
	case ocsp.Revoked:
		return RevocationStatus{Revoked: true, RevokedAt: resp.RevokedAt, Reason: Reason(resp.RevocationReason), ThisUpdate: resp.ThisUpdate, Source: src}, nil
	}
	return RevocationStatus{}, fmt.Errorf("%w: the responder does not know the certificate", ErrRevocationUnknown)
}

func (v *SigningVerifier) maxAge() time.Duration {
	if v.MaxAge <= 0 {
		return 10 * time.Minute
	}
	return v.MaxAge
}

// OCSPResponse is a DER answer of the responder about cert produced at or
// after poe (to the second), to keep with a signature time-stamped at poe
// as its validation data (a PAdES DSS, ETSI EN 319 142-1 §5.4.2): the
// answer ArchivedRevocation accepts later. A kept answer older than poe is
// not enough, so it asks again with a nonce, which the responder answers
// freshly. Errors wrap ErrRevocationUnknown.
func (v *SigningVerifier) OCSPResponse(ctx context.Context, cert *x509.Certificate, poe time.Time) ([]byte, error) {
	if err := v.Issued(cert); err != nil {
		return nil, err
	}
	resp, der, err := v.ask(ctx, cert, nil)
	if err == nil && resp.ProducedAt.Before(poe.Truncate(time.Second)) {
		nonce := make([]byte, 16)
		rand.Read(nonce)
		resp, der, err = v.ask(ctx, cert, nonce)
	}
	if err == nil && resp.ProducedAt.Before(poe.Truncate(time.Second)) {
		err = fmt.Errorf("the responder's answer of %s predates %s", resp.ProducedAt.Format(time.RFC3339), poe.Format(time.RFC3339))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRevocationUnknown, err)
	}
	return der, nil
}

// ArchivedRevocation reads cert's status from OCSP answers kept with a
// signature (a PAdES DSS) instead of asking the responder: the first
// answer about cert, signed for the CA, that was produced at or after poe,
// the time the signature is proven to have existed (its time-stamp). An
// answer after the proof of existence is what ETSI EN 319 102-1 §5.6.2.4
// asks of revocation data for a signature in the past; its age at the
// validation time does not matter. None is ErrRevocationUnknown.
func (v *SigningVerifier) ArchivedRevocation(cert *x509.Certificate, answers [][]byte, poe time.Time) (RevocationStatus, error) {
	for _, der := range answers {
		resp, err := ocsp.ParseResponseForCert(der, cert, v.CA)
		if err != nil || resp.ProducedAt.Before(poe.Truncate(time.Second)) {
			continue
		}
		st, err := status(resp, "OCSP in the document ("+resp.ProducedAt.UTC().Format(time.RFC3339)+")")
		st.Archived = true
		return st, err
	}
	return RevocationStatus{}, fmt.Errorf("%w: no OCSP answer in the document produced after %s", ErrRevocationUnknown, poe.UTC().Format(time.RFC3339))
}

// ask sends one OCSP request about cert, with the nonce unless it is nil,
// and checks the response's signature and, with a nonce, its echo.
func (v *SigningVerifier) ask(ctx context.Context, cert *x509.Certificate, nonce []byte) (*ocsp.Response, []byte, error) {
	req, err := ocsp.CreateRequest(cert, v.CA, &ocsp.RequestOptions{Hash: crypto.SHA256})
	if err != nil {
		return nil, nil, err
	}
	var value []byte
	if nonce != nil {
		// x/crypto/ocsp writes no extensions: add the nonce to its request.
		var r ocspRequest
		if _, err := asn1.Unmarshal(req, &r); err != nil {
			return nil, nil, err
		}
		if value, err = asn1.Marshal(nonce); err != nil {
			return nil, nil, err
		}
		r.TBS.Extensions = []pkix.Extension{{Id: oidOCSPNonce, Value: value}}
		if req, err = asn1.Marshal(r); err != nil {
			return nil, nil, err
		}
	}
	der, err := v.OCSP(ctx, req)
	if err != nil {
		return nil, nil, err
	}
	// ParseResponseForCert checks the delegated responder's certificate
	// against the CA and the response's signature.
	resp, err := ocsp.ParseResponseForCert(der, cert, v.CA)
	if err != nil {
		return nil, nil, err
	}
	if nonce != nil && !bytes.Equal(echoedNonce(der), value) {
		return nil, nil, errors.New("the OCSP response does not echo the request's nonce")
	}
	return resp, der, nil
}

// echoedNonce is the value of the nonce extension in a response's
// responseExtensions (RFC 6960 §4.4.1), which x/crypto/ocsp does not
// expose; nil when there is none.
func echoedNonce(der []byte) []byte {
	var resp ocspResponse
	if _, err := asn1.Unmarshal(der, &resp); err != nil {
		return nil
	}
	var basic struct{ TBS asn1.RawValue } // the rest was checked by ParseResponseForCert
	if _, err := asn1.Unmarshal(resp.Response.Response, &basic); err != nil {
		return nil
	}
	var rd responseData
	if _, err := asn1.Unmarshal(basic.TBS.FullBytes, &rd); err != nil {
		return nil
	}
	for _, e := range rd.Extensions {
		if e.Id.Equal(oidOCSPNonce) {
			return e.Value
		}
	}
	return nil
}

// SigningHolder reads the holder's attributes from a signing certificate's
// subjectAltName: otherName entries [0] { type-id, [0] EXPLICIT UTF8String }
// for name (…5.5.1), gender (…5.5.3), birth date (…5.5.4, EYYYYMMDD) and
// address (…5.5.5).
func SigningHolder(cert *x509.Certificate) (*Holder, error) {
	var raw []byte
	for _, e := range cert.Extensions {
		if e.Id.Equal(oidExtSAN) {
			raw = e.Value
		}
	}
	if raw == nil {
		return nil, errors.New("no subjectAltName: not a signing certificate")
	}
	var names []asn1.RawValue
	if rest, err := asn1.Unmarshal(raw, &names); err != nil || len(rest) > 0 {
		return nil, fmt.Errorf("subjectAltName: malformed")
	}
	vals := map[string]string{}
	for _, n := range names {
		if n.Class != asn1.ClassContextSpecific || n.Tag != 0 {
			continue // not an otherName
		}
		var oid asn1.ObjectIdentifier
		rest, err := asn1.Unmarshal(n.Bytes, &oid)
		if err != nil {
			return nil, fmt.Errorf("otherName: %w", err)
		}
		var explicit asn1.RawValue
		if _, err := asn1.Unmarshal(rest, &explicit); err != nil || explicit.Tag != 0 || explicit.Class != asn1.ClassContextSpecific {
			return nil, fmt.Errorf("otherName %s: malformed value", oid)
		}
		var str asn1.RawValue
		if _, err := asn1.Unmarshal(explicit.Bytes, &str); err != nil {
			return nil, fmt.Errorf("otherName %s: %w", oid, err)
		}
		vals[oid.String()] = string(str.Bytes)
	}
	h := &Holder{Name: vals[oidJPKIName.String()], Address: vals[oidJPKIAddress.String()]}
	sex, err := strconv.Atoi(vals[oidJPKIGender.String()])
	if err != nil {
		return nil, fmt.Errorf("gender %q", vals[oidJPKIGender.String()])
	}
	h.Sex = Sex(sex)
	birth := vals[oidJPKIBirth.String()]
	if len(birth) != 9 {
		return nil, fmt.Errorf("dateOfBirth %q: want EYYYYMMDD", birth)
	}
	if h.BirthDate, err = time.ParseInLocation("20060102", birth[1:], wareki.JST()); err != nil {
		return nil, fmt.Errorf("dateOfBirth %q: %w", birth, err)
	}
	if h.Name == "" || h.Address == "" {
		return nil, errors.New("the name or address otherName is missing")
	}
	return h, nil
}
