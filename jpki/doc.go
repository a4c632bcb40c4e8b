// Package jpki is the JPKI centre (公的個人認証サービス, run by J-LIS in the real
// world): the two self-signed certification authorities — 署名用 (signing) and
// 利用者証明用 (user authentication) — issuance of the certificates on an
// emulated My Number Card at the municipal counter, revocation with RFC 5280
// reason codes, CRLs (RFC 5280 §5), an OCSP responder (RFC 6960) with a
// delegated responder certificate and nonce echo (§4.4.1), linkage records
// (証明書紐付け情報: the signing and authentication certificate of one card;
// 証明書新旧紐付け情報: old → new on renewal or change of address) and the
// revocation feed (異動等失効情報) for platform operators.
//
// The certificate profiles follow the real JPKI certificates as far as public
// sources show them (see shared/docs/jpki-card.md §8): C=JP PrintableString and
// UTF8String elsewhere in names, an issuerAltName of 公的個人認証サービス, a
// directoryName CRL distribution point (plus a URL for test usability),
// critical certificatePolicies, and six UTF8String otherNames in the signing
// certificate's subjectAltName. Every name carries O=JPKI-TEST so that nothing
// issued here can be mistaken for production.
//
// The centre never sees a private key of a card (keys are generated inside the
// card and only public keys come out), never stores a PIN, and never stores the
// My Number. A municipal counter reaches it through the counter API
// (counter_http.go, CounterClient): the centre certifies the public keys a
// card made and revokes; the card's own steps run at the counter, in
// Personaliser, the one sequence the counter's pages, the CLI and the demo
// seeding share.
package jpki
