// Package seal is the anti-forgery of certificates issued at the
// convenience-store kiosk (コンビニ交付; issue 5 §2): whatever renders the
// certificate PDF, this package
//
//   - keeps each municipality's seal key and certificate under a per-deployment
//     municipal seal CA (Authority; keys.go);
//   - signs the PDF with the seal key, invisibly, as a PAdES signature
//     (SubFilter ETSI.CAdES.detached, ETSI EN 319 142-1 baseline B-B) in the
//     PDF signature dictionary of PDF 32000-1 §12.8 (SignPDF), and checks such
//     a signature against the deployment's own roots (VerifyPDF; pdf.go);
//   - makes the QR code printed on the certificate: the certificate number,
//     the municipality code, the issue time, the SHA-256 of the
//     certificate's canonical content text and a random secret, signed with
//     the municipality's Ed25519 QR key, in base64url (qr.go);
//   - keeps the register of issued certificates and serves the public
//     verification page GET /verify and its API POST /verify/v1, which answer
//     「この証明書は真正です」 with the original content, or say why not
//     (register.go, http.go).
//
// # Why both a PDF signature and a QR
//
// The PDF signature protects the file; once printed on plain A4 paper
// (domain-research.md §2.4) it is gone, and the 「複写」 ground pattern only
// shows that a copy is a copy. The QR survives printing: anyone can scan it
// and compare the paper with the content the register answers. The QR's
// digest is of the content text, not of the PDF bytes, because the QR is
// drawn into the PDF before the PDF is signed.
//
// # The register holds the content encrypted
//
// The content of a 住民票 or 戸籍 is personal data, and the verification page
// is public. The register therefore never holds it readable: Issue draws a
// random 128-bit secret, puts it in the (signed) QR payload only, derives an
// AES-256-GCM key from it with HKDF-SHA-256 (RFC 5869; salt the municipality
// code and certificate number), and stores only the ciphertext. The secret is
// not stored anywhere. Whoever holds the paper (or the QR text) can read the
// content back — exactly what they can already read on the paper — while a
// copy of the database, an operator, or someone guessing certificate numbers
// cannot. Requiring only the QR's signed digest to match would not do: the
// digest is printed on every copy and a number alone can be guessed, so the
// content would be answered to anyone who can compute or copy a digest. The
// price is that a lost QR cannot be recovered by the municipality from the
// register; the municipality still has its own records. The content digest is
// stored in clear, so that an altered QR (a digest that is not the one issued)
// is told apart from an unknown number.
//
// # Refusals
//
// Verification answers, in order of checking: the text is not a QR of this
// system (ErrMalformed); the municipality has no seal here or the signature
// does not verify (ErrBadSignature: forged, or signed by another key); the
// number is not in the register (ErrUnknown); the QR's municipality, time or
// digest differ from the register's, or the secret does not open the content
// (ErrAltered). Every verification, answered or refused, leaves one row in
// seal_verifications — the outcome, the channel and the number, never the
// content.
//
// # PDF signature details
//
// SignPDF and VerifyPDF (pdf.go) are the seal's policy over package cms,
// which makes and checks the PAdES signature itself (a CAdES-BES SignedData
// per RFC 5652 §5 with the ESS signing-certificate-v2 attribute of RFC 5035,
// and no signing-time, which PAdES forbids): a seal signature is a
// certification signature (DocMDP: no changes permitted, in force through
// the catalog's /Perms) whose claimed signing time is the dictionary's /M
// from the injected clock. With a Stamper (Config.Stamper) it is PAdES
// B-LT: a signature time-stamp, then a DSS with the seal's chain, the seal
// CA's CRL (Authority.CRL: the seal CA has no OCSP responder) and the TSA's
// chain; with Config.Archive also a document time-stamp (B-LTA).
// VerifyPDF adds that nothing but validation data and document time-stamps
// follows the signature, that the signer chains to the seal CA, and reads
// the seal's status from the DSS's CRL. The dictionary's /Name, /Location
// and /Reason are ASCII: the names are in the certificate.
package seal

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/mynaplat/mynaplat/internal/httpapi"
)

