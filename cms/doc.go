// Package cms makes and checks the electronic signatures of the platform:
// CMS SignedData (RFC 5652 §5) with one signer, carrying the CAdES baseline
// attributes of ETSI EN 319 122-1 (content-type, message-digest and the ESS
// signing-certificate-v2 of RFC 5035), and optionally a signature
// time-stamp: an RFC 3161 time-stamp token (§2.4) over the signature value,
// in the unsigned attribute id-aa-signatureTimeStampToken (RFC 3161
// Appendix A), which makes the signature CAdES B-T. The same SignedData,
// detached over the /ByteRange bytes, is the PAdES signature (ETSI EN
// 319 142-1, SubFilter ETSI.CAdES.detached) in the signature dictionary of a
// PDF (PDF 32000-1 §12.8): SignPDF and VerifyPDF.
//
// # Making
//
// Sign builds the DER itself with cryptobyte: general CMS libraries add a
// signing-time attribute read from the wall clock, which CAdES makes
// optional and PAdES forbids; here the trusted time is the time-stamp's
// genTime. The signing key is only a crypto.Signer, so a card's key (which
// can do nothing but Public and Sign) signs as well as a key in memory:
// RSA (PKCS #1 v1.5) or ECDSA, always with SHA-256. The signer's key signs
// once; Sign checks the signature it got against the certificate before it
// uses it.
//
// # Checking
//
// Verify parses with github.com/smallstep/pkcs7 and checks, in order, the
// structure, the signing certificate, the message digest, the signature and
// the time-stamp tokens; each failure wraps one of the sentinels below,
// which the caller maps to its report (ETSI EN 319 102-1 sub-indications).
// Verify does not decide whether the signer is trusted: the chain and the
// revocation of the signer's certificate are the caller's policy. A
// time-stamp token, on the other hand, is only worth its TSA, so it is
// checked against the TSA roots the caller gives.
//
// # PDF
//
// The package writes its own incremental updates (PDF 32000-1 §7.5.6,
// pdfupdate.go), read with github.com/digitorus/pdf; docs/pades.md says why
// the pinned digitorus/pdfsign was dropped. SignPDF adds an invisible
// signature field whose /Contents is the SignedData over the /ByteRange
// bytes (SubFilter ETSI.CAdES.detached); a certification signature has the
// DocMDP transform (/P 1, /V /1.2) and is put in force by the catalog's
// /Perms (§12.8.4). AddDSS adds a Document Security Store with the
// certificates, OCSP answers and CRLs a verifier needs (PAdES B-LT,
// ETSI EN 319 142-1 §5.4.2), AddDocTimeStamp a document time-stamp
// (/SubFilter ETSI.RFC3161, B-LTA, §5.4.3). VerifyPDF checks every
// signature and document time-stamp and says, for each, whether what came
// after it is only such validation data (OnlyLTVAfter). The dictionary's
// /Name, /Location and /Reason are printable ASCII: the names are in the
// certificate, and romaji reads everywhere.
package cms

import "errors"

// Errors of Verify and VerifyPDF. Each one names the ETSI EN 319 102-1
// sub-indication it stands for.
var (
	// ErrFormat is input that is not a SignedData this package checks:
	// not DER, not SignedData, not exactly one signer, an unsupported
	// algorithm, a missing or mismatched attribute, no content (FORMAT_FAILURE).
	ErrFormat = errors.New("cms: not a well-formed signature")
	// ErrNoSigner is a SignedData whose signer's certificate is not in it,
	// or is not the one its signing-certificate-v2 attribute names
	// (NO_SIGNING_CERTIFICATE_FOUND).
	ErrNoSigner = errors.New("cms: the signing certificate is not found")
	// ErrHash is content whose digest is not the signed message-digest: the
	// content was changed after signing (HASH_FAILURE).
	ErrHash = errors.New("cms: the content does not match the signature")
	// ErrSignature is a signature value that does not verify with the
	// signer's key over the signed attributes (SIG_CRYPTO_FAILURE).
	ErrSignature = errors.New("cms: the signature value is not valid")
	// ErrTimestamp is a signature time-stamp token that is present but not
	// valid: not a token, a bad token signature, an imprint that is not over
	// this signature value, or a TSA certificate that does not chain to the
	// TSA roots at the time-stamp's time or is not a time-stamping
	// certificate.
	ErrTimestamp = errors.New("cms: the signature time-stamp is not valid")
	// ErrNoSignature is a PDF without a signature dictionary.
	ErrNoSignature = errors.New("cms: the PDF is not signed")
)
