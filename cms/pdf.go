package cms

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/digitorus/pdf"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// tokenReserve is the room kept in /Contents for an RFC 3161 time-stamp
// token, which is only known after the file is laid out. Our own TSA's
// tokens are about 1 KB; a token with a longer chain still fits.
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

// printableASCII is what the signature dictionary's text strings may hold:
// the names are in the certificate, and romaji keeps every reader happy.
var printableASCII = regexp.MustCompile(`^[ -~]*$`)

// SignPDF signs a PDF with an invisible PAdES signature (ETSI EN 319 142-1,
// SubFilter ETSI.CAdES.detached): an incremental update whose /Contents is a
// detached SignedData as Sign makes it over the /ByteRange bytes; with
// o.Stamper it carries a signature time-stamp (B-T). A certification
// signature is put in force by the catalog's /Perms (PDF 32000-1 §12.8.4).
// ctx is for the Stamper.
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
	room, err := signatureRoom(o.SignOptions)
	if err != nil {
		return nil, err
	}
	var d strings.Builder
	d.WriteString(" /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached")
	if !o.When.IsZero() {
		d.WriteString(" /M " + pdfString(pdfDate(o.When)))
	}
	for _, e := range []struct{ k, v string }{{"Name", o.Name}, {"Location", o.Location}, {"Reason", o.Reason}} {
		if e.v != "" {
			d.WriteString(" /" + e.k + " " + pdfString(e.v))
		}
	}
	if o.Certify {
		// The signature reference dictionary of a certification signature
		// (PDF 32000-1 §12.8.1 Table 253, §12.8.2.2 Table 254). No
		// /DigestMethod: PDF 1.7 does not define it in this dictionary.
		d.WriteString(" /Reference [<< /Type /SigRef /TransformMethod /DocMDP" +
			" /TransformParams << /Type /TransformParams /P 1 /V /1.2 >> >>]")
	}
	so := o.SignOptions
	so.Detached = true
	return appendSignature(in, d.String(), room, o.Certify, func(signed []byte) ([]byte, error) {
		der, err := Sign(ctx, signed, so)
		if err != nil {
			return nil, fmt.Errorf("cms: sign PDF: %w", err)
		}
		return der, nil
	})
}

// signatureRoom is the number of bytes /Contents keeps for the SignedData:
// the certificates, the issuer twice (IssuerAndSerialNumber and
// signing-certificate-v2), the signature, the time-stamp token and a
// margin for the structure around them.
func signatureRoom(o SignOptions) (int, error) {
	var sigSize int
	switch k := o.Signer.Public().(type) {
	case *rsa.PublicKey:
		sigSize = k.Size()
	case *ecdsa.PublicKey:
		// The longest DER Ecdsa-Sig-Value: two INTEGERs of the order's
		// length plus a leading zero, in a SEQUENCE.
		sigSize = 9 + 2*((k.Curve.Params().BitSize+7)/8)
	default:
		return 0, fmt.Errorf("cms: sign PDF: %T keys are not supported (RSA or ECDSA)", k)
	}
	room := len(o.Cert.Raw) + 2*len(o.Cert.RawIssuer) + sigSize + 512
	for _, c := range o.Chain {
		room += len(c.Raw)
	}
	if o.Stamper != nil {
		room += tokenReserve
	}
	return room, nil
}

// pdfDate writes a PDF date (PDF 32000-1 §7.9.4): D:YYYYMMDDHHmmSS and the
// offset as +09'00', or Z for UTC.
func pdfDate(t time.Time) string {
	s := "D:" + t.Format("20060102150405")
	_, off := t.Zone()
	if off == 0 {
		return s + "Z"
	}
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	return fmt.Sprintf("%s%c%02d'%02d'", s, sign, off/3600, off/60%60)
}

// byteRangeHold is the /ByteRange written before the offsets are known;
// the real one has the same length, so no offset moves when it is written.
const byteRangeHold = "/ByteRange [0 0000000000 0000000000 0000000000]"

// appendSignature adds an invisible signature field to in as an
// incremental update: a signature dictionary with entries (which end up
// before /ByteRange and /Contents), a widget that is the field, and the
// catalog with the field in /AcroForm (/SigFlags 3: signatures exist, append
// only; PDF 32000-1 §12.7.2) and, for a certification, /Perms /DocMDP
// (§12.8.4). /Contents keeps room bytes; fill gets the /ByteRange bytes and
// returns what goes into /Contents.
func appendSignature(in []byte, entries string, room int, certify bool, fill func(signed []byte) ([]byte, error)) (out []byte, err error) {
	// The PDF reader panics on some malformed input.
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("cms: sign PDF: unreadable PDF (%v)", r)
		}
	}()
	u, err := newUpdate(in)
	if err != nil {
		return nil, err
	}
	cat, rootNum, err := u.root()
	if err != nil {
		return nil, err
	}
	if certify && cat.Key("Perms").Key("DocMDP").Kind() != pdf.Null {
		return nil, errors.New("cms: sign PDF: the document is certified already")
	}
	sigNum, fieldNum := u.alloc(), u.alloc()
	var sig bytes.Buffer
	sig.WriteString("<<" + entries + " " + byteRangeHold + " /Contents <")
	sig.Write(bytes.Repeat([]byte{'0'}, 2*room))
	sig.WriteString("> >>")
	u.set(sigNum, sig.Bytes())
	// /F 132: Print and Locked (§12.5.3); an empty /Rect: invisible.
	u.set(fieldNum, fmt.Appendf(nil, "<< /Type /Annot /Subtype /Widget /FT /Sig /T (Signature%d) /V %d 0 R /F 132 /Rect [0 0 0 0] >>",
		sigNum, sigNum))
	u.set(rootNum, catalogWith(u, cat, fmt.Sprintf("%d 0 R", fieldNum), certify, sigNum, ""))
	b := u.bytes()

	i := bytes.LastIndex(b, []byte(byteRangeHold))
	j := bytes.Index(b[i:], []byte("/Contents <"))
	if i < len(in) || j < 0 {
		return nil, errors.New("cms: sign PDF: the signature dictionary is lost")
	}
	start := i + j + len("/Contents ")
	end := start + 2 + 2*room
	copy(b[i:], fmt.Sprintf("/ByteRange [0 %010d %010d %010d]", start, end, len(b)-end))
	signed := append(slices.Clone(b[:start]), b[end:]...)
	der, err := fill(signed)
	if err != nil {
		return nil, err
	}
	hx := hex.EncodeToString(der)
	if len(hx) > 2*room {
		return nil, fmt.Errorf("cms: sign PDF: %d bytes do not fit the room of %d", len(der), room)
	}
	copy(b[start+1:], hx)
	return b, nil
}

