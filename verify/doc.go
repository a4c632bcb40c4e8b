// Package verify validates the signed documents that travel through the
// post box — a person's application, a certificate an organisation issued
// through an authorised employee, a moving notice — and writes the result
// as a report a receiver can act on.
//
// It follows the signature validation model of ETSI EN 319 102-1 (§5.1.3,
// Table 5): the result is TOTAL_PASSED, TOTAL_FAILED or INDETERMINATE with
// a sub-indication (HASH_FAILURE, SIG_CRYPTO_FAILURE, REVOKED, EXPIRED,
// NOT_YET_VALID, NO_CERTIFICATE_CHAIN_FOUND, TRY_LATER …). INDETERMINATE is
// never a pass: it means a fact needed to decide could not be had.
//
// Signatures are CAdES (RFC 5652 SignedData) or PAdES (ETSI EN 319 142-1)
// made with the 署名用電子証明書 of a My Number Card. The signing time is the
// RFC 3161 time-stamp's (the proof of existence, EN 319 102-1 §5.6.2.3): a
// signature time-stamped before its certificate was revoked stays valid, one
// time-stamped after is REVOKED. Revocation comes from a fresh OCSP answer
// of the JPKI centre (RFC 6960); none is INDETERMINATE/TRY_LATER.
//
// A PAdES document may carry its own validation data (B-LT, ETSI EN 319
// 142-1 §5.4): a DSS after the signature with the signer's CA and an OCSP
// answer produced after the time-stamp. Then the answer in the document is
// used and the network is not asked, at any validation time: an answer
// after the proof of existence settles the status at the signing time
// (EN 319 102-1 §5.6.2.4). Document time-stamps after the DSS (B-LTA) must
// verify against the TSA roots; anything else appended after the signature
// is a FORMAT_FAILURE. Policy.Extend adds the DSS and a document time-stamp.
//
// An RFC 3161 time-stamp token given on its own (FormatTimestamp, told
// apart by DetectFormat) is validated too: its signature and its TSA's
// chain at genTime; the report shows the digest it covers.
//
// The report (report.go) carries what EN 319 102-1 asks a validation
// report to show: the time-stamps with their kind and TSA, the claimed and
// the proven signing time, the chain, the revocation data and where it came
// from (the DSS's OCSP answer or CRL, or the responder), a PDF's DocMDP
// certification and the power of attorney. It is one structure rendered as
// JSON (its tags), text (WriteText) and HTML (HTML, WritePage).
//
// A document that says it comes from an organisation (its content names an
// issuer by 法人番号) passes only when its signer acted within an electronic
// power of attorney (電子委任状) of that organisation's representative that
// covers the document type at the signing time; the delegation check is
// injected, and its result is part of the report.
package verify
