package jpki

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"time"

	"github.com/mynaplat/mynaplat/wareki"
)

// Kind names one of the two certification authorities and the certificates
// they issue.
type Kind string

// The two kinds of JPKI certificate.
const (
	// Auth is 利用者証明用: login certificates carrying no personal data.
	Auth Kind = "auth"
	// Sign is 署名用: signing certificates carrying the four basic attributes.
	Sign Kind = "sign"
)

// Kinds lists both kinds, authentication first.
var Kinds = [...]Kind{Auth, Sign}

// ParseKind accepts "auth" or "sign".
func ParseKind(s string) (Kind, error) {
	switch Kind(s) {
	case Auth, Sign:
		return Kind(s), nil
	}
	return "", fmt.Errorf("%w: certificate kind %q (want auth or sign)", ErrInvalid, s)
}

var (
	oidC  = asn1.ObjectIdentifier{2, 5, 4, 6}
	oidO  = asn1.ObjectIdentifier{2, 5, 4, 10}
	oidOU = asn1.ObjectIdentifier{2, 5, 4, 11}
	oidL  = asn1.ObjectIdentifier{2, 5, 4, 7}
	oidCN = asn1.ObjectIdentifier{2, 5, 4, 3}

	oidExtSKI         = asn1.ObjectIdentifier{2, 5, 29, 14}
	oidExtSAN         = asn1.ObjectIdentifier{2, 5, 29, 17}
	oidExtIAN         = asn1.ObjectIdentifier{2, 5, 29, 18}
	oidExtCRLDP       = asn1.ObjectIdentifier{2, 5, 29, 31}
	oidExtPolicies    = asn1.ObjectIdentifier{2, 5, 29, 32}
	oidCPSQualifier   = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 2, 1}
	oidOCSPNoCheck    = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 5}
	oidJPKIName       = asn1.ObjectIdentifier{1, 2, 392, 200149, 8, 5, 5, 1}
	oidJPKINameSubst  = asn1.ObjectIdentifier{1, 2, 392, 200149, 8, 5, 5, 2}
	oidJPKIGender     = asn1.ObjectIdentifier{1, 2, 392, 200149, 8, 5, 5, 3}
	oidJPKIBirth      = asn1.ObjectIdentifier{1, 2, 392, 200149, 8, 5, 5, 4}
	oidJPKIAddress    = asn1.ObjectIdentifier{1, 2, 392, 200149, 8, 5, 5, 5}
	oidJPKIAddrSubst  = asn1.ObjectIdentifier{1, 2, 392, 200149, 8, 5, 5, 6}
	oidPolicySignTest = asn1.ObjectIdentifier{1, 2, 392, 200149, 8, 5, 1, 0, 20} // JPKI test environment (sign-class20)
	oidPolicyAuth     = asn1.ObjectIdentifier{1, 2, 392, 200149, 8, 5, 1, 3, 30} // auth-class30
)

// cpsURI is the CPS pointer in the signing certificate's policy.
const cpsURI = "http://www.jpki.go.jp/cps.html"

// atv is one attribute of a distinguished name with an explicit string type.
type atv struct {
	oid asn1.ObjectIdentifier
	tag int // asn1.TagPrintableString or asn1.TagUTF8String
	val string
}

// rdnSequence encodes a Name with one attribute per RDN, keeping each value's
// string type; Go's pkix.Name would pick PrintableString wherever it can,
// while JPKI uses UTF8String for everything but C.
func rdnSequence(attrs ...atv) []byte {
	var seq pkix.RDNSequence
	for _, a := range attrs {
		seq = append(seq, pkix.RelativeDistinguishedNameSET{{
			Type:  a.oid,
			Value: asn1.RawValue{Tag: a.tag, Class: asn1.ClassUniversal, Bytes: []byte(a.val)},
		}})
	}
	der, err := asn1.Marshal(seq)
	if err != nil {
		panic("jpki: encode name: " + err.Error()) // only constant shapes reach here
	}
	return der
}

