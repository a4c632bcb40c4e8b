package cms

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/digitorus/timestamp"
	"github.com/smallstep/pkcs7"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Signature is what Verify read from a SignedData.
type Signature struct {
	// Content is the enveloped content, or the detached content given.
	Content []byte
	// Signer is the signing certificate.
	Signer *x509.Certificate
	// Certificates are all the certificates in the SignedData, the signer's
	// among them.
	Certificates []*x509.Certificate
	// Timestamp is the signature time-stamp, nil when the signature has none
	// (or when it is not valid: then Verify's error wraps ErrTimestamp).
	Timestamp *Timestamp
}

// Timestamp is a checked signature time-stamp (RFC 3161 §2.4.2 TSTInfo).
type Timestamp struct {
	// Time is the TSA's genTime: the signature existed at this time.
	Time time.Time
	// Accuracy is the TSA's stated accuracy of Time (zero: not stated).
	Accuracy time.Duration
	// Serial is the token's serial number at its TSA.
	Serial *big.Int
	// TSA is the certificate of the time-stamping unit that signed the
	// token; it chains to the TSA roots given to Verify.
	TSA *x509.Certificate
	// Chain is the verified chain from TSA to its root, for a DSS.
	Chain []*x509.Certificate
}

// Verify checks a SignedData with one signer (RFC 5652 §5.6): detached nil
// means the content must be enveloped in der; otherwise der must be detached
// and detached is the content. It checks the content type and message-digest
// attributes, the signing-certificate-v2 attribute when present (RFC 5035),
// the signature value with the signer's certificate and every signature
// time-stamp token (RFC 3161 Appendix A) against tsaRoots. It does NOT check
// the signer's chain or revocation: that is the caller's trust policy.
//
// Whenever der parsed as a SignedData with one signer, the answer is a
// non-nil *Signature with what was read (the signer, when found), also
// together with an error, so that a report can name the signer. Errors wrap
// ErrFormat, ErrNoSigner, ErrHash, ErrSignature or ErrTimestamp.
func Verify(der, detached []byte, tsaRoots *x509.CertPool) (*Signature, error) {
	return verify(der, detached, detached != nil, tsaRoots)
}

// Hash and signature algorithms Verify accepts: SHA-2 only, as the
// pkcs7 library also knows SHA-1, MD5 and DSA.
var (
	digestAlgorithms = []struct {
		oid  asn1.ObjectIdentifier
		hash crypto.Hash
	}{{oidSHA256, crypto.SHA256}, {oidSHA384, crypto.SHA384}, {oidSHA512, crypto.SHA512}}
	signatureAlgorithms = []asn1.ObjectIdentifier{
		oidRSAEncryption,
		{1, 2, 840, 113549, 1, 1, 11}, {1, 2, 840, 113549, 1, 1, 12}, {1, 2, 840, 113549, 1, 1, 13}, // sha*WithRSAEncryption
		oidECDSAWithSHA256, {1, 2, 840, 10045, 4, 3, 3}, {1, 2, 840, 10045, 4, 3, 4}, // ecdsa-with-SHA*
		{1, 2, 840, 10045, 3, 1, 7}, {1, 3, 132, 0, 34}, {1, 3, 132, 0, 35}, // the curves, as some signers write them
	}
)

func hashFor(oid asn1.ObjectIdentifier) crypto.Hash {
	for _, d := range digestAlgorithms {
		if d.oid.Equal(oid) {
			return d.hash
		}
	}
	return 0
}

// rawAttribute is an Attribute (RFC 5652 §5.3): its type and the contents of
// its SET OF values.
type rawAttribute struct {
	typ    asn1.ObjectIdentifier
	values []byte
}

// single returns the one value of the attribute typ: found is false when
// there is no such attribute; an error when it is repeated or has not
// exactly one value (RFC 5652 §11).
func single(attrs []rawAttribute, typ asn1.ObjectIdentifier) (value []byte, found bool, err error) {
	for _, a := range attrs {
		if !a.typ.Equal(typ) {
			continue
		}
		if found {
			return nil, true, fmt.Errorf("%w: attribute %v is repeated", ErrFormat, typ)
		}
		found = true
		s := cryptobyte.String(a.values)
		var v cryptobyte.String
		if !s.ReadAnyASN1Element(&v, new(cbasn1.Tag)) || !s.Empty() {
			return nil, true, fmt.Errorf("%w: attribute %v has not one value", ErrFormat, typ)
		}
		value = v
	}
	return value, found, nil
}

