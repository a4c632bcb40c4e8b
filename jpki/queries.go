package jpki

// The centre's SQL, written once for SQLite and PostgreSQL (see package store).
const (
	qNextCounter = `INSERT INTO jpki_counters (name, n) VALUES ($1, $2)
ON CONFLICT (name) DO UPDATE SET n = jpki_counters.n + 1 RETURNING n`

	qAuthority       = `SELECT cert FROM jpki_authorities WHERE kind = $1`
	qInsertAuthority = `INSERT INTO jpki_authorities (kind, cert) VALUES ($1, $2)`

	qInsertResident = `INSERT INTO jpki_residents (id, name, kana, birth_date, sex, address, municipality, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`
	qUpdateResident = `UPDATE jpki_residents SET name = $1, address = $2, municipality = $3, updated_at = $4 WHERE id = $5`
	qCardResident   = `SELECT r.id, r.name, r.kana, r.birth_date, r.sex, r.address, r.municipality
FROM jpki_cards c JOIN jpki_residents r ON r.id = c.resident_id WHERE c.id = $1`
	qInsertCard = `INSERT INTO jpki_cards (id, resident_id, issued_at) VALUES ($1, $2, $3)`

	qInsertCertificate = `INSERT INTO jpki_certificates (kind, serial, card_id, der, not_before, not_after, issued_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)`
	certCols          = `kind, serial, card_id, der, not_before, not_after, revoked_at, reason`
	qCertificate      = `SELECT ` + certCols + ` FROM jpki_certificates WHERE kind = $1 AND serial = $2`
	qCertStatus       = `SELECT revoked_at, reason FROM jpki_certificates WHERE kind = $1 AND serial = $2`
	qCardCertificates = `SELECT ` + certCols + ` FROM jpki_certificates WHERE card_id = $1 ORDER BY issued_at DESC, kind, serial DESC`
	qCurrentCert      = `SELECT ` + certCols + ` FROM jpki_certificates
WHERE card_id = $1 AND kind = $2 AND revoked_at IS NULL AND not_after > $3 ORDER BY issued_at DESC, serial DESC LIMIT 1`
	qCertRevokedAt = `SELECT revoked_at FROM jpki_certificates WHERE kind = $1 AND serial = $2`
	qRevoke        = `UPDATE jpki_certificates SET revoked_at = $1, reason = $2 WHERE kind = $3 AND serial = $4 AND revoked_at IS NULL`

	qInsertLink = `INSERT INTO jpki_links (link, from_kind, from_serial, to_kind, to_serial, created_at) VALUES ($1, $2, $3, $4, $5, $6)`
	qLinksFrom  = `SELECT link, to_kind, to_serial FROM jpki_links WHERE from_kind = $1 AND from_serial = $2 ORDER BY created_at, to_serial`
	qLinksTo    = `SELECT link, from_kind, from_serial FROM jpki_links WHERE to_kind = $1 AND to_serial = $2 ORDER BY created_at, from_serial`

	qInsertRevocation = `INSERT INTO jpki_revocations (seq, kind, serial, reason, revoked_at) VALUES ($1, $2, $3, $4, $5)`
	qRevocationsAfter = `SELECT seq, kind, serial, reason, revoked_at FROM jpki_revocations WHERE seq > $1 ORDER BY seq LIMIT $2`

	qRevokedForCRL = `SELECT serial, revoked_at, reason FROM jpki_certificates
WHERE kind = $1 AND revoked_at IS NOT NULL AND not_after > $2 ORDER BY revoked_at, serial`
	qInsertCRL = `INSERT INTO jpki_crls (kind, number, this_update, next_update, der) VALUES ($1, $2, $3, $4, $5)`
	qPruneCRLs = `DELETE FROM jpki_crls WHERE kind = $1 AND number < $2`
	qLatestCRL = `SELECT number, this_update, next_update, der FROM jpki_crls WHERE kind = $1 ORDER BY number DESC LIMIT 1`

	qOCSPCached = `SELECT o.der, o.this_update, o.revoked, c.revoked_at FROM jpki_ocsp_cache o
JOIN jpki_certificates c ON c.kind = o.kind AND c.serial = o.serial WHERE o.kind = $1 AND o.serial = $2`
	qUpsertOCSPCache = `INSERT INTO jpki_ocsp_cache (kind, serial, der, this_update, revoked) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (kind, serial) DO UPDATE SET der = excluded.der, this_update = excluded.this_update, revoked = excluded.revoked`
	qDeleteOCSPCache = `DELETE FROM jpki_ocsp_cache WHERE kind = $1 AND serial = $2`

	qInsertOperator = `INSERT INTO jpki_operators (id, name, token_hash, created_at) VALUES ($1, $2, $3, $4)`
	qOperatorByHash = `SELECT id, name FROM jpki_operators WHERE token_hash = $1 AND disabled = 0`

	qInsertAudit = `INSERT INTO jpki_audit (id, at, actor, action, subject, trace_id) VALUES ($1, $2, $3, $4, $5, $6)`
	qAuditSince  = `SELECT at, actor, action, subject FROM jpki_audit WHERE at >= $1 ORDER BY at, id`

	qReply      = `SELECT request_hash, answer FROM jpki_counter_replies WHERE caller = $1 AND idem_key = $2`
	qClaimReply = `INSERT INTO jpki_counter_replies (caller, idem_key, action, request_hash, answer, created_at) VALUES ($1, $2, $3, $4, $5, $6)`
	qSetReply   = `UPDATE jpki_counter_replies SET answer = $1 WHERE caller = $2 AND idem_key = $3`
	qInsertCall = `INSERT INTO jpki_counter_calls (at, caller, action, card_id, subject, result, trace_id, town, staff_platform_id, staff, approver_platform_id, approver, identity,
staff_number, approver_number)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`
	qInsertCounterAudit = `INSERT INTO jpki_audit (id, at, actor, action, subject, trace_id, staff, approver, identity) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`
	qTownCards          = `SELECT c.id FROM jpki_cards c JOIN jpki_residents r ON r.id = c.resident_id
WHERE $1 = '' OR r.municipality = $1 ORDER BY c.issued_at DESC, c.id DESC LIMIT $2`
	qCardOfCert = `SELECT card_id FROM jpki_certificates WHERE kind = $1 AND serial = $2`
	qCardCalls  = `SELECT at, action, card_id, subject, town, staff_number, approver_number FROM jpki_counter_calls
WHERE card_id = $1 AND result = 'OK' ORDER BY at DESC, id DESC LIMIT $2`
)

// allQueries is every statement, for the placeholder-order test.
var allQueries = []string{qNextCounter, qAuthority, qInsertAuthority, qInsertResident, qUpdateResident,
	qCardResident, qInsertCard, qInsertCertificate, qCertificate, qCertStatus, qCardCertificates,
	qCurrentCert, qCertRevokedAt, qRevoke, qInsertLink, qLinksFrom, qLinksTo, qInsertRevocation,
	qRevocationsAfter, qRevokedForCRL, qInsertCRL, qPruneCRLs, qLatestCRL, qOCSPCached,
	qUpsertOCSPCache, qDeleteOCSPCache, qInsertOperator, qOperatorByHash, qInsertAudit, qAuditSince,
	qReply, qClaimReply, qSetReply, qInsertCall, qInsertCounterAudit, qTownCards, qCardOfCert, qCardCalls}
