package seal

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/digitorus/pdf"
	"github.com/digitorus/pdfsign/sign"
	"github.com/digitorus/pkcs7"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// The SubFilter names (PDF 32000-1 §12.8.3.3; ETSI EN 319 142-1 §5.1). Both
// are 19 bytes long, so one replaces the other without moving any offset.
const (
	subFilterPKCS7 = "/SubFilter /adbe.pkcs7.detached"
	subFilterCAdES = "/SubFilter /ETSI.CAdES.detached"
)

// signatureReason is the ASCII /Reason of every seal signature.
const signatureReason = "Certificate issued by the municipality (kofu)"

// SignPDF signs pdf with the municipality's seal key: an invisible
// certification signature (DocMDP: no changes permitted) with SubFilter
// ETSI.CAdES.detached, whose CMS holds cert and chain (cert's issuers, the
// root last). when is the signing time written as the dictionary's /M. The
// /Name and /Location come from cert's OU (ASCII, as Authority writes it).
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
	rdr, err := pdf.NewReader(bytes.NewReader(in), int64(len(in)))
	if err != nil {
		return nil, fmt.Errorf("seal: read PDF: %w", err)
	}
	ph, err := newPlaceholder(signer.Public())
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	err = sign.Sign(bytes.NewReader(in), &out, rdr, int64(len(in)), sign.SignData{
		Signature: sign.SignDataSignature{
			CertType:   sign.CertificationSignature,
			DocMDPPerm: sign.DoNotAllowAnyChangesPerms,
			Info: sign.SignDataSignatureInfo{
				Name: name, Location: "Japan", Reason: signatureReason, Date: when,
			},
		},
		Signer:            ph,
		DigestAlgorithm:   crypto.SHA256,
		Certificate:       cert,
		CertificateChains: [][]*x509.Certificate{append([]*x509.Certificate{cert}, chain...)},
	})
	if err != nil {
		return nil, fmt.Errorf("seal: sign PDF: %w", err)
	}
	b := out.Bytes()
	// Everything pdfsign added is after the original file.
	i := bytes.LastIndex(b, []byte(subFilterPKCS7))
	if i < len(in) {
		return nil, errors.New("seal: sign PDF: no signature dictionary in pdfsign's output")
	}
	copy(b[i:], subFilterCAdES)
	br, err := findByteRange(b[len(in):])
	if err != nil {
		return nil, fmt.Errorf("seal: sign PDF: %w", err)
	}
	start, end := br[0]+br[1], br[2] // the /Contents string, brackets included
	if br[0] != 0 || end <= start+2 || br[2]+br[3] != int64(len(b)) || b[start] != '<' || b[end-1] != '>' {
		return nil, errors.New("seal: sign PDF: unexpected ByteRange in pdfsign's output")
	}
	signed := append(slices.Clone(b[:start]), b[end:]...)
	cms, err := cadesDetached(signed, signer, cert, chain)
	if err != nil {
		return nil, fmt.Errorf("seal: sign PDF: %w", err)
	}
	hx := hex.EncodeToString(cms)
	if int64(len(hx)) > end-start-2 {
		return nil, fmt.Errorf("seal: sign PDF: CMS of %d bytes does not fit the placeholder of %d", len(cms), (end-start-2)/2)
	}
	for j := start + 1; j < end-1; j++ {
		b[j] = '0'
	}
	copy(b[start+1:], hx)
	return b, nil
}

var byteRangeRE = regexp.MustCompile(`/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]`)

func findByteRange(b []byte) ([4]int64, error) {
	var br [4]int64
	m := byteRangeRE.FindSubmatch(b)
	if m == nil {
		return br, errors.New("no ByteRange")
	}
	for k := range br {
		n, err := strconv.ParseInt(string(m[k+1]), 10, 64)
		if err != nil {
			return br, err
		}
		br[k] = n
	}
	return br, nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	e, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && e.Equal(b)
}

// placeholder stands in for the seal key while pdfsign lays out the file:
// its "signature" is zeros of the real one's length, and is thrown away.
type placeholder struct {
	pub  crypto.PublicKey
	size int
}

var _ crypto.Signer = placeholder{}

func newPlaceholder(pub crypto.PublicKey) (placeholder, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return placeholder{pub, k.Size()}, nil
	case *ecdsa.PublicKey:
		return placeholder{pub, 9 + 2*((k.Curve.Params().BitSize+7)/8)}, nil
	}
	return placeholder{}, fmt.Errorf("%w: seal keys are RSA or ECDSA", ErrInvalid)
}

func (p placeholder) Public() crypto.PublicKey { return p.pub }

