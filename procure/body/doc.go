// Package body is the procuring bodies' side of government procurement
// (issue 19 §3; docs/procurement.md §2, §4.2, §5.4–5.5, §9): each body —
// a national one such as 関東地方整備局 and a local one such as 須坂市 —
// is its own endpoint under /bodies/{body}/ with its own keys, its own
// staff office (procure-body:{body}) and its own rows, and reads the
// shared qualification register only through procure.Client.
//
// It holds:
//
//   - the officers' personal opening keys (officer.go): each officer sets
//     an opening passphrase once on their own signed-in page; it seals an
//     RSA key of theirs (sealedbid, 2-of-2 under the one passphrase) and
//     is never stored;
//
//   - tenders (tender.go): the opening key made by sealedbid.NewOpening,
//     its k-of-n shares sealed to the named officers' personal keys, the
//     estimate sealed to the opening certificate at once (its plaintext is
//     never stored); the public pages, the Atom feed and the tender as
//     JSON for the company desk;
//
//   - bid intake (bid.go): the body never sees a bid in clear. The desk
//     signs, time-stamps and seals the bid; the body checks what it can
//     see (tender open, deadline by its clock, the envelope's form and
//     recipient, size), stores the envelope and answers a receipt signed
//     with its receipt key (ECDSA P-256, certified by the body's own CA
//     published at /bodies/{body}/ca.crt) and time-stamped (CMS SignedData,
//     CAdES B-T). A business's later bid replaces its earlier one. The
//     signed content is BidContent (bidcontent.go), made and sealed with
//     SealBid by the desk, the tests and the bench;
//
//   - the opening and award (opening.go, §5.6): k officers present their
//     passphrases, each on their own session; the shares wait in memory
//     only; with k the key is rebuilt, every current bid and the estimate
//     decrypted and the key closed; each bid is checked (signature and
//     time-stamp, deadline, content, JPKI revocation, delegation.Check
//     with matter 入札, procurement's power rules, the qualification at
//     the signing time through procure.Client, the grade), the lowest
//     valid price within the estimate wins (ties by lot), and the result
//     is stored once and published.
//
//   - contracts (contract.go, contracthttp.go, contractpages.go, §5.7):
//     an officer prepares the contract PDF of an award (procure/contract);
//     the winning bid's agent signs it through the API (the register's
//     card login as bearer; delegation.Check with 契約), an officer
//     second (their card, the JPKI linkage), the body makes it B-LTA; the
//     inspection, acceptance and invoice (請求) are appended to its
//     timeline, which both parties see and download as the bundle
//     `mynaplat verify` checks.
package body