// encapsulated reads the eContentType of a ContentInfo holding a SignedData
// and whether eContent is present. ok is false when der is not DER this walk
// reads (BER, which the pkcs7 parser converts first).
func encapsulated(der []byte) (typ asn1.ObjectIdentifier, present, ok bool) {
	in := cryptobyte.String(der)
	var ci, wrapped, sd, eci cryptobyte.String
	var ctype asn1.ObjectIdentifier
	if !in.ReadASN1(&ci, cbasn1.SEQUENCE) || !ci.ReadASN1ObjectIdentifier(&ctype) ||
		!ci.ReadASN1(&wrapped, tag0) || !wrapped.ReadASN1(&sd, cbasn1.SEQUENCE) ||
		!sd.SkipASN1(cbasn1.INTEGER) || !sd.SkipASN1(cbasn1.SET) ||
		!sd.ReadASN1(&eci, cbasn1.SEQUENCE) || !eci.ReadASN1ObjectIdentifier(&typ) {
		return nil, false, false
	}
	return typ, eci.PeekASN1Tag(tag0), true
}

func verify(der, content []byte, detached bool, tsaRoots *x509.CertPool) (s *Signature, err error) {
	// The parsers are fed whatever a user uploads; a panic in them must be
	// an answer, not a crash.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: the parser failed (panic: %v)", ErrFormat, r)
		}
	}()
	// The parser's BER conversion drops what follows the ContentInfo.
	if in := cryptobyte.String(der); in.ReadAnyASN1Element(new(cryptobyte.String), new(cbasn1.Tag)) && !in.Empty() {
		return nil, fmt.Errorf("%w: %d bytes of trailing data", ErrFormat, len(in))
	}
	p7, err := pkcs7.Parse(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if len(p7.Signers) != 1 {
		return nil, fmt.Errorf("%w: %d signers, want 1", ErrFormat, len(p7.Signers))
	}
	si := p7.Signers[0]
	s = &Signature{Certificates: p7.Certificates, Signer: p7.GetOnlySigner()}

	typ, present, ok := encapsulated(der)
	if !ok { // BER: the parser's content is all there is to go by
		typ, present = oidData, len(p7.Content) > 0
	}
	switch {
	case !typ.Equal(oidData):
		return s, fmt.Errorf("%w: content type %v, want id-data", ErrFormat, typ)
	case detached && present:
		return s, fmt.Errorf("%w: the SignedData envelops its content, but detached content was given", ErrFormat)
	case !detached && !present:
		return s, fmt.Errorf("%w: the SignedData has no content (detached), and none was given", ErrFormat)
	case detached:
		p7.Content = content
	}
	s.Content = p7.Content

	var signed, unsigned []rawAttribute
	for _, a := range si.AuthenticatedAttributes {
		signed = append(signed, rawAttribute{a.Type, a.Value.Bytes})
	}
	for _, a := range si.UnauthenticatedAttributes {
		unsigned = append(unsigned, rawAttribute{a.Type, a.Value.Bytes})
	}
	if len(signed) == 0 {
		return s, fmt.Errorf("%w: no signed attributes", ErrFormat)
	}
	ct, found, err := single(signed, oidAttrContentType)
	if err != nil {
		return s, err
	}
	var ctOID asn1.ObjectIdentifier
	if ctv := cryptobyte.String(ct); !found || !ctv.ReadASN1ObjectIdentifier(&ctOID) || !ctv.Empty() || !ctOID.Equal(typ) {
		return s, fmt.Errorf("%w: the content-type attribute is missing or is not the content's type", ErrFormat)
	}
	md, found, err := single(signed, oidAttrMessageDigest)
	if err != nil {
		return s, err
	}
	var digest []byte
	if mdv := cryptobyte.String(md); !found || !mdv.ReadASN1Bytes(&digest, cbasn1.OCTET_STRING) || !mdv.Empty() {
		return s, fmt.Errorf("%w: no message-digest attribute", ErrFormat)
	}
	h := hashFor(si.DigestAlgorithm.Algorithm)
	if h == 0 {
		return s, fmt.Errorf("%w: digest algorithm %v is not supported", ErrFormat, si.DigestAlgorithm.Algorithm)
	}
	algOK := false
	for _, a := range signatureAlgorithms {
		algOK = algOK || a.Equal(si.DigestEncryptionAlgorithm.Algorithm)
	}
	if !algOK {
		return s, fmt.Errorf("%w: signature algorithm %v is not supported", ErrFormat, si.DigestEncryptionAlgorithm.Algorithm)
	}

	if s.Signer == nil {
		return s, fmt.Errorf("%w: no certificate in the SignedData matches the signer's issuer and serial", ErrNoSigner)
	}
	if err := checkSigningCertificate(signed, s.Signer); err != nil {
		return s, err
	}

	hh := h.New()
	hh.Write(p7.Content)
	if !bytes.Equal(hh.Sum(nil), digest) {
		return s, fmt.Errorf("%w: the %v of the content is not the message-digest attribute", ErrHash, h)
	}
	if err := p7.Verify(); err != nil {
		if _, ok := errors.AsType[*pkcs7.MessageDigestMismatchError](err); ok {
			return s, fmt.Errorf("%w: %v", ErrHash, err)
		}
		return s, fmt.Errorf("%w: %v", ErrSignature, err)
	}

	var tokens [][]byte
	for _, a := range unsigned {
		if !a.typ.Equal(oidAttrTimeStamp) {
			continue
		}
		vs := cryptobyte.String(a.values)
		for !vs.Empty() {
			var tok cryptobyte.String
			if !vs.ReadAnyASN1Element(&tok, new(cbasn1.Tag)) {
				return s, fmt.Errorf("%w: unreadable signature-time-stamp attribute", ErrTimestamp)
			}
			tokens = append(tokens, tok)
		}
	}
	var earliest *Timestamp
	for _, tok := range tokens {
		ts, err := verifyToken(tok, si.EncryptedDigest, tsaRoots)
		if err != nil {
			return s, err
		}
		if earliest == nil || ts.Time.Before(earliest.Time) {
			earliest = ts
		}
	}
	s.Timestamp = earliest
	return s, nil
}

