package eligibility

// The SQL of payment with the card (pay.go), written once for SQLite and
// PostgreSQL (see package store).
const (
	qPayUnlink     = `UPDATE elig_pay_links SET unlinked_at = $1 WHERE platform_id = $2 AND unlinked_at IS NULL`
	qPayInsertLink = `INSERT INTO elig_pay_links (id, platform_id, token, last4, cert_serial, consent, signature, linked_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`
	qPayActiveLink = `SELECT id, token, last4, cert_serial, consent, signature, linked_at FROM elig_pay_links
WHERE platform_id = $1 AND unlinked_at IS NULL`
	qPayAudit = `INSERT INTO elig_pay_audit (at, platform_id, terminal, action, link_id, trace_id) VALUES ($1, $2, $3, $4, $5, $6)`
	qPayCheck = `SELECT platform_id, at FROM elig_checks WHERE id = $1 AND facility = $2`
	// A duplicate of a recorded payment (same facility and key) records
	// nothing; ON CONFLICT rather than a caught error, which would abort a
	// PostgreSQL transaction.
	qPayInsertPayment = `INSERT INTO elig_payments (id, facility, check_id, cardco_id, amount, refunded, status, last4, idem_key, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) ON CONFLICT (facility, idem_key) DO NOTHING`
	payCols          = `id, facility, check_id, cardco_id, amount, refunded, status, last4, idem_key, created_at`
	qPayByKey        = `SELECT ` + payCols + ` FROM elig_payments WHERE facility = $1 AND idem_key = $2`
	qPayByID         = `SELECT ` + payCols + ` FROM elig_payments WHERE id = $1 AND facility = $2`
	qPayRefundByKey  = `SELECT id, payment_id, amount, created_at FROM elig_payment_refunds WHERE facility = $1 AND idem_key = $2`
	qPayInsertRefund = `INSERT INTO elig_payment_refunds (id, payment_id, facility, cardco_id, amount, idem_key, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (facility, idem_key) DO NOTHING`
	// The payment's refunded total and status are the card company's
	// figures after the refund, so applying one answer twice changes nothing.
	qPayUpdateRefunded = `UPDATE elig_payments SET refunded = $1, status = $2, updated_at = $3 WHERE id = $4`
)

var payQueries = []string{qPayUnlink, qPayInsertLink, qPayActiveLink, qPayAudit, qPayCheck, qPayInsertPayment, qPayByKey, qPayByID,
	qPayRefundByKey, qPayInsertRefund, qPayUpdateRefunded}
