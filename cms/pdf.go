package cms

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/digitorus/pdf"
	pdfsign "github.com/digitorus/pdfsign/sign"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// The SubFilter names (PDF 32000-1 §12.8.3.3; ETSI EN 319 142-1 §5.1). Both
// are 19 bytes long, so one replaces the other without moving any offset.
const (
	subFilterPKCS7 = "/SubFilter /adbe.pkcs7.detached"
	subFilterCAdES = "/SubFilter /ETSI.CAdES.detached"
)

// tokenReserve is the room kept in /Contents for a signature time-stamp
// token, which is only known after the file is laid out: as much as
// pdfsign itself reserves for one. Our own TSA's tokens are about 1 KB.
const tokenReserve = 9000

// PDFOptions says who signs a PDF and what its signature dictionary says.
type PDFOptions struct {
	// SignOptions are the signer, its certificate and chain, and the
	// optional Stamper (with one, the signature is PAdES B-T). Detached is
	// ignored: a PDF signature is always detached.
	SignOptions
	// Name, Location and Reason go into the signature dictionary; they must
	// be printable ASCII (they may be empty).
	Name, Location, Reason string
	// When is the dictionary's /M, the signer's claimed signing time; the
	// zero time leaves /M out.
	When time.Time
	// Certify makes a certification signature with DocMDP permission 1 (no
	// changes permitted, PDF 32000-1 §12.8.2.2); otherwise an approval
	// signature.
	Certify bool
}

// printableASCII is what pdfsign writes correctly into a dictionary string.
var printableASCII = regexp.MustCompile(`^[ -~]*$`)

