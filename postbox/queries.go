package postbox

const (
	qUpsertParty = `INSERT INTO postbox_parties (id, name_ja, name_en, corporate_number, roles, endpoint, out_key, in_key_hash, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (id) DO UPDATE SET name_ja = $2, name_en = $3, corporate_number = $4, roles = $5, endpoint = $6, out_key = $7, in_key_hash = $8`
	partyCols   = `id, name_ja, name_en, corporate_number, roles, endpoint, out_key`
	qParties    = `SELECT ` + partyCols + ` FROM postbox_parties ORDER BY id`
	qParty      = `SELECT ` + partyCols + ` FROM postbox_parties WHERE id = $1`
	qPartyByKey = `SELECT ` + partyCols + ` FROM postbox_parties WHERE in_key_hash = $1`

	qInsertBox   = `INSERT INTO postbox_boxes (id, platform_id, created_at) VALUES ($1, $2, $3)`
	qBoxOfPerson = `SELECT id, platform_id, created_at FROM postbox_boxes WHERE platform_id = $1`
	qBox         = `SELECT id, platform_id, created_at FROM postbox_boxes WHERE id = $1`

	qUpsertSigner = `INSERT INTO postbox_signers (serial, box_id, not_after, seen_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (serial) DO UPDATE SET seen_at = $4`
	qSignerBox = `SELECT box_id FROM postbox_signers WHERE serial = $1`

	qUpsertConsent = `INSERT INTO postbox_consents (box_id, party_id, customer_ref, deliver, address_notice, signed, created_at, withdrawn_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)
ON CONFLICT (box_id, party_id) DO UPDATE SET customer_ref = $3, deliver = $4, address_notice = $5, signed = $6, created_at = $7, withdrawn_at = NULL`
	qWithdrawConsent = `UPDATE postbox_consents SET withdrawn_at = $1 WHERE box_id = $2 AND party_id = $3 AND withdrawn_at IS NULL`
	qConsents        = `SELECT party_id, customer_ref, deliver, address_notice, created_at FROM postbox_consents
WHERE box_id = $1 AND withdrawn_at IS NULL ORDER BY party_id`
	qConsentFor = `SELECT box_id FROM postbox_consents WHERE party_id = $1 AND customer_ref = $2 AND deliver = 1 AND withdrawn_at IS NULL`

	qInsertDocument = `INSERT INTO postbox_documents (id, box_id, party_id, delivery_id, doc_type, title, format, data, power, received_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`
	qDocumentByDelivery = `SELECT id, box_id FROM postbox_documents WHERE party_id = $1 AND delivery_id = $2`
	docCols             = `id, party_id, doc_type, title, format, data, power, received_at`
	qDocuments          = `SELECT ` + docCols + ` FROM postbox_documents WHERE box_id = $1 ORDER BY received_at DESC, id`
	qDocument           = `SELECT ` + docCols + ` FROM postbox_documents WHERE box_id = $1 AND id = $2`

	qInsertSend = `INSERT INTO postbox_sends (id, box_id, party_id, kind, notice_id, subject, envelope, state, attempts, next_at, lease_until, created_at, receipt, client_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, $8, 0, $8, '', $9)`
	qInsertLog     = `INSERT INTO postbox_send_log (send_id, at, event, detail) VALUES ($1, $2, $3, $4)`
	sendCols       = `id, party_id, kind, subject, state, attempts, created_at, acked_at, receipt`
	qSendsOfBox    = `SELECT ` + sendCols + ` FROM postbox_sends WHERE box_id = $1 ORDER BY created_at DESC, id`
	qSendOfParty   = `SELECT ` + sendCols + ` FROM postbox_sends WHERE id = $1 AND party_id = $2`
	qSendOfClient  = `SELECT ` + sendCols + ` FROM postbox_sends WHERE box_id = $1 AND client_id = $2`
	qSendLog       = `SELECT at, event, detail FROM postbox_send_log WHERE send_id = $1 ORDER BY id`
	qDueSends      = `SELECT id FROM postbox_sends WHERE state = 'pending' AND next_at <= $1 AND lease_until <= $1 ORDER BY next_at LIMIT $2`
	qLeaseSend     = `UPDATE postbox_sends SET lease_until = $1 WHERE id = $2 AND state = 'pending' AND lease_until <= $3`
	qSendBody      = `SELECT party_id, envelope, attempts FROM postbox_sends WHERE id = $1`
	qSendFailed    = `UPDATE postbox_sends SET attempts = attempts + 1, next_at = $1, lease_until = 0 WHERE id = $2`
	qSendDelivered = `UPDATE postbox_sends SET state = 'delivered', attempts = attempts + 1, acked_at = $1, receipt = $2, lease_until = 0 WHERE id = $3`
	qSendRefused   = `UPDATE postbox_sends SET state = 'refused', attempts = attempts + 1, lease_until = 0 WHERE id = $1`
	qNoticeSends   = `SELECT party_id FROM postbox_sends WHERE box_id = $1 AND notice_id = $2`

	qState    = `SELECT value FROM postbox_state WHERE name = $1`
	qSetState = `INSERT INTO postbox_state (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = $2`

	qInsertNotice = `INSERT INTO postbox_notices (id, box_id, old_serial, revoked_at, created_at) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (old_serial) DO NOTHING`
	noticeCols    = `id, old_serial, revoked_at, created_at, answered_at`
	qNotices      = `SELECT ` + noticeCols + ` FROM postbox_notices WHERE box_id = $1 ORDER BY created_at DESC, id`
	qNotice       = `SELECT ` + noticeCols + ` FROM postbox_notices WHERE box_id = $1 AND id = $2`
	qAnswerNotice = `UPDATE postbox_notices SET answered_at = $1 WHERE id = $2 AND answered_at IS NULL`

	qInsertSession = `INSERT INTO postbox_sessions (token_hash, box_id, terminal, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`
	qSession       = `SELECT box_id, created_at, expires_at FROM postbox_sessions WHERE token_hash = $1 AND ended_at IS NULL`
	qTouchSession  = `UPDATE postbox_sessions SET expires_at = $1 WHERE token_hash = $2 AND ended_at IS NULL`
	qEndSession    = `UPDATE postbox_sessions SET ended_at = $1 WHERE token_hash = $2 AND ended_at IS NULL RETURNING box_id`

	qInsertAudit = `INSERT INTO postbox_audit (at, box_id, actor, action, detail, trace_id) VALUES ($1, $2, $3, $4, $5, $6)`
	qAudit       = `SELECT at, actor, action, detail FROM postbox_audit WHERE box_id = $1 ORDER BY id DESC LIMIT $2`
)
