package cardco

// The card company's SQL, written once for SQLite and PostgreSQL (see package
// store). Only this package reads or writes the cardco_ tables.
const (
	qInsertCall     = `INSERT INTO cardco_calls (at, caller, action, last4, result, trace_id) VALUES ($1, $2, $3, $4, $5, $6)`
	qInsertMerchant = `INSERT INTO cardco_merchants (id, name, key_hash, created_at) VALUES ($1, $2, $3, $4)`
	qMerchantByKey  = `SELECT id, name FROM cardco_merchants WHERE key_hash = $1`

	qAccountByPAN  = `SELECT id, holder, expiry FROM cardco_accounts WHERE pan = $1`
	qInsertAccount = `INSERT INTO cardco_accounts (id, pan, last4, holder, expiry, credit_limit, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)`
	qInsertToken = `INSERT INTO cardco_tokens (token, account_id, created_at) VALUES ($1, $2, $3)`
	// COALESCE keeps the first revocation time, so revoking twice is harmless.
	qRevokeToken    = `UPDATE cardco_tokens SET revoked_at = COALESCE(revoked_at, $1) WHERE token = $2`
	qTokenAccount   = `SELECT a.id, a.last4, t.revoked_at FROM cardco_tokens t JOIN cardco_accounts a ON a.id = t.account_id WHERE t.token = $1`
	qAccountOfToken = `SELECT a.last4, a.holder, a.expiry, a.credit_limit, a.credit_limit - a.authorized - a.captured + a.refunded, t.revoked_at
FROM cardco_tokens t JOIN cardco_accounts a ON a.id = t.account_id WHERE t.token = $1`

	// The available-credit check and the debit are one conditional UPDATE,
	// so two payments on one card can never both pass the check.
	qDebit = `UPDATE cardco_accounts SET captured = captured + $1
WHERE id = $2 AND credit_limit - authorized - captured + refunded >= $3`
	qCredit        = `UPDATE cardco_accounts SET refunded = refunded + $1 WHERE id = $2`
	qInsertPayment = `INSERT INTO cardco_payments (id, merchant_id, token, account_id, last4, amount, currency, description, status, idem_key, request_hash, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`
	qPayment = `SELECT id, status, amount, refunded, currency, description, last4, created_at, account_id
FROM cardco_payments WHERE id = $1 AND merchant_id = $2`
	// Right-hand sides see the row as it was, so refunded in the CASE is the
	// amount refunded before this refund.
	qRefundPayment = `UPDATE cardco_payments SET refunded = refunded + $1,
status = CASE WHEN refunded + $2 = amount THEN 'refunded' ELSE 'partially_refunded' END
WHERE id = $3 AND amount - refunded >= $4 AND status IN ('captured', 'partially_refunded')`
	qInsertRefund = `INSERT INTO cardco_refunds (id, payment_id, merchant_id, amount, idem_key, created_at) VALUES ($1, $2, $3, $4, $5, $6)`

	qIdempotency       = `SELECT request_hash, status, response FROM cardco_idempotency WHERE merchant_id = $1 AND idem_key = $2`
	qInsertIdempotency = `INSERT INTO cardco_idempotency (merchant_id, idem_key, operation, request_hash, status, response, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)`
)

var allQueries = []string{qInsertMerchant, qMerchantByKey, qAccountByPAN, qInsertAccount, qInsertToken,
	qRevokeToken, qTokenAccount, qAccountOfToken, qDebit, qCredit, qInsertPayment, qPayment,
	qRefundPayment, qInsertRefund, qIdempotency, qInsertIdempotency}
