// Package tsa is the platform's time-stamp authority (RFC 3161): it answers
// time-stamp requests with time-stamp responses (RFC 3161 §2.4: TimeStampReq
// §2.4.1, TimeStampResp §2.4.2) over HTTP (§3.4: POST of
// application/timestamp-query, answered with application/timestamp-reply),
// and stamps in process for the signers of package cms, which put the
// tokens into their signatures as id-aa-signatureTimeStampToken (RFC 3161
// Appendix A; ETSI EN 319 122-1 B-T, and ETSI EN 319 142-1 B-T in the PDF
// signatures of PDF 32000-1 §12.8). A token is itself a SignedData (RFC
// 5652 §5) over a TSTInfo, signed by the unit and naming its certificate
// in an ESS signing-certificate-v2 attribute (RFC 5035).
//
//   - Keys: the TSA's own root and its time-stamping unit's key and
//     certificate (critical extended key usage id-kp-timeStamping only, RFC
//     3161 §2.3), kept in a directory (LoadOrCreate).
//   - Authority: the TSA itself, an http.Handler and a cms.Stamper. genTime
//     comes from the injected clock, in whole seconds, with an accuracy of
//     one second stated in every TSTInfo; the policy is Policy(), and a
//     request naming another is refused (unacceptedPolicy). The nonce is
//     echoed, and the unit's certificate is in the token only when certReq
//     asks for it (§2.4.1). Every refusal is a TimeStampResp with PKIStatus
//     rejection, its PKIFailureInfo and a statusString in English and
//     Japanese, over HTTP 200 (§2.4.2); only what is no time-stamp request
//     (another method, media type, or an oversized body) is an HTTP error.
//     /tsa is a machine API: it uses no cookie or session, so it sits
//     outside the site's browser CSRF and cross-origin checks
//     (web.Site.MachineAPI).
//   - Client: a cms.Stamper that asks a TSA over HTTP, with a nonce and
//     certReq, and checks the answer before it hands the token on.
//
// The token itself (TSTInfo and its SignedData) is made by
// github.com/digitorus/timestamp at the version pinned in go.mod
// (go-stack.md §3.5). That version draws the token's serial number itself
// (160 random bits) and its SignedData carries a signing-time attribute
// from the wall clock beside the ESS signing-certificate-v2; genTime, the
// time that counts, is the injected clock's.
package tsa

import (
	"encoding/asn1"
	"errors"
)

// Policy is the TSA policy under which every token is issued (TSTInfo
// policy, RFC 3161 §2.4.2): 2.999.392.3161.1. It lies under the 2.999 arc
// that ITU-T X.660 leaves for examples and needs no registration, as this
// is a test platform; a production TSA would use an arc of its own.
func Policy() asn1.ObjectIdentifier { return asn1.ObjectIdentifier{2, 999, 392, 3161, 1} }

// Errors of the Client.
var (
	// ErrRejected is a TSA's answer that grants no token (PKIStatus
	// rejection, waiting or revocation, RFC 3161 §2.4.2), or an HTTP error.
	ErrRejected = errors.New("tsa: the time-stamp request was rejected")
	// ErrBadResponse is an answer that is not a valid response to the
	// request sent: unreadable, a bad token signature, another nonce or
	// imprint, or no TSA certificate although certReq asked for it.
	ErrBadResponse = errors.New("tsa: the time-stamp response is not valid")
)