func (p placeholder) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return make([]byte, p.size), nil
}

// Object identifiers of the CMS (RFC 5652, RFC 5035, RFC 5754, RFC 8017).
var (
	oidData              = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSignedData        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidAttrContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidAttrMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidAttrSigningCertV2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
	oidSHA256            = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidRSAEncryption     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidECDSAWithSHA256   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
)

var (
	tag0  = cbasn1.Tag(0).ContextSpecific().Constructed()
	tagGN = cbasn1.Tag(4).ContextSpecific().Constructed() // directoryName
)

// cadesDetached builds a CAdES-BES detached SignedData over content
// (RFC 5652 §5; ETSI EN 319 122-1 §5.2): signed attributes content-type,
// message-digest and signing-certificate-v2 (RFC 5035 §3), and no
// signing-time, which PAdES replaces by the dictionary's /M.
func cadesDetached(content []byte, signer crypto.Signer, cert *x509.Certificate, chain []*x509.Certificate) ([]byte, error) {
	digest := sha256.Sum256(content)
	certHash := sha256.Sum256(cert.Raw)
	attr := func(oid asn1.ObjectIdentifier, value func(*cryptobyte.Builder)) []byte {
		var b cryptobyte.Builder
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oid)
			b.AddASN1(cbasn1.SET, value)
		})
		return b.BytesOrPanic()
	}
	issuerSerial := func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // GeneralNames
				b.AddASN1(tagGN, func(b *cryptobyte.Builder) { b.AddBytes(cert.RawIssuer) })
			})
			b.AddASN1BigInt(cert.SerialNumber)
		})
	}
	attrs := [][]byte{
		attr(oidAttrContentType, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oidData) }),
		attr(oidAttrMessageDigest, func(b *cryptobyte.Builder) { b.AddASN1OctetString(digest[:]) }),
		attr(oidAttrSigningCertV2, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SigningCertificateV2
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // certs
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // ESSCertIDv2, hash sha256 by default
						b.AddASN1OctetString(certHash[:])
						issuerSerial(b)
					})
				})
			})
		}),
	}
	// DER orders a SET OF by encoding (X.690 §11.6).
	slices.SortFunc(attrs, bytes.Compare)
	signedAttrs := bytes.Join(attrs, nil)
	// The signature is over the attributes with the SET OF tag (RFC 5652 §5.4).
	var toSign cryptobyte.Builder
	toSign.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { b.AddBytes(signedAttrs) })
	h := sha256.Sum256(toSign.BytesOrPanic())
	sig, err := signer.Sign(rand.Reader, h[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("seal key: %w", err)
	}
	var sigAlg asn1.ObjectIdentifier
	switch signer.Public().(type) {
	case *rsa.PublicKey:
		sigAlg = oidRSAEncryption
	case *ecdsa.PublicKey:
		sigAlg = oidECDSAWithSHA256
	default:
		return nil, fmt.Errorf("%w: seal keys are RSA or ECDSA", ErrInvalid)
	}
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
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // EncapsulatedContentInfo, detached
					b.AddASN1ObjectIdentifier(oidData)
				})
				b.AddASN1(tag0, func(b *cryptobyte.Builder) { // certificates
					b.AddBytes(cert.Raw)
					for _, c := range chain {
						b.AddBytes(c.Raw)
					}
				})
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { // SignerInfos
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1Int64(1)
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // IssuerAndSerialNumber
							b.AddBytes(cert.RawIssuer)
							b.AddASN1BigInt(cert.SerialNumber)
						})
						algID(b, oidSHA256, false)
						b.AddASN1(tag0, func(b *cryptobyte.Builder) { b.AddBytes(signedAttrs) })
						algID(b, sigAlg, sigAlg.Equal(oidRSAEncryption))
						b.AddASN1OctetString(sig)
					})
				})
			})
		})
	})
	return out.Bytes()
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

