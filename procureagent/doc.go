// Package procureagent is the agent's own pages for the procurement
// qualification (/procure/agent/, docs/procurement.md §5.2): on the
// company's computer with a card reader (a platform terminal of the kind a
// resident's PC is), the agent (代理人) logs in with their My Number Card,
// sees the companies they may act for (their powers of attorney in effect,
// which the register asks the delegation register for on their behalf),
// picks one, fills the one qualification application of that corporation, signs it with the card's signing certificate
// (time-stamped), and follows it through review: a correction the officer
// asked for is signed again as the next version.
//
// The agent also bids here (docs/procurement.md §5.5, bids.go): the open
// tenders of the procuring bodies (body.Client), the bid form under a power
// that may bid (入札, not sub-delegated), the opening certificate checked
// against the fingerprint the body's tender page names, the bid
// (body.BidContent) signed with the card and sealed on this terminal
// (body.SealBid), only the envelope posted, and the body's receipt verified
// (body.VerifyReceipt) and kept in the terminal's own file, so that the
// agent sees their bids and which a later bid replaced. The body never sees
// a bid in clear.
//
// After an award the agent signs the contract here (docs/procurement.md
// §5.7, contracts.go): the contracts of the tenders their companies won,
// read through the body's contract API with the card login as bearer; the
// contract PDF signed with the card as the agent (PAdES with a signature
// time-stamp, procure/contract), then the acceptance (受領) and the invoice
// (請求) as signed steps, each once; the body's report of the timeline and
// its timeline file, which `mynaplat verify` checks.
//
// It is the terminal side of package procure: the card and its signing
// password stay here (the terminal kit's signing step, with its limits and
// its report of a wrong password to the platform), and the pages reach the
// register only through procure.Client, with the card login's assertion as
// the bearer. Package procure never imports the card or the terminal.
package procureagent
