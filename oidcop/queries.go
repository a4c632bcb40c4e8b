package oidcop

// The provider's SQL, written once for SQLite and PostgreSQL ($N, in order).
const (
	qInsertAudit = `INSERT INTO oidc_audit (id, at, client_id, person_id, action, result, reason, trace_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`
	qSelectAudit = `SELECT at, client_id, person_id, action, result, reason FROM oidc_audit
WHERE ($1 = '' OR client_id = $1) ORDER BY at DESC, id DESC LIMIT $2`

	qInsertClient = `INSERT INTO oidc_clients (id, name, sector, redirect_uris, post_logout_uris, dev, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)`
	qSelectClients = `SELECT id, name, sector, redirect_uris, post_logout_uris, dev, created_at, disabled_at
FROM oidc_clients WHERE ($1 = '' OR id = $1) ORDER BY id`
	qClientExists  = `SELECT 1 FROM oidc_clients WHERE id = $1`
	qDisableClient = `UPDATE oidc_clients SET disabled_at = $1 WHERE id = $2 AND disabled_at = 0`

	qSetPFKey         = `UPDATE oidc_clients SET pf_key = $1 WHERE id = $2`
	qInsertClientKey  = `INSERT INTO oidc_client_keys (client_id, kid, alg, public_der, added_at) VALUES ($1, $2, $3, $4, $5)`
	qSelectClientKeys = `SELECT client_id, kid, alg, public_der, added_at, disabled_at FROM oidc_client_keys
WHERE ($1 = '' OR client_id = $1) ORDER BY client_id, added_at, kid`
	qClientKeyExists  = `SELECT 1 FROM oidc_client_keys WHERE client_id = $1 AND kid = $2`
	qDisableClientKey = `UPDATE oidc_client_keys SET disabled_at = $1 WHERE client_id = $2 AND kid = $3 AND disabled_at = 0`

	qSelectKeys = `SELECT kid, alg, public_jwk, signer_ref, created_at, signs_from, retired_at FROM oidc_keys
ORDER BY signs_from, kid`
	qInsertKey = `INSERT INTO oidc_keys (kid, alg, public_jwk, signer_ref, created_at, signs_from) VALUES ($1, $2, $3, $4, $5, $6)`
	// qRetireKeys marks every key still signing (or due to sign) before the
	// new one as stopping when the new one starts.
	qRetireKeys = `UPDATE oidc_keys SET retired_at = $1 WHERE retired_at = 0 AND kid <> $2`
	qDeleteKey  = `DELETE FROM oidc_keys WHERE kid = $1`

	qSelectSecret = `SELECT value FROM oidc_secrets WHERE name = $1`
	qInsertSecret = `INSERT INTO oidc_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`
)
