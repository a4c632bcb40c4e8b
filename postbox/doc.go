// Package postbox is the electronic post box (電子私書箱): one box per
// person, opened with the My Number Card through the common platform, into
// which organisations deliver signed documents, from which the person sends
// submissions — a signed application together with chosen certificates —
// to receiving agencies, and which tells the person when a change of
// address has revoked their signing certificate, so that they can have the
// businesses they chose told the new address (引越しワンストップ).
//
// The parties are separate HTTP endpoints with their own data (the
// businesses and agencies of packages business and agency): the post box
// keeps only their endpoint, the key it presents there and a hash of the
// key they present here. Delivery is at least once (each send has an ID the
// receiver de-duplicates by, a delivery log both sides can read, and
// retries with backoff until the receiver acknowledges); a send is made
// only to a party the person consented to, at most once per purpose.
//
// Signatures are CAdES with an RFC 3161 time-stamp (package cms); the post
// box checks the person's own signatures (consents, applications, notices)
// against the JPKI 署名用 CA, a fresh OCSP answer and the platform's
// resolution of the signer to the box's owner. It follows the JPKI
// revocation feed (異動等失効情報) as a registered operator. The box is
// keyed by the platform ID, never the My Number, and every read of a box's
// contents leaves an audit row.
//
// The owner reaches the box over the resident API (resident_http.go, with
// the typed client BoxClient) from the terminal they log in at with the
// card; the pages there are package mybox, which signs on the card. The
// post box never sees the card or a PIN, and does not import the card or
// the terminal kit.
package postbox