// catalogWith is the catalog cat with field (a reference) added to
// /AcroForm's /Fields, /Perms /DocMDP set to the signature sigNum when
// certify, and /DSS set to dss when not empty. It declares PDF 1.7, the
// version PAdES extends (ETSI EN 319 142-1 §4), when the file is older.
func catalogWith(u *update, cat pdf.Value, field string, certify bool, sigNum int, dss string) []byte {
	var c bytes.Buffer
	c.WriteString("<<")
	skip := []string{"Version"}
	if field != "" {
		skip = append(skip, "AcroForm")
	}
	if certify {
		skip = append(skip, "Perms")
	}
	if dss != "" {
		skip = append(skip, "DSS")
	}
	writeDictExcept(&c, cat, skip...)
	ver := max(u.rdr.PDFVersion, cat.Key("Version").Name())
	if len(ver) != 3 || ver < "1.7" {
		ver = "1.7"
	}
	c.WriteString(" /Version /" + ver)
	if field != "" {
		acro := cat.Key("AcroForm")
		c.WriteString(" /AcroForm <<")
		if acro.Kind() == pdf.Dict {
			writeDictExcept(&c, acro, "Fields", "SigFlags")
		}
		c.WriteString(" /Fields [")
		fields := acro.Key("Fields")
		for k := range fields.Len() {
			writeValue(&c, fields.Index(k), ptrOf(fields))
			c.WriteByte(' ')
		}
		c.WriteString(field + "] /SigFlags 3 >>")
	}
	if certify {
		c.WriteString(" /Perms <<")
		if p := cat.Key("Perms"); p.Kind() == pdf.Dict {
			writeDictExcept(&c, p, "DocMDP")
		}
		fmt.Fprintf(&c, " /DocMDP %d 0 R >>", sigNum)
	}
	if dss != "" {
		c.WriteString(" /DSS " + dss)
	}
	c.WriteString(" >>")
	return c.Bytes()
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
	// OnlyLTVAfter is whether everything appended after the signature is
	// validation data and document time-stamps (a DSS, PDF 2.0 §12.8.4.3,
	// and /DocTimeStamp signatures, ETSI EN 319 142-1 §5.4 and §5.5): the
	// updates PAdES B-LT and B-LTA add, which change nothing the signer
	// signed or what a reader shows. True when WholeFile.
	OnlyLTVAfter bool
	// Covers is how many bytes of the file the /ByteRange spans (its end):
	// the revision the signature signs is file[:Covers].
	Covers int64
	// Certification is the DocMDP permission (1 to 3, PDF 32000-1
	// §12.8.2.2) when this is the certification signature in force (the
	// catalog's /Perms /DocMDP names it, §12.8.4), 0 otherwise.
	Certification int
	// DocTimeStamp marks a document time-stamp (/Type /DocTimeStamp,
	// SubFilter ETSI.RFC3161): Signature holds only Timestamp, the token
	// over the /ByteRange bytes.
	DocTimeStamp bool
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
		if p := rdr.Trailer().Key("Root").Key("Perms").Key("DocMDP"); ptrOf(p) == ptrOf(v) && p.Kind() == pdf.Dict {
			s.Certification = docMDP(v)
		}
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
	case "ETSI.RFC3161":
		s.DocTimeStamp = true
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
	s.Covers = r[2] + r[3]
	s.WholeFile = r[0] == 0 && r[2]+r[3] == int64(len(file))
	s.OnlyLTVAfter = s.WholeFile || r[0] == 0 && onlyLTVAfter(file, r[2]+r[3])
	// /Contents is the DER padded with zeros to the placeholder's length.
	contents := []byte(v.Key("Contents").RawString())
	in := cryptobyte.String(contents)
	var der cryptobyte.String
	if in.ReadAnyASN1Element(&der, new(cbasn1.Tag)) {
		contents = der
	}
	content := append(slices.Clone(file[r[0]:r[0]+r[1]]), file[r[2]:r[2]+r[3]]...)
	if s.DocTimeStamp {
		// The token's imprint is over the /ByteRange bytes themselves
		// (ETSI EN 319 142-1 §5.4.3).
		ts, err := verifyToken(contents, content, tsaRoots)
		s.Timestamp, s.Content, s.Err = ts, content, err
		return s
	}
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
