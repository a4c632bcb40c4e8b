package agency

const (
	qUpsertOffice = `INSERT INTO agency_offices (id, name_ja, name_en, in_key_hash, api_key_hash, postbox_url, postbox_key, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (id) DO UPDATE SET name_ja = $2, name_en = $3, in_key_hash = $4, api_key_hash = $5, postbox_url = $6, postbox_key = $7`
	qSetPostbox = `UPDATE agency_offices SET postbox_url = $1, postbox_key = $2 WHERE id = $3`
	qOffice     = `SELECT id, name_ja, name_en, postbox_url, postbox_key FROM agency_offices WHERE id = $1`
	qOffices    = `SELECT id, name_ja, name_en, postbox_url, postbox_key FROM agency_offices ORDER BY id`
	qInKey      = `SELECT in_key_hash FROM agency_offices WHERE id = $1`
	qAPIKey     = `SELECT api_key_hash FROM agency_offices WHERE id = $1`

	qSubmissionBySend = `SELECT id, receipt, received_at FROM agency_submissions WHERE office_id = $1 AND send_id = $2`
	qCountDelivery    = `UPDATE agency_submissions SET deliveries = deliveries + 1 WHERE id = $1`
	qInsertSubmission = `INSERT INTO agency_submissions (id, office_id, send_id, receipt, subject, applicant, overall, bundle_ok, received_at, deliveries, validated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $9)`
	qInsertDoc = `INSERT INTO agency_documents (submission_id, idx, name, doc_type, format, from_party, issuer_number, issuer_name, data, power, report)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`
	subCols       = `id, office_id, send_id, receipt, subject, applicant, overall, bundle_ok, received_at, deliveries, validated_at`
	qSubmissions  = `SELECT ` + subCols + ` FROM agency_submissions WHERE office_id = $1 ORDER BY received_at DESC, id`
	qSubmission   = `SELECT ` + subCols + ` FROM agency_submissions WHERE office_id = $1 AND id = $2`
	qDocs         = `SELECT name, doc_type, format, from_party, issuer_number, issuer_name, data, power, report FROM agency_documents WHERE submission_id = $1 ORDER BY idx`
	qRevalidated  = `UPDATE agency_submissions SET overall = $1, bundle_ok = $2, validated_at = $3 WHERE id = $4`
	qUpdateReport = `UPDATE agency_documents SET report = $1 WHERE submission_id = $2 AND idx = $3`
	qInsertAudit  = `INSERT INTO agency_audit (at, office_id, actor, action, submission_id, trace_id) VALUES ($1, $2, $3, $4, $5, $6)`
)
