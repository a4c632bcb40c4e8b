// Package cardco is a credit-card company (クレジットカード会社) as an outside
// party of its own, as in the 酒田市 pilot where the My Number Card also pays
// the clinic bill through a card company: its own HTTP API under /cardco/,
// its own ledger (the cardco_ tables), and its own credentials for
// merchants. It never sees a My Number; a merchant (the clinic, the
// platform) never sees a card number, only an opaque token and the last four
// digits.
//
// Card numbers are 16-digit PANs with the Luhn check digit of ISO/IEC
// 7812-1 Annex B. The company is a test company, so the PAN is stored as
// given, but it is never returned or logged: answers carry only last4.
// Merchant API keys are stored as SHA-256 only.
//
// Money-moving requests (payments and refunds) are idempotent in the manner
// of the IETF draft "The Idempotency-Key HTTP Header Field"
// (draft-ietf-httpapi-idempotency-key-header): the client sends an
// Idempotency-Key (1–64 printable ASCII characters, scoped per merchant),
// and the first request with a key stores the key, a hash of the request
// and the response in the same transaction as the money it moved. So:
//
//   - a retry with the same key and the same request gets the stored answer
//     again (200 instead of 201, header Idempotent-Replayed: true) and is
//     never charged again;
//   - the same key with a different request (or on another endpoint) is
//     refused with 422;
//   - a request that fails, times out or dies with its process leaves
//     nothing behind — no charge and no key — because everything is one
//     store.Tx; the client may simply send it again with the same key;
//   - two concurrent requests with one key charge once. There is no
//     "in progress" state, since the key row only exists committed together
//     with the charge: the second request waits on the database (the SQLite
//     write lock, or on PostgreSQL the first one's row locks and the
//     primary key of cardco_idempotency), its transaction then fails with a
//     serialization failure or unique violation and runs again, finds the
//     first one's key and answers with its stored response. So the loser
//     never sees 409; it sees the winner's answer, marked as replayed.
//
// Outcomes are stored when the request reached the ledger: success (201),
// declines (402: insufficient_funds, invalid_token) and refusals of an
// over-refund (409). Requests refused before that — a malformed body (400),
// bad credentials (401), an unknown payment (404), a reused key (422) — and
// internal failures (5xx) store nothing, so they can be corrected and sent
// again with the same key.
//
// The v1 API captures at once (authorisation and capture in one step), so
// payments are captured, partially_refunded or refunded; the statuses
// authorized and voided are reserved in the schema for a later
// two-step flow.
package cardco