// VerifyPDF checks every signature of a PDF: the CMS signature over the
// ByteRange (the file has not changed), that the ByteRange covers the whole
// file (nothing appended since, PDF 32000-1 §12.8.1), and the signer's chain
// to roots at the signing time. It returns the report with an error wrapping
// ErrNoSignature, ErrPDFSignature or ErrUntrusted when any check fails.
func VerifyPDF(file []byte, roots *x509.CertPool) (rep *PDFReport, err error) {
	// The PDF reader panics on some malformed input; a bad upload must be an
	// answer, not a crash.
	defer func() {
		if r := recover(); r != nil {
			rep, err = nil, fmt.Errorf("%w: unreadable PDF (%v)", ErrPDFSignature, r)
		}
	}()
	rdr, err := pdf.NewReader(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		return nil, fmt.Errorf("%w: unreadable PDF: %v", ErrNoSignature, err)
	}
	rep = &PDFReport{}
	var firstErr error
	for _, x := range rdr.Xref() {
		v := rdr.Resolve(x.Ptr(), x.Ptr())
		if v.Key("Type").Name() != "Sig" && v.Key("Filter").Name() != "Adobe.PPKLite" {
			continue
		}
		s, err := verifyOne(v, file, roots)
		rep.Signatures = append(rep.Signatures, s)
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	if len(rep.Signatures) == 0 {
		return rep, ErrNoSignature
	}
	return rep, firstErr
}

func verifyOne(v pdf.Value, file []byte, roots *x509.CertPool) (PDFSignature, error) {
	s := PDFSignature{
		SubFilter: v.Key("SubFilter").Name(),
		Name:      v.Key("Name").Text(), Location: v.Key("Location").Text(), Reason: v.Key("Reason").Text(),
	}
	if m := v.Key("M").Text(); m != "" {
		s.SigningTime, _ = parsePDFDate(m)
	}
	switch s.SubFilter {
	case "ETSI.CAdES.detached", "adbe.pkcs7.detached":
	default:
		return s, fmt.Errorf("%w: SubFilter %q is not supported", ErrPDFSignature, s.SubFilter)
	}
	br := v.Key("ByteRange")
	if br.Len() != 4 {
		return s, fmt.Errorf("%w: ByteRange has %d numbers, not 4", ErrPDFSignature, br.Len())
	}
	var r [4]int64
	for i := range r {
		r[i] = br.Index(i).Int64()
		if r[i] < 0 || r[i] > int64(len(file)) {
			return s, fmt.Errorf("%w: ByteRange out of the file", ErrPDFSignature)
		}
	}
	if r[0]+r[1] > int64(len(file)) || r[2]+r[3] > int64(len(file)) || r[0]+r[1] > r[2] {
		return s, fmt.Errorf("%w: ByteRange out of the file", ErrPDFSignature)
	}
	s.WholeFile = r[0] == 0 && r[2]+r[3] == int64(len(file))
	p7, err := pkcs7.Parse([]byte(v.Key("Contents").RawString()))
	if err != nil {
		return s, fmt.Errorf("%w: CMS: %v", ErrPDFSignature, err)
	}
	p7.Content = append(slices.Clone(file[r[0]:r[0]+r[1]]), file[r[2]:r[2]+r[3]]...)
	if len(p7.Signers) != 1 {
		return s, fmt.Errorf("%w: %d signers in the CMS, want 1", ErrPDFSignature, len(p7.Signers))
	}
	// Without roots this checks the message digest and the signature only;
	// the chain is checked below against our own pool, at the signing time.
	if err := p7.Verify(); err != nil {
		return s, fmt.Errorf("%w: %v", ErrPDFSignature, err)
	}
	s.Signer = p7.GetOnlySigner()
	if s.Signer == nil {
		return s, fmt.Errorf("%w: no signer certificate", ErrPDFSignature)
	}
	if !s.WholeFile {
		return s, fmt.Errorf("%w: the file was extended after it was signed", ErrPDFSignature)
	}
	inter := x509.NewCertPool()
	for _, c := range p7.Certificates {
		inter.AddCert(c)
	}
	at := s.SigningTime
	if at.IsZero() {
		at = time.Now()
	}
	chains, err := s.Signer.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: at,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		return s, fmt.Errorf("%w: %v", ErrUntrusted, err)
	}
	s.Chain = chains[0]
	return s, nil
}

// parsePDFDate reads a PDF date (PDF 32000-1 §7.9.4): D:YYYYMMDDHHmmSS with
// an optional offset like +09'00'.
func parsePDFDate(s string) (time.Time, error) {
	s = strings.TrimPrefix(s, "D:")
	if len(s) < 14 {
		return time.Time{}, fmt.Errorf("short PDF date %q", s)
	}
	base, rest := s[:14], s[14:]
	loc := time.UTC
	if len(rest) >= 3 && (rest[0] == '+' || rest[0] == '-') {
		hh, err1 := strconv.Atoi(rest[1:3])
		mm := 0
		var err2 error
		if len(rest) >= 6 {
			mm, err2 = strconv.Atoi(rest[4:6])
		}
		if err1 == nil && err2 == nil {
			off := hh*3600 + mm*60
			if rest[0] == '-' {
				off = -off
			}
			loc = time.FixedZone("", off)
		}
	}
	return time.ParseInLocation("20060102150405", base, loc)
}