func utf8Attr(oid asn1.ObjectIdentifier, v string) atv {
	return atv{oid, asn1.TagUTF8String, v}
}

var countryJP = atv{oidC, asn1.TagPrintableString, "JP"}

// caSubject is the DN of a CA: C=JP, O=JPKI-TEST, OU=JPKI for …, OU=Japan Agency
// for Local Authority Information Systems.
func caSubject(k Kind) []byte {
	ou := "JPKI for user authentication"
	if k == Sign {
		ou = "JPKI for digital signature"
	}
	return rdnSequence(countryJP, utf8Attr(oidO, "JPKI-TEST"), utf8Attr(oidOU, ou),
		utf8Attr(oidOU, "Japan Agency for Local Authority Information Systems"))
}

// generalName tags for GeneralName (RFC 5280 §4.2.1.6).
const (
	gnOtherName     = 0
	gnURI           = 6
	gnDirectoryName = 4
)

func directoryName(name []byte) asn1.RawValue {
	// directoryName is [4] EXPLICIT Name, so the Name's own SEQUENCE is inside.
	return asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: gnDirectoryName, IsCompound: true, Bytes: name}
}

func uriName(u string) asn1.RawValue {
	return asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: gnURI, Bytes: []byte(u)}
}

func mustMarshal(v any) []byte {
	der, err := asn1.Marshal(v)
	if err != nil {
		panic("jpki: encode extension: " + err.Error())
	}
	return der
}

// serviceName is the directoryName of 公的個人認証サービス used as the CA's
// subjectAltName and as every end-entity certificate's issuerAltName.
func serviceName(k Kind, withOU bool) []byte {
	attrs := []atv{countryJP, utf8Attr(oidO, "公的個人認証サービス")}
	if withOU {
		ou := "公的個人認証サービス利用者証明用"
		if k == Sign {
			ou = "公的個人認証サービス署名用"
		}
		attrs = append(attrs, utf8Attr(oidOU, ou), utf8Attr(oidOU, "地方公共団体情報システム機構"))
	}
	return rdnSequence(attrs...)
}

func altNameExt(oid asn1.ObjectIdentifier, names ...asn1.RawValue) pkix.Extension {
	return pkix.Extension{Id: oid, Value: mustMarshal(names)}
}

// crlDPExt lists the CRL distribution points: first one whose fullName is the
// CA's DN, as in the real certificates (meant for a J-LIS directory), then,
// for test usability, one with the URL of the CRL this centre serves. They
// are two points rather than two names of one because Go's parser stops at
// the first non-URI name of a point.
func crlDPExt(k Kind, crlURL string) pkix.Extension {
	point := func(name asn1.RawValue) asn1.RawValue {
		// DistributionPoint ::= SEQUENCE { distributionPoint [0] { fullName [0] GeneralNames } }
		fullName := asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: mustMarshal(name)}
		dpName := asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: mustMarshal(fullName)}
		return asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: mustMarshal(dpName)}
	}
	points := []asn1.RawValue{point(directoryName(caSubject(k)))}
	if crlURL != "" {
		points = append(points, point(uriName(crlURL)))
	}
	return pkix.Extension{Id: oidExtCRLDP, Value: mustMarshal(points)}
}

// policiesExt is a critical certificatePolicies extension with one policy and,
// when cps is set, a CPS pointer qualifier.
func policiesExt(policy asn1.ObjectIdentifier, cps string) pkix.Extension {
	type qualifier struct {
		ID  asn1.ObjectIdentifier
		CPS string `asn1:"ia5"`
	}
	type policyInfo struct {
		ID         asn1.ObjectIdentifier
		Qualifiers []qualifier `asn1:"optional,omitempty"`
	}
	pi := policyInfo{ID: policy}
	if cps != "" {
		pi.Qualifiers = []qualifier{{oidCPSQualifier, cps}}
	}
	return pkix.Extension{Id: oidExtPolicies, Critical: true, Value: mustMarshal([]policyInfo{pi})}
}

