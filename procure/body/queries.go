package body

// Queries, in the PostgreSQL dialect that both engines accept (store doc).
// Every one names the body.
const (
	qInsertAudit = `INSERT INTO body_audit (body, at, actor, action, tender, outcome, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)`
	qAudit       = `SELECT at, actor, action, tender, outcome, detail FROM body_audit WHERE body = $1 AND tender = $2 ORDER BY id`

	qInsertOfficerKey = `INSERT INTO body_officer_keys (body, officer, name, certificate, sealed_a, sealed_b, created_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7)`
	qOfficerEnrolled = `SELECT COUNT(*) FROM body_officer_keys WHERE body = $1 AND officer = $2`
	qOfficers        = `SELECT officer, name FROM body_officer_keys WHERE body = $1 ORDER BY name, officer`
	qOfficerKey      = `SELECT certificate, sealed_a, sealed_b FROM body_officer_keys WHERE body = $1 AND officer = $2`

	qInsertTender = `INSERT INTO body_tenders (body, id, title, item, field, grade, deadline, threshold, certificate, fingerprint,
  sealed_estimate, state, published_by, published_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`
	qInsertTenderOfficer = `INSERT INTO body_tender_officers (body, tender, officer, share, sealed_passphrase) VALUES ($1, $2, $3, $4, $5)`
	qTender              = `SELECT ` + tenderColumns + ` FROM body_tenders t WHERE body = $1 AND id = $2`
	qTenders             = `SELECT ` + tenderColumns + ` FROM body_tenders t WHERE body = $1 ORDER BY published_at DESC, id LIMIT 200`
	qTenderState         = `SELECT state FROM body_tenders WHERE body = $1 AND id = $2`
	qSealedEstimate      = `SELECT sealed_estimate FROM body_tenders WHERE body = $1 AND id = $2`
	qTenderShares        = `SELECT share FROM body_tender_officers WHERE body = $1 AND tender = $2 ORDER BY officer`
	qTenderOfficerPass   = `SELECT sealed_passphrase FROM body_tender_officers WHERE body = $1 AND tender = $2 AND officer = $3`

	qLastSeq   = `SELECT COALESCE(MAX(seq), 0) FROM body_bids WHERE body = $1 AND tender = $2 AND corp_number = $3`
	qInsertBid = `INSERT INTO body_bids (body, id, tender, corp_number, seq, envelope, envelope_sha256, received_at, receipt)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`
	qCurrentBid  = `SELECT id FROM body_bids WHERE body = $1 AND tender = $2 AND corp_number = $3 AND replaced_by = '' AND id <> $4`
	qReplaceBid  = `UPDATE body_bids SET replaced_by = $1 WHERE body = $2 AND id = $3 AND replaced_by = ''`
	qOpenTender  = `UPDATE body_tenders SET state = $1, opened_at = $2, result = $3 WHERE body = $4 AND id = $5 AND state = $6`
	qWinnerPower = `UPDATE body_tenders SET winner_power = $1 WHERE body = $2 AND id = $3`
	qBids        = `SELECT id, tender, corp_number, seq, envelope, envelope_sha256, received_at, receipt, replaced_by FROM body_bids
  WHERE body = $1 AND tender = $2 ORDER BY received_at, seq, id`
)
