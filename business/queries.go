package business

const (
	qUpsertFirm = `INSERT INTO business_firms (id, name_ja, name_en, corporate_number, in_key_hash, postbox_url, postbox_key, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (id) DO UPDATE SET name_ja = $2, name_en = $3, corporate_number = $4, in_key_hash = $5, postbox_url = $6, postbox_key = $7`
	qSetPostbox = `UPDATE business_firms SET postbox_url = $1, postbox_key = $2 WHERE id = $3`
	firmCols    = `id, name_ja, name_en, corporate_number, postbox_url, postbox_key`
	qFirm       = `SELECT ` + firmCols + ` FROM business_firms WHERE id = $1`
	qFirms      = `SELECT ` + firmCols + ` FROM business_firms ORDER BY id`
	qInKey      = `SELECT in_key_hash FROM business_firms WHERE id = $1`

	qUpsertCustomer = `INSERT INTO business_customers (firm_id, customer_ref, name, birth_date, address, updated_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (firm_id, customer_ref) DO UPDATE SET name = $3, birth_date = $4, address = $5, updated_at = $6`
	customerCols   = `customer_ref, name, birth_date, address, updated_at`
	qCustomers     = `SELECT ` + customerCols + ` FROM business_customers WHERE firm_id = $1 ORDER BY customer_ref`
	qCustomer      = `SELECT ` + customerCols + ` FROM business_customers WHERE firm_id = $1 AND customer_ref = $2`
	qUpdateAddress = `UPDATE business_customers SET name = $1, address = $2, updated_at = $3 WHERE firm_id = $4 AND customer_ref = $5`

	qInsertNotice = `INSERT INTO business_notices (firm_id, send_id, receipt, customer_ref, old_address, new_address, signer_serial, signed_at, received_at, deliveries)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1)`
	noticeCols   = `send_id, receipt, customer_ref, old_address, new_address, signer_serial, signed_at, received_at, deliveries`
	qNotice      = `SELECT ` + noticeCols + ` FROM business_notices WHERE firm_id = $1 AND send_id = $2`
	qNotices     = `SELECT ` + noticeCols + ` FROM business_notices WHERE firm_id = $1 ORDER BY received_at DESC, send_id`
	qCountNotice = `UPDATE business_notices SET deliveries = deliveries + 1 WHERE firm_id = $1 AND send_id = $2`

	qUpsertPower = `INSERT INTO business_powers (firm_id, power_id, agent, doc_types, power) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (firm_id, power_id) DO UPDATE SET agent = $3, doc_types = $4, power = $5`
	qPowers = `SELECT power_id, agent, doc_types, power FROM business_powers WHERE firm_id = $1 ORDER BY power_id`

	qInsertIssued = `INSERT INTO business_issued (firm_id, delivery_id, customer_ref, doc_type, title, document_id, issued_by, issued_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`
	qIssued = `SELECT delivery_id, customer_ref, doc_type, title, document_id, issued_by, issued_at FROM business_issued
WHERE firm_id = $1 ORDER BY issued_at DESC, delivery_id`

	qInsertAudit = `INSERT INTO business_audit (at, firm_id, actor, action, detail, trace_id) VALUES ($1, $2, $3, $4, $5, $6)`
)