// Errors of this package. The HTTP edge (http.go) maps them to answers.
var (
	// ErrInvalid is a request this package cannot carry out as given.
	ErrInvalid = errors.New("seal: invalid request")
	// ErrMalformed is QR text that is not a payload of this system.
	ErrMalformed = errors.New("seal: not a certificate QR code")
	// ErrBadSignature is a QR payload whose signature does not verify with
	// its municipality's key.
	ErrBadSignature = errors.New("seal: QR signature is not valid")
	// ErrUnknownMunicipality is a municipality code without a seal here.
	ErrUnknownMunicipality = errors.New("seal: no seal for this municipality")
	// ErrUnknown is a certificate number the register does not hold.
	ErrUnknown = errors.New("seal: no such certificate was issued")
	// ErrAltered is a QR whose signed facts differ from the register's.
	ErrAltered = errors.New("seal: the certificate does not match the register")
	// ErrDuplicate is a certificate number already in the register.
	ErrDuplicate = errors.New("seal: certificate number already issued")
	// ErrNoSignature is a PDF without a signature.
	ErrNoSignature = errors.New("seal: the PDF is not signed")
	// ErrPDFSignature is a PDF signature that does not verify: the file was
	// changed after signing, or the signature is broken.
	ErrPDFSignature = errors.New("seal: the PDF signature is not valid")
	// ErrUntrusted is a PDF signed by a certificate that does not chain to
	// the given roots.
	ErrUntrusted = errors.New("seal: the PDF signer is not trusted")
	// ErrRevoked is a seal that a CRL in the PDF's DSS lists as revoked
	// before the signature's time-stamp.
	ErrRevoked = errors.New("seal: the seal was revoked before the signature")
	// ErrNoQR is a PDF whose first page shows no readable QR code.
	ErrNoQR = errors.New("seal: no QR code found on the first page")
)

// Errors of the HTTP API only.
var (
	errBody   = fmt.Errorf("%w: the body is not {\"qr\": …}", ErrInvalid)
	errFailed = errors.New("seal: the register could not be read")
)

// The verification API's problem codes: the outcomes of a refused
// verification.
const (
	CodeBadRequest   httpapi.Code = "bad_request"
	CodeMalformed    httpapi.Code = httpapi.Code(Malformed)
	CodeBadSignature httpapi.Code = httpapi.Code(BadSignature)
	CodeUnknown      httpapi.Code = httpapi.Code(Unknown)
	CodeAltered      httpapi.Code = httpapi.Code(Altered)
	CodeFailed       httpapi.Code = httpapi.Code(Failed)
)

// Rules answers the verification API's errors with the texts the /verify
// page shows (outcomeText).
var Rules = httpapi.Rules{
	{Err: errBody, Status: http.StatusBadRequest, Code: CodeBadRequest,
		JA: "本文は {\"qr\": \"…\"} のJSONにしてください。", EN: `The body must be JSON {"qr": "…"}.`},
	{Err: ErrMalformed, Status: http.StatusBadRequest, Code: CodeMalformed, JA: outcomeText[Malformed].JA, EN: outcomeText[Malformed].EN},
	{Err: ErrBadSignature, Status: http.StatusUnprocessableEntity, Code: CodeBadSignature, JA: outcomeText[BadSignature].JA, EN: outcomeText[BadSignature].EN},
	{Err: ErrUnknown, Status: http.StatusNotFound, Code: CodeUnknown, JA: outcomeText[Unknown].JA, EN: outcomeText[Unknown].EN},
	{Err: ErrAltered, Status: http.StatusUnprocessableEntity, Code: CodeAltered, JA: outcomeText[Altered].JA, EN: outcomeText[Altered].EN},
	{Err: errFailed, Status: http.StatusServiceUnavailable, Code: CodeFailed, JA: outcomeText[Failed].JA, EN: outcomeText[Failed].EN},
}