// checkSigningCertificate checks that the signing-certificate-v2 attribute,
// when present, names cert: its first ESSCertIDv2 is the signer's (RFC 5035
// §3, ETSI EN 319 122-1 §5.2.2.3). This keeps a certificate with the same
// key, or the same issuer and serial, from passing for the one signed.
func checkSigningCertificate(signed []rawAttribute, cert *x509.Certificate) error {
	v, found, err := single(signed, oidAttrSigningCertV2)
	if err != nil || !found {
		return err
	}
	s := cryptobyte.String(v)
	var scv2, certs, id cryptobyte.String
	if !s.ReadASN1(&scv2, cbasn1.SEQUENCE) || !scv2.ReadASN1(&certs, cbasn1.SEQUENCE) || !certs.ReadASN1(&id, cbasn1.SEQUENCE) {
		return fmt.Errorf("%w: unreadable signing-certificate-v2 attribute", ErrFormat)
	}
	h := crypto.SHA256
	if id.PeekASN1Tag(cbasn1.SEQUENCE) {
		var alg cryptobyte.String
		var oid asn1.ObjectIdentifier
		if !id.ReadASN1(&alg, cbasn1.SEQUENCE) || !alg.ReadASN1ObjectIdentifier(&oid) {
			return fmt.Errorf("%w: unreadable signing-certificate-v2 hash algorithm", ErrFormat)
		}
		if h = hashFor(oid); h == 0 {
			return fmt.Errorf("%w: signing-certificate-v2 hash algorithm %v is not supported", ErrFormat, oid)
		}
	}
	var certHash []byte
	if !id.ReadASN1Bytes(&certHash, cbasn1.OCTET_STRING) {
		return fmt.Errorf("%w: unreadable signing-certificate-v2 certHash", ErrFormat)
	}
	var sum []byte
	switch h {
	case crypto.SHA256:
		b := sha256.Sum256(cert.Raw)
		sum = b[:]
	case crypto.SHA384:
		b := sha512.Sum384(cert.Raw)
		sum = b[:]
	default:
		b := sha512.Sum512(cert.Raw)
		sum = b[:]
	}
	if !bytes.Equal(sum, certHash) {
		return fmt.Errorf("%w: the signing-certificate-v2 attribute names another certificate", ErrNoSigner)
	}
	return nil
}

// oidExtKeyUsage is the extended key usage extension (RFC 5280 §4.2.1.12).
var oidExtKeyUsage = asn1.ObjectIdentifier{2, 5, 29, 37}

