package staff

const grantCols = `id, platform_id, name, office, role, staff_number, valid_from, valid_until, revoked_at`

const (
	qInsertGrant = `INSERT INTO staff_grants (id, platform_id, name, office, role, staff_number, valid_from, valid_until, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`
	qRevokeGrant  = `UPDATE staff_grants SET revoked_at = $1 WHERE id = $2 AND revoked_at = 0`
	qGrant        = `SELECT ` + grantCols + ` FROM staff_grants WHERE id = $1`
	qAllGrants    = `SELECT ` + grantCols + ` FROM staff_grants ORDER BY created_at DESC, id`
	qOfficeGrants = `SELECT ` + grantCols + ` FROM staff_grants WHERE office = $1 ORDER BY created_at DESC, id`
	qPersonGrants = `SELECT ` + grantCols + ` FROM staff_grants WHERE platform_id = $1 ORDER BY created_at DESC, id`
	qInsertLogin  = `INSERT INTO staff_logins (assertion_id, platform_id, office, at, expires_at) VALUES ($1, $2, $3, $4, $5)`
	qPurgeLogins  = `DELETE FROM staff_logins WHERE expires_at < $1`
	qInsertAudit  = `INSERT INTO staff_audit (id, at, platform_id, name, office, role, action, result, detail)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`
	qAudit = `SELECT at, platform_id, name, office, role, action, result, detail FROM staff_audit
WHERE $1 = '' OR office = $1 ORDER BY at DESC, id LIMIT $2`
)
