package procure

// Queries, in the PostgreSQL dialect that both engines accept (store doc).
const (
	qInsertAudit = `INSERT INTO procure_audit (at, actor, action, corp_number, application_id, outcome, detail)
  VALUES ($1, $2, $3, $4, $5, $6, $7)`
	qAudit = `SELECT at, actor, action, corp_number, application_id, outcome, detail FROM procure_audit
  WHERE application_id = $1 ORDER BY id`
	qUpsertBusiness = `INSERT INTO procure_businesses (corp_number, name, address, representative, founded, updated_at)
  VALUES ($1, $2, $3, $4, $5, $6)
  ON CONFLICT (corp_number) DO UPDATE SET name = excluded.name, address = excluded.address,
  representative = excluded.representative, founded = excluded.founded, updated_at = excluded.updated_at`
	qOpenApplication = `SELECT id, state, version FROM procure_applications
  WHERE corp_number = $1 AND state IN ('submitted', 'correction')`
	qInsertApplication = `INSERT INTO procure_applications (id, corp_number, kind, state, version, agent_pid, agent_name, power_id,
  created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)`
	qNextVersion = `UPDATE procure_applications SET state = 'submitted', kind = $1, version = $2, agent_pid = $3, agent_name = $4,
  power_id = $5, updated_at = $6 WHERE id = $7`
	qInsertVersion = `INSERT INTO procure_application_versions (application_id, version, content, cms, signed_at)
  VALUES ($1, $2, $3, $4, $5)`
	qInsertRating = `INSERT INTO procure_ratings (application_id, version, field, total, grade, points)
  VALUES ($1, $2, $3, $4, $5, $6)`
	qLatestQualification = `SELECT valid_until FROM procure_qualifications WHERE corp_number = $1
  ORDER BY valid_until DESC LIMIT 1`

	summaryColumns = `a.id, a.corp_number, b.name, a.kind, a.state, a.version, a.agent_name, a.updated_at,
  a.reason_code, a.note_ja, a.note_en`
	qApplicationsByState = `SELECT ` + summaryColumns + ` FROM procure_applications a
  JOIN procure_businesses b ON b.corp_number = a.corp_number WHERE a.state = $1 ORDER BY a.updated_at DESC, a.id LIMIT 500`
	qApplicationsByAgent = `SELECT ` + summaryColumns + ` FROM procure_applications a
  JOIN procure_businesses b ON b.corp_number = a.corp_number WHERE a.agent_pid = $1 ORDER BY a.updated_at DESC, a.id LIMIT 100`
	qApplication = `SELECT ` + summaryColumns + `, a.agent_pid, a.power_id, b.address, b.representative, v.content, v.cms, v.signed_at
  FROM procure_applications a JOIN procure_businesses b ON b.corp_number = a.corp_number
  JOIN procure_application_versions v ON v.application_id = a.id AND v.version = a.version WHERE a.id = $1`
	qRatings = `SELECT field, total, grade, points FROM procure_ratings WHERE application_id = $1 AND version = $2`

	qApplicationState = `SELECT corp_number, state FROM procure_applications WHERE id = $1`
	qDecide           = `UPDATE procure_applications SET state = $1, decided_by = $2, reason_code = $3, note_ja = $4, note_en = $5,
  updated_at = $6 WHERE id = $7`
	qLatestContent = `SELECT v.version, v.content FROM procure_application_versions v
  JOIN procure_applications a ON a.id = v.application_id AND a.version = v.version WHERE a.id = $1`
	qSupersede           = `UPDATE procure_qualifications SET superseded_at = $1 WHERE corp_number = $2 AND superseded_at IS NULL`
	qInsertQualification = `INSERT INTO procure_qualifications (id, corp_number, application_id, regions, valid_from, valid_until,
  granted_at, granted_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`
	qInsertQualificationField = `INSERT INTO procure_qualification_fields (qualification_id, field, grade, total, items)
  VALUES ($1, $2, $3, $4, $5)`
	qAssignCode = `UPDATE procure_businesses SET code_seq = (SELECT COALESCE(MAX(code_seq), 0) + 1 FROM procure_businesses)
  WHERE corp_number = $1 AND code_seq IS NULL`

	qualificationColumns = `q.id, q.corp_number, b.code_seq, b.name, b.address, b.representative, b.founded, q.regions,
  q.valid_from, q.valid_until, q.granted_at`
	// qQualificationAt is the business's qualification valid at $2, the
	// latest granted when a renewal overlaps.
	qQualificationAt = `SELECT ` + qualificationColumns + ` FROM procure_qualifications q
  JOIN procure_businesses b ON b.corp_number = q.corp_number
  WHERE q.corp_number = $1 AND q.valid_from <= $2 AND q.valid_until >= $2 ORDER BY q.granted_at DESC LIMIT 1`
	// qListAt is every qualification valid at $1, the latest granted of
	// each business.
	qListAt = `SELECT ` + qualificationColumns + ` FROM procure_qualifications q
  JOIN procure_businesses b ON b.corp_number = q.corp_number
  WHERE q.valid_from <= $1 AND q.valid_until >= $1 AND NOT EXISTS (
    SELECT 1 FROM procure_qualifications n WHERE n.corp_number = q.corp_number AND n.valid_from <= $1 AND n.valid_until >= $1
    AND n.granted_at > q.granted_at)
  ORDER BY b.code_seq LIMIT $2 OFFSET $3`
	qPowersSeen          = `SELECT DISTINCT power_id FROM procure_applications WHERE corp_number = $1 ORDER BY power_id`
	qQualificationFields = `SELECT field, grade, total, items FROM procure_qualification_fields WHERE qualification_id = $1`
)