// skiExt is the subjectKeyIdentifier by RFC 5280 §4.2.1.2 method 1: SHA-1 of
// the subjectPublicKey (the PKCS#1 RSAPublicKey). JPKI puts it last.
func skiExt(pub *rsa.PublicKey) pkix.Extension {
	sum := sha1.Sum(x509.MarshalPKCS1PublicKey(pub))
	return pkix.Extension{Id: oidExtSKI, Value: mustMarshal(sum[:])}
}

// endOfDayJST is 23:59:59 JST of the day of t, the end of JPKI validity periods.
func endOfDayJST(t time.Time) time.Time {
	t = t.In(wareki.JST())
	return time.Date(t.Year(), t.Month(), t.Day(), 23, 59, 59, 0, wareki.JST())
}

// caTemplate is the profile of a JPKI root (jpki-card.md §8.1): ten years,
// keyCertSign + cRLSign, CA:TRUE without pathLen, SAN and CRLDP as directory
// names, SKI and no AKI. The serial number is keydir.Issue's.
func caTemplate(k Kind, pub *rsa.PublicKey, now time.Time) *x509.Certificate {
	return &x509.Certificate{
		RawSubject:            caSubject(k),
		NotBefore:             now.Add(-time.Minute).UTC().Truncate(time.Second),
		NotAfter:              endOfDayJST(now.AddDate(10, 0, -1)).UTC(),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		ExtraExtensions: []pkix.Extension{
			altNameExt(oidExtSAN, directoryName(serviceName(k, true))),
			crlDPExt(k, ""),
			skiExt(pub),
		},
	}
}

// Holder is what a signing certificate says about its holder.
type Holder struct {
	Name      string    // kanji, surname U+3000 given name
	BirthDate time.Time // civil date
	Sex       Sex
	Address   string // from the prefecture on, no postal code
	// Prefecture and City are the romanised names used as L in the subject.
	Prefecture, City string
}

// Sex is the JPKI gender code: 1 male, 2 female, 3 unknown.
type Sex int

// The JPKI gender codes.
const (
	Male    Sex = 1
	Female  Sex = 2
	Unknown Sex = 3
)

// substitutes is the 0/1 map of substituted characters, one flag per
// character; names here never need 代替文字, so every flag is 0.
func substitutes(s string) string {
	b := make([]byte, 0, len(s))
	for range []rune(s) {
		b = append(b, '0')
	}
	return string(b)
}

// otherName builds the SAN entry [0] { type-id, [0] EXPLICIT UTF8String }.
func otherName(oid asn1.ObjectIdentifier, v string) asn1.RawValue {
	val := mustMarshal(asn1.RawValue{Tag: asn1.TagUTF8String, Class: asn1.ClassUniversal, Bytes: []byte(v)})
	explicit := mustMarshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: val})
	inner := append(mustMarshal(oid), explicit...)
	return asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: gnOtherName, IsCompound: true, Bytes: inner}
}

