package cms

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"slices"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Stamper obtains an RFC 3161 time-stamp token (the DER ContentInfo of
// §2.4.2) over a digest made with h. tsa.Authority (in process) and
// tsa.Client (over HTTP) are Stampers.
type Stamper interface {
	Stamp(ctx context.Context, h crypto.Hash, digest []byte) ([]byte, error)
}

// SignOptions says who signs and how.
type SignOptions struct {
	// Signer holds the signing key: RSA (signing PKCS #1 v1.5) or ECDSA.
	// It may be opaque, such as a card's key: only Public and Sign are used.
	Signer crypto.Signer
	// Cert is the certificate of Signer's key.
	Cert *x509.Certificate
	// Chain is Cert's issuers, the root last; it may be empty.
	Chain []*x509.Certificate
	// Detached leaves the content out of the SignedData (no eContent);
	// otherwise the SignedData envelops it.
	Detached bool
	// Stamper, when not nil, time-stamps the signature value: the token over
	// SHA-256 of the signature value goes into the unsigned attribute
	// id-aa-signatureTimeStampToken (RFC 3161 Appendix A).
	Stamper Stamper
}

// Object identifiers (RFC 5652, RFC 5035, RFC 3161, RFC 5754, RFC 8017,
// RFC 5758).
var (
	oidData              = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSignedData        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidTSTInfo           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}
	oidAttrContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidAttrMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidAttrSigningCertV2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
	oidAttrTimeStamp     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 14}
	oidSHA256            = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384            = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512            = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
	oidRSAEncryption     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidECDSAWithSHA256   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
)

var (
	tag0  = cbasn1.Tag(0).ContextSpecific().Constructed()
	tag1  = cbasn1.Tag(1).ContextSpecific().Constructed()
	tagGN = cbasn1.Tag(4).ContextSpecific().Constructed() // GeneralName directoryName
)

// Sign makes a SignedData with one signer over content (RFC 5652 §5),
// enveloping or detached, with the signed attributes content-type (id-data),
// message-digest (SHA-256) and signing-certificate-v2 (RFC 5035 §3), and no
// signing-time. Its certificates are o.Cert and o.Chain. With o.Stamper the
// signature value is time-stamped (CAdES B-T); ctx is for the Stamper.
func Sign(ctx context.Context, content []byte, o SignOptions) ([]byte, error) {
	return signedData(ctx, content, o, true)
}

// signedData is Sign; withCerts false leaves out the certificates (a test's
// SignedData without its signer's certificate).
func signedData(ctx context.Context, content []byte, o SignOptions, withCerts bool) ([]byte, error) {
	if o.Signer == nil || o.Cert == nil {
		return nil, errors.New("cms: sign: a signer and its certificate are needed")
	}
	pub := o.Signer.Public()
	if !publicKeysEqual(pub, o.Cert.PublicKey) {
		return nil, errors.New("cms: sign: the signer's key is not the certificate's")
	}
	var sigAlg asn1.ObjectIdentifier
	var x509Alg x509.SignatureAlgorithm
	switch pub.(type) {
	case *rsa.PublicKey:
		sigAlg, x509Alg = oidRSAEncryption, x509.SHA256WithRSA
	case *ecdsa.PublicKey:
		sigAlg, x509Alg = oidECDSAWithSHA256, x509.ECDSAWithSHA256
	default:
		return nil, fmt.Errorf("cms: sign: %T keys are not supported (RSA or ECDSA)", pub)
	}
	digest := sha256.Sum256(content)
	signedAttrs := signedAttributes(digest[:], o.Cert)
	// The signature is over the DER of the attributes with the SET OF tag,
	// not the [0] IMPLICIT of their place in SignerInfo (RFC 5652 §5.4).
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { b.AddBytes(signedAttrs) })
	toSign := b.BytesOrPanic()
	h := sha256.Sum256(toSign)
	sig, err := o.Signer.Sign(rand.Reader, h[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("cms: sign: %w", err)
	}
	// A card may answer with something else than asked for (another key,
	// PSS); a signature that does not verify must not leave here.
	if err := o.Cert.CheckSignature(x509Alg, toSign, sig); err != nil {
		return nil, fmt.Errorf("cms: sign: the signer's signature does not verify: %w", err)
	}
	var unsigned []byte
	if o.Stamper != nil {
		sh := sha256.Sum256(sig)
		tok, err := o.Stamper.Stamp(ctx, crypto.SHA256, sh[:])
		if err != nil {
			return nil, fmt.Errorf("cms: sign: time-stamp: %w", err)
		}
		if s := cryptobyte.String(tok); !s.SkipASN1(cbasn1.SEQUENCE) || !s.Empty() {
			return nil, errors.New("cms: sign: the time-stamp token is not one DER SEQUENCE")
		}
		unsigned = attribute(oidAttrTimeStamp, func(b *cryptobyte.Builder) { b.AddBytes(tok) })
	}
	var certs []*x509.Certificate
	if withCerts {
		certs = append([]*x509.Certificate{o.Cert}, o.Chain...)
	}
	var eContent []byte
	if !o.Detached {
		eContent = content
	}
	return encodeSignedData(eContent, !o.Detached, certs, o.Cert, signedAttrs, sigAlg, sig, unsigned)
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	e, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && e.Equal(b)
}