// SignPDF signs a PDF with an invisible PAdES signature (ETSI EN 319 142-1,
// SubFilter ETSI.CAdES.detached): an incremental update whose /Contents is a
// detached SignedData as Sign makes it over the /ByteRange bytes; with
// o.Stamper it carries a signature time-stamp (B-T). ctx is for the Stamper.
func SignPDF(ctx context.Context, in []byte, o PDFOptions) (out []byte, err error) {
	if o.Signer == nil || o.Cert == nil {
		return nil, errors.New("cms: sign PDF: a signer and its certificate are needed")
	}
	if !publicKeysEqual(o.Signer.Public(), o.Cert.PublicKey) {
		return nil, errors.New("cms: sign PDF: the signer's key is not the certificate's")
	}
	for _, s := range []string{o.Name, o.Location, o.Reason} {
		if !printableASCII.MatchString(s) {
			return nil, fmt.Errorf("cms: sign PDF: %q is not printable ASCII", s)
		}
	}
	// The PDF reader panics on some malformed input.
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("cms: sign PDF: unreadable PDF (%v)", r)
		}
	}()
	rdr, err := pdf.NewReader(bytes.NewReader(in), int64(len(in)))
	if err != nil {
		return nil, fmt.Errorf("cms: sign PDF: read PDF: %w", err)
	}
	reserve := 0
	if o.Stamper != nil {
		reserve = tokenReserve
	}
	ph, phCert, err := layout(o.SignOptions, reserve)
	if err != nil {
		return nil, err
	}
	certType, perm := pdfsign.ApprovalSignature, pdfsign.DocMDPPerm(0)
	if o.Certify {
		certType, perm = pdfsign.CertificationSignature, pdfsign.DoNotAllowAnyChangesPerms
	}
	var buf bytes.Buffer
	err = pdfsign.Sign(bytes.NewReader(in), &buf, rdr, int64(len(in)), pdfsign.SignData{
		Signature: pdfsign.SignDataSignature{
			CertType:   certType,
			DocMDPPerm: perm,
			Info:       pdfsign.SignDataSignatureInfo{Name: o.Name, Location: o.Location, Reason: o.Reason, Date: o.When},
		},
		Signer:            ph,
		DigestAlgorithm:   crypto.SHA256,
		Certificate:       phCert,
		CertificateChains: [][]*x509.Certificate{{phCert}},
	})
	if err != nil {
		return nil, fmt.Errorf("cms: sign PDF: %w", err)
	}
	b := buf.Bytes()
	// Everything pdfsign added is after the original file.
	i := bytes.LastIndex(b, []byte(subFilterPKCS7))
	if i < len(in) {
		return nil, errors.New("cms: sign PDF: no signature dictionary in pdfsign's output")
	}
	copy(b[i:], subFilterCAdES)
	br, err := findByteRange(b[len(in):])
	if err != nil {
		return nil, fmt.Errorf("cms: sign PDF: %w", err)
	}
	start, end := br[0]+br[1], br[2] // the /Contents string, brackets included
	if br[0] != 0 || end <= start+2 || br[2]+br[3] != int64(len(b)) || b[start] != '<' || b[end-1] != '>' {
		return nil, errors.New("cms: sign PDF: unexpected ByteRange in pdfsign's output")
	}
	signed := append(slices.Clone(b[:start]), b[end:]...)
	so := o.SignOptions
	so.Detached = true
	der, err := Sign(ctx, signed, so)
	if err != nil {
		return nil, fmt.Errorf("cms: sign PDF: %w", err)
	}
	hx := hex.EncodeToString(der)
	if int64(len(hx)) > end-start-2 {
		return nil, fmt.Errorf("cms: sign PDF: CMS of %d bytes does not fit the placeholder of %d", len(der), (end-start-2)/2)
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

// layout is what pdfsign signs with while it lays out the file: a
// throw-away key whose "signature" is empty, and a throw-away certificate
// padded to the room the real SignedData needs. pdfsign sizes /Contents by
// the certificates it is given and its own SignedData holds them, so the
// padding makes a placeholder large enough for the real certificates, the
// signature value and the time-stamp token (which pdfsign does not count)
// while pdfsign's own SignedData still fits it: when that one does not,
// the pinned pdfsign lays the file out a second time without resetting its
// cross-reference entries and writes a broken file. pdfsign uses the
// certificate for nothing else; its SignedData is thrown away.
func layout(o SignOptions, reserve int) (crypto.Signer, *x509.Certificate, error) {
	var sigSize int
	switch k := o.Signer.Public().(type) {
	case *rsa.PublicKey:
		sigSize = k.Size()
	case *ecdsa.PublicKey:
		// The longest DER Ecdsa-Sig-Value: two INTEGERs of the order's
		// length plus a leading zero, in a SEQUENCE.
		sigSize = 9 + 2*((k.Curve.Params().BitSize+7)/8)
	default:
		return nil, nil, fmt.Errorf("cms: sign PDF: %T keys are not supported (RSA or ECDSA)", k)
	}
	// The certificates, the issuer twice (IssuerAndSerialNumber and
	// signing-certificate-v2), the signature and the token, and a margin
	// for the structure around them.
	room := len(o.Cert.Raw) + 2*len(o.Cert.RawIssuer) + sigSize + reserve + 512
	for _, c := range o.Chain {
		room += len(c.Raw)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:    big.NewInt(1),
		Subject:         pkix.Name{CommonName: "cms layout placeholder"},
		NotBefore:       time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:        time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC),
		ExtraExtensions: []pkix.Extension{{Id: oidPadding, Value: make([]byte, room)}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	return placeholder{&key.PublicKey}, cert, nil
}

// oidPadding names the padding extension of the layout certificate (under
// the 2.999 example arc of ITU-T X.660; it never leaves SignPDF).
var oidPadding = asn1.ObjectIdentifier{2, 999, 392, 5652, 1}

// placeholder is the layout key: it "signs" with nothing.
type placeholder struct{ pub crypto.PublicKey }

var _ crypto.Signer = placeholder{}

func (p placeholder) Public() crypto.PublicKey { return p.pub }

func (p placeholder) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return []byte{}, nil
}

// PDFSignature is one signature of a PDF as VerifyPDF found it.
type PDFSignature struct {
	// Signature is what Verify read from the CMS in /Contents over the
	// /ByteRange bytes.
	Signature
	// SubFilter, Name, Location and Reason are the signature dictionary's.
	SubFilter, Name, Location, Reason string
	// SigningTime is the dictionary's /M: the signer's claim (a time-stamp,
	// when there is one, is in Signature.Timestamp).
	SigningTime time.Time
	// WholeFile is whether the /ByteRange covers the whole file but the
	// signature's own /Contents: nothing was appended after it (PDF 32000-1
	// §12.8.1). A later incremental update (another signature) makes it
	// false; whether that is acceptable is the caller's policy.
	WholeFile bool
	// Err is this signature's failure, wrapping ErrFormat, ErrNoSigner,
	// ErrHash, ErrSignature or ErrTimestamp; nil when it verified.
	Err error
}

// VerifyPDF finds every signature dictionary of a PDF (file order) and
// checks each one with Verify over its /ByteRange bytes, the time-stamps
// against tsaRoots; each result carries its own Err. The error is
// ErrNoSignature (also for a file that is not a readable PDF, together
// with ErrFormat) or ErrFormat for the file, or else the first failing
// signature's Err, so that nil means every signature verified. Like Verify
// it does not check the signers' chains. It never panics on malformed input.
func VerifyPDF(file []byte, tsaRoots *x509.CertPool) (sigs []PDFSignature, err error) {
	defer func() {
		if r := recover(); r != nil {
			sigs, err = nil, fmt.Errorf("%w: unreadable PDF (%v)", ErrFormat, r)
		}
	}()
	rdr, err := pdf.NewReader(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		return nil, fmt.Errorf("%w: %w: unreadable PDF: %v", ErrNoSignature, ErrFormat, err)
	}
	var firstErr error
	for _, x := range rdr.Xref() {
		v := rdr.Resolve(x.Ptr(), x.Ptr())
		if v.Key("Type").Name() != "Sig" && v.Key("Filter").Name() != "Adobe.PPKLite" {
			continue
		}
		s := verifyPDFSignature(v, file, tsaRoots)
		if s.Err != nil && firstErr == nil {
			firstErr = fmt.Errorf("signature %d: %w", len(sigs)+1, s.Err)
		}
		sigs = append(sigs, s)
	}
	if len(sigs) == 0 {
		return nil, ErrNoSignature
	}
	return sigs, firstErr
}

func verifyPDFSignature(v pdf.Value, file []byte, tsaRoots *x509.CertPool) PDFSignature {
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
		s.Err = fmt.Errorf("%w: SubFilter %q is not supported", ErrFormat, s.SubFilter)
		return s
	}
	br := v.Key("ByteRange")
	if br.Len() != 4 {
		s.Err = fmt.Errorf("%w: ByteRange has %d numbers, not 4", ErrFormat, br.Len())
		return s
	}
	var r [4]int64
	for i := range r {
		r[i] = br.Index(i).Int64()
		if r[i] < 0 || r[i] > int64(len(file)) {
			s.Err = fmt.Errorf("%w: ByteRange out of the file", ErrFormat)
			return s
		}
	}
	if r[0]+r[1] > int64(len(file)) || r[2]+r[3] > int64(len(file)) || r[0]+r[1] > r[2] {
		s.Err = fmt.Errorf("%w: ByteRange out of the file", ErrFormat)
		return s
	}
	s.WholeFile = r[0] == 0 && r[2]+r[3] == int64(len(file))
	// /Contents is the DER padded with zeros to the placeholder's length.
	contents := []byte(v.Key("Contents").RawString())
	in := cryptobyte.String(contents)
	var der cryptobyte.String
	if in.ReadAnyASN1Element(&der, new(cbasn1.Tag)) {
		contents = der
	}
	content := append(slices.Clone(file[r[0]:r[0]+r[1]]), file[r[2]:r[2]+r[3]]...)
	sig, err := verify(contents, content, true, tsaRoots)
	if sig != nil {
		s.Signature = *sig
	}
	s.Err = err
	return s
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