// eeTemplate is an end-entity certificate of kind k (jpki-card.md §8.2, §8.3).
// h is nil for the authentication certificate, which carries no personal data.
// caIssuers, when set, is the AIA caIssuers URL of the issuing CA as
// published (issue 18); the profile is otherwise the card's.
func eeTemplate(k Kind, pub *rsa.PublicKey, serial *big.Int, cn string, h *Holder, notBefore, notAfter time.Time, crlURL, caIssuers string) (*x509.Certificate, error) {
	t := &x509.Certificate{
		SerialNumber: serial,
		NotBefore:    notBefore.UTC().Truncate(time.Second),
		NotAfter:     notAfter.UTC(),
	}
	if caIssuers != "" {
		t.IssuingCertificateURL = []string{caIssuers}
	}
	ext := []pkix.Extension{altNameExt(oidExtIAN, directoryName(serviceName(k, false)))}
	switch k {
	case Auth:
		t.RawSubject = rdnSequence(countryJP, utf8Attr(oidCN, cn))
		t.KeyUsage = x509.KeyUsageDigitalSignature
		ext = append(ext, policiesExt(oidPolicyAuth, ""))
	case Sign:
		if h == nil {
			return nil, fmt.Errorf("%w: a signing certificate needs the holder's attributes", ErrInvalid)
		}
		birth, err := wareki.JPKIDate(h.BirthDate)
		if err != nil {
			return nil, fmt.Errorf("%w: birth date: %w", ErrInvalid, err)
		}
		t.RawSubject = rdnSequence(countryJP, utf8Attr(oidL, h.Prefecture), utf8Attr(oidL, h.City), utf8Attr(oidCN, cn))
		t.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment
		// The order of a real certificate: name, birth, gender, address, and
		// the two substitute-character maps.
		ext = append(ext,
			altNameExt(oidExtSAN,
				otherName(oidJPKIName, h.Name),
				otherName(oidJPKIBirth, birth),
				otherName(oidJPKIGender, fmt.Sprint(int(h.Sex))),
				otherName(oidJPKIAddress, h.Address),
				otherName(oidJPKINameSubst, substitutes(h.Name)),
				otherName(oidJPKIAddrSubst, substitutes(h.Address)),
			),
			policiesExt(oidPolicySignTest, cpsURI))
	default:
		return nil, fmt.Errorf("%w: kind %q", ErrInvalid, k)
	}
	ext = append(ext, crlDPExt(k, crlURL), skiExt(pub))
	t.ExtraExtensions = ext
	return t, nil
}

// responderTemplate is the delegated OCSP responder certificate (RFC 6960
// §4.2.2.2): EKU id-kp-OCSPSigning and id-pkix-ocsp-nocheck so clients do not
// ask about the responder itself. The serial number is keydir.Issue's.
func responderTemplate(k Kind, pub *rsa.PublicKey, now time.Time) *x509.Certificate {
	ou := "JPKI for user authentication"
	if k == Sign {
		ou = "JPKI for digital signature"
	}
	return &x509.Certificate{
		RawSubject: rdnSequence(countryJP, utf8Attr(oidO, "JPKI-TEST"), utf8Attr(oidOU, ou),
			utf8Attr(oidCN, "JPKI-TEST OCSP Responder")),
		NotBefore:   now.Add(-time.Minute).UTC().Truncate(time.Second),
		NotAfter:    endOfDayJST(now.AddDate(2, 0, 0)).UTC(),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning},
		ExtraExtensions: []pkix.Extension{
			{Id: oidOCSPNoCheck, Value: []byte{0x05, 0x00}},
			skiExt(pub),
		},
	}
}

// FifthBirthdayAfter is the last day of JPKI certificate validity: the
// holder's fifth birthday after the day of issue (a birthday on the day of
// issue does not count). Holders born on 29 February have their birthday on
// 28 February in common years.
func FifthBirthdayAfter(birth, issued time.Time) time.Time {
	b := birth.In(wareki.JST())
	i := issued.In(wareki.JST())
	birthdayIn := func(y int) time.Time {
		if b.Month() == time.February && b.Day() == 29 && !isLeap(y) {
			return time.Date(y, time.February, 28, 0, 0, 0, 0, wareki.JST())
		}
		return time.Date(y, b.Month(), b.Day(), 0, 0, 0, 0, wareki.JST())
	}
	y := i.Year()
	if first := birthdayIn(y); !first.After(time.Date(i.Year(), i.Month(), i.Day(), 0, 0, 0, 0, wareki.JST())) {
		y++
	}
	return birthdayIn(y + 4)
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

// AgeOn is the holder's age in completed years on day t.
func AgeOn(birth, t time.Time) int {
	b := birth.In(wareki.JST())
	t = t.In(wareki.JST())
	age := t.Year() - b.Year()
	if t.Month() < b.Month() || (t.Month() == b.Month() && t.Day() < b.Day()) {
		age--
	}
	return age
}

var _ crypto.PublicKey = (*rsa.PublicKey)(nil)