// attribute encodes an Attribute (RFC 5652 §5.3) with one value.
func attribute(oid asn1.ObjectIdentifier, value func(*cryptobyte.Builder)) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oid)
		b.AddASN1(cbasn1.SET, value)
	})
	return b.BytesOrPanic()
}

// signedAttributes are the CAdES-BES signed attributes (ETSI EN 319 122-1
// §5.2), concatenated in DER order, without the SET header.
func signedAttributes(digest []byte, cert *x509.Certificate) []byte {
	certHash := sha256.Sum256(cert.Raw)
	attrs := [][]byte{
		attribute(oidAttrContentType, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oidData) }),
		attribute(oidAttrMessageDigest, func(b *cryptobyte.Builder) { b.AddASN1OctetString(digest) }),
		attribute(oidAttrSigningCertV2, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SigningCertificateV2
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // certs
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // ESSCertIDv2; hashAlgorithm DEFAULT sha256
						b.AddASN1OctetString(certHash[:])
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // IssuerSerial
							b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // GeneralNames
								b.AddASN1(tagGN, func(b *cryptobyte.Builder) { b.AddBytes(cert.RawIssuer) })
							})
							b.AddASN1BigInt(cert.SerialNumber)
						})
					})
				})
			})
		}),
	}
	// DER orders the elements of a SET OF by their encodings (X.690 §11.6).
	slices.SortFunc(attrs, bytes.Compare)
	return bytes.Join(attrs, nil)
}

// encodeSignedData writes the ContentInfo of a SignedData (RFC 5652 §5.1):
// version 1, as every certificate is X.509 v3, the content type is id-data
// and the SignerInfo (version 1) names its certificate by issuer and serial.
func encodeSignedData(eContent []byte, enveloping bool, certs []*x509.Certificate, signer *x509.Certificate,
	signedAttrs []byte, sigAlg asn1.ObjectIdentifier, sig, unsignedAttrs []byte) ([]byte, error) {
	algID := func(b *cryptobyte.Builder, oid asn1.ObjectIdentifier, null bool) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oid)
			if null {
				b.AddASN1NULL()
			}
		})
	}
	var out cryptobyte.Builder
	out.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // ContentInfo
		b.AddASN1ObjectIdentifier(oidSignedData)
		b.AddASN1(tag0, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SignedData
				b.AddASN1Int64(1)
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { algID(b, oidSHA256, false) })
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // EncapsulatedContentInfo
					b.AddASN1ObjectIdentifier(oidData)
					if enveloping {
						b.AddASN1(tag0, func(b *cryptobyte.Builder) { b.AddASN1OctetString(eContent) })
					}
				})
				if len(certs) > 0 {
					b.AddASN1(tag0, func(b *cryptobyte.Builder) { // certificates
						for _, c := range certs {
							b.AddBytes(c.Raw)
						}
					})
				}
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { // SignerInfos
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1Int64(1)
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // IssuerAndSerialNumber
							b.AddBytes(signer.RawIssuer)
							b.AddASN1BigInt(signer.SerialNumber)
						})
						algID(b, oidSHA256, false)
						b.AddASN1(tag0, func(b *cryptobyte.Builder) { b.AddBytes(signedAttrs) })
						algID(b, sigAlg, sigAlg.Equal(oidRSAEncryption))
						b.AddASN1OctetString(sig)
						if len(unsignedAttrs) > 0 {
							b.AddASN1(tag1, func(b *cryptobyte.Builder) { b.AddBytes(unsignedAttrs) })
						}
					})
				})
			})
		})
	})
	return out.Bytes()
}