// verifyToken checks one signature time-stamp token over sigValue (RFC 3161
// §2.4.2, Appendix A) and that its TSA chains to roots at genTime.
func verifyToken(tok, sigValue []byte, roots *x509.CertPool) (*Timestamp, error) {
	ts, err := timestamp.Parse(tok)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTimestamp, err)
	}
	var sum []byte
	switch ts.HashAlgorithm {
	case crypto.SHA256, crypto.SHA384, crypto.SHA512:
		hh := ts.HashAlgorithm.New()
		hh.Write(sigValue)
		sum = hh.Sum(nil)
	default:
		return nil, fmt.Errorf("%w: imprint hash algorithm %v is not supported", ErrTimestamp, ts.HashAlgorithm)
	}
	if !bytes.Equal(sum, ts.HashedMessage) {
		return nil, fmt.Errorf("%w: the token is not over this signature value", ErrTimestamp)
	}
	return checkToken(tok, ts, roots)
}

// IsTimestampToken reports whether der is a ContentInfo whose SignedData
// holds a TSTInfo (RFC 3161 §2.4.2), not a signature of content.
func IsTimestampToken(der []byte) bool {
	typ, _, ok := encapsulated(der)
	return ok && typ.Equal(oidTSTInfo)
}

// VerifyTimestampToken checks a time-stamp token on its own (a .tst file):
// its signature, its TSA certificate's profile and its chain to roots at
// genTime. What it time-stamps is not known here, so the imprint is
// returned (its hash and value) for the caller to compare or show. Errors
// wrap ErrTimestamp.
func VerifyTimestampToken(tok []byte, roots *x509.CertPool) (ts *Timestamp, h crypto.Hash, imprint []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			ts, err = nil, fmt.Errorf("%w: the parser failed (panic: %v)", ErrTimestamp, r)
		}
	}()
	if !IsTimestampToken(tok) {
		return nil, 0, nil, fmt.Errorf("%w: not a time-stamp token (no id-ct-TSTInfo)", ErrTimestamp)
	}
	t, err := timestamp.Parse(tok)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("%w: %v", ErrTimestamp, err)
	}
	ts, err = checkToken(tok, t, roots)
	return ts, t.HashAlgorithm, t.HashedMessage, err
}

// checkToken checks a parsed token's signature, its TSA certificate and its
// chain to roots at genTime (RFC 3161 §2.3, §2.4.2).
func checkToken(tok []byte, ts *timestamp.Timestamp, roots *x509.CertPool) (*Timestamp, error) {
	if typ, _, ok := encapsulated(tok); ok && !typ.Equal(oidTSTInfo) {
		return nil, fmt.Errorf("%w: the token's content type is %v, not id-ct-TSTInfo", ErrTimestamp, typ)
	}
	// timestamp.Parse checks the token's signature only when the token
	// carries certificates; the TSA's certificate is needed here anyway.
	tp, err := pkcs7.Parse(tok)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTimestamp, err)
	}
	tsa := tp.GetOnlySigner()
	if tsa == nil {
		return nil, fmt.Errorf("%w: the token does not carry its TSA's certificate", ErrTimestamp)
	}
	if err := tp.Verify(); err != nil {
		return nil, fmt.Errorf("%w: token signature: %v", ErrTimestamp, err)
	}
	// RFC 3161 §2.3: the TSA's certificate has one extended key usage,
	// id-kp-timeStamping, in a critical extension.
	critical := false
	for _, e := range tsa.Extensions {
		critical = critical || (e.Id.Equal(oidExtKeyUsage) && e.Critical)
	}
	if !critical || len(tsa.ExtKeyUsage) != 1 || tsa.ExtKeyUsage[0] != x509.ExtKeyUsageTimeStamping || len(tsa.UnknownExtKeyUsage) != 0 {
		return nil, fmt.Errorf("%w: the TSA certificate %q is not a time-stamping certificate (critical EKU timeStamping only)",
			ErrTimestamp, tsa.Subject.CommonName)
	}
	if roots == nil {
		return nil, fmt.Errorf("%w: no TSA roots to check the token against", ErrTimestamp)
	}
	inter := x509.NewCertPool()
	for _, c := range tp.Certificates {
		inter.AddCert(c)
	}
	chains, err := tsa.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: ts.Time,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}})
	if err != nil {
		return nil, fmt.Errorf("%w: TSA %q: %v", ErrTimestamp, tsa.Subject.CommonName, err)
	}
	return &Timestamp{Time: ts.Time, Accuracy: ts.Accuracy, Serial: ts.SerialNumber, TSA: tsa, Chain: chains[0]}, nil
}
