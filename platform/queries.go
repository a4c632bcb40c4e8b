package platform

// The platform's SQL, written once for SQLite and PostgreSQL (see package store).
const (
	qInsertTerminal      = `INSERT INTO platform_terminals (id, kind, owner, name, hmac_key, created_at) VALUES ($1, $2, $3, $4, $5, $6)`
	qSetTerminalDisabled = `UPDATE platform_terminals SET disabled = $1 WHERE id = $2`
	qTerminals           = `SELECT id, kind, owner, name, hmac_key, disabled FROM platform_terminals ORDER BY id`
	qTerminal            = `SELECT id, kind, owner, name, hmac_key, disabled FROM platform_terminals WHERE id = $1`

	qInsertChallenge = `INSERT INTO platform_challenges (id, terminal_id, nonce, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`
	qChallenge       = `SELECT terminal_id, nonce, expires_at, used_at FROM platform_challenges WHERE id = $1`
	// The conditional update is what makes a challenge single-use across
	// instances: only one transaction can flip used_at from NULL.
	qConsumeChallenge    = `UPDATE platform_challenges SET used_at = $1 WHERE id = $2 AND used_at IS NULL`
	qInsertUsedChallenge = `INSERT INTO platform_challenges (id, terminal_id, nonce, created_at, expires_at, used_at) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (id) DO NOTHING`
	qChallengeNonce      = `SELECT nonce FROM platform_challenges WHERE id = $1`
	qDeleteOldChallenges = `DELETE FROM platform_challenges WHERE expires_at < $1`
	qInsertPerson        = `INSERT INTO platform_persons (id, created_at) VALUES ($1, $2)`
	qPersonExists        = `SELECT COUNT(*) FROM platform_persons WHERE id = $1`
	qPersonOfCert        = `SELECT person_id FROM platform_certs WHERE kind = $1 AND serial = $2`
	qInsertCertLink      = `INSERT INTO platform_certs (kind, serial, person_id, linked_at, via) VALUES ($1, $2, $3, $4, $5)`
	qInsertAudit         = `INSERT INTO platform_audit (id, at, person_id, terminal_id, action, result, reason, cert_serial, trace_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`
	qAuditOfPerson       = `SELECT a.at, a.terminal_id, COALESCE(t.kind, ''), COALESCE(t.owner, ''), COALESCE(t.name, ''), a.action, a.result, a.reason
FROM platform_audit a LEFT JOIN platform_terminals t ON t.id = a.terminal_id WHERE a.person_id = $1 ORDER BY a.at DESC, a.id LIMIT $2`
	qCountAudit = `SELECT COUNT(*) FROM platform_audit WHERE terminal_id = $1 AND result = $2`

	qNewestAuthCert = `SELECT serial FROM platform_certs WHERE person_id = $1 AND kind = 'auth' ORDER BY linked_at DESC, serial DESC LIMIT 1`
	qPersonCerts    = `SELECT kind, serial FROM platform_certs WHERE person_id = $1 ORDER BY linked_at DESC, kind, serial DESC LIMIT $2`

	qInsertKey = `INSERT INTO platform_keys (kid, private_key, created_at) VALUES ($1, $2, $3)`
	qKeys      = `SELECT kid, private_key, created_at FROM platform_keys WHERE created_at >= $1 ORDER BY created_at DESC, kid`
)

var allQueries = []string{qInsertTerminal, qSetTerminalDisabled, qTerminals, qTerminal, qInsertChallenge, qChallenge,
	qDeleteOldChallenges, qInsertUsedChallenge, qChallengeNonce, qInsertPerson, qPersonExists, qPersonOfCert, qInsertCertLink, qInsertAudit,
	qAuditOfPerson, qCountAudit, qNewestAuthCert, qPersonCerts, qInsertKey, qKeys}
