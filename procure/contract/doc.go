// Package contract is the contract-to-invoice part of procurement (issue
// 19 §4, docs/procurement.md §5.7): the contract PDF a body generates for
// a won tender, its two PAdES signatures (ETSI EN 319 142-1: the agent's,
// then the officer's, each with a signature time-stamp, then B-LTA through
// verify.Policy.Extend), and the signed steps after it — inspection (検査),
// acceptance (受領) and the invoice (請求) — each a CMS SignedData (RFC
// 5652) with an RFC 3161 signature time-stamp over canonical JSON that
// names the SHA-256 of the element before it. A Timeline holds the PDF and
// the steps; Timeline.Verify checks all of it, and a timeline exported as
// one ZIP (Bundle) is what `mynaplat verify` validates element by element.
//
// It is a library: the bodies' role (procure/body) stores timelines,
// shows them, and decides who may act; keys reach it only as crypto.Signer.
package contract
