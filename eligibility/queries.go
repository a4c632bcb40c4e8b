package eligibility

// The service's SQL, written once for SQLite and PostgreSQL (see package store).
const (
	qInsertInsurer = `INSERT INTO elig_insurers (number, name, api_key_hash, created_at) VALUES ($1, $2, $3, $4)`
	qInsurerByKey  = `SELECT number FROM elig_insurers WHERE api_key_hash = $1`
	qInsertInsured = `INSERT INTO elig_insured (id, insurer, symbol, number, branch, relation, name, kana, birth_date, sex, address,
copay_percent, elderly_percent, limit_category, specific_disease, acquired_on, lost_on, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18)`
	qEndCoverage = `UPDATE elig_insured SET lost_on = $1, updated_at = $2 WHERE id = $3 AND lost_on IS NULL`
	insuredCols  = `i.id, i.insurer, i.symbol, i.number, i.branch, i.relation, i.name, i.kana, i.birth_date, i.sex, i.address,
i.copay_percent, i.elderly_percent, i.limit_category, i.specific_disease, i.acquired_on, i.lost_on`
	qCandidates = `SELECT ` + insuredCols + `, l.platform_id FROM elig_insured i LEFT JOIN elig_links l ON l.insured_id = i.id
WHERE i.birth_date = $1 ORDER BY i.acquired_on, i.id`
	qLinkedTo = `SELECT ` + insuredCols + `, l.platform_id FROM elig_insured i JOIN elig_links l ON l.insured_id = i.id
WHERE l.platform_id = $1 ORDER BY i.acquired_on DESC, i.id`
	qInsertLink = `INSERT INTO elig_links (insured_id, platform_id, linked_at, via) VALUES ($1, $2, $3, $4)`
	// A link already waiting (or decided) for this pair is not queued again;
	// ON CONFLICT rather than a caught error, which would abort a
	// PostgreSQL transaction.
	qInsertQueue = `INSERT INTO elig_link_queue (id, platform_id, insured_id, mismatches, status, created_at, person) VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (platform_id, insured_id) DO NOTHING`
	qPendingQueue   = `SELECT id, platform_id, insured_id, mismatches, status FROM elig_link_queue WHERE status = 'pending' ORDER BY created_at, id`
	qQueueItem      = `SELECT platform_id, insured_id FROM elig_link_queue WHERE id = $1 AND status = 'pending'`
	qDecideQueue    = `UPDATE elig_link_queue SET status = $1, decided_at = $2, decided_by = $3 WHERE id = $4`
	qInsertFacility = `INSERT INTO elig_facilities (code, name, api_key_hash, created_at) VALUES ($1, $2, $3, $4)`
	qFacilityByKey  = `SELECT code FROM elig_facilities WHERE api_key_hash = $1`
	qFacilityName   = `SELECT name FROM elig_facilities WHERE code = $1`
	// A check with a client ID already recorded is not recorded again.
	qInsertCheck = `INSERT INTO elig_checks (id, at, facility, platform_id, terminal, validity, insured_id, consent, mode, client_id, warning, recorded_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (facility, client_id) DO NOTHING`
	qCheckByClient = `SELECT id, at, validity, insured_id, consent, mode, warning FROM elig_checks WHERE facility = $1 AND client_id = $2`
	qChecksOf      = `SELECT c.at, c.facility, COALESCE(f.name, ''), c.terminal, c.validity, c.consent, c.mode
FROM elig_checks c LEFT JOIN elig_facilities f ON f.code = c.facility WHERE c.platform_id = $1 ORDER BY c.at DESC, c.id`
	qFacilityChecks = `SELECT id, at, recorded_at, terminal, mode, validity, warning, client_id FROM elig_checks
WHERE facility = $1 ORDER BY at DESC, id LIMIT $2`
	qInsertFacilityTerminal = `INSERT INTO elig_facility_terminals (terminal_id, facility, created_at) VALUES ($1, $2, $3)`
	qTerminalFacility       = `SELECT facility FROM elig_facility_terminals WHERE terminal_id = $1`
	qInsuredByID            = `SELECT ` + insuredCols + `, l.platform_id FROM elig_insured i LEFT JOIN elig_links l ON l.insured_id = i.id WHERE i.id = $1`
	qByCardKey              = `SELECT ` + insuredCols + `, l.platform_id FROM elig_insured i LEFT JOIN elig_links l ON l.insured_id = i.id
WHERE i.insurer = $1 AND i.symbol = $2 AND i.number = $3 AND i.birth_date = $4 ORDER BY i.acquired_on DESC, i.id`
	qLinkOf = `SELECT platform_id FROM elig_links WHERE insured_id = $1`
	// How many records of the person's birth date changed since the last
	// link (no row: never linked).
	qPersonScan = `SELECT (SELECT COUNT(*) FROM elig_insured i WHERE i.birth_date = s.birth_date AND i.updated_at >= s.scanned_at)
FROM elig_person_scan s WHERE s.platform_id = $1`
	qUpsertPersonScan = `INSERT INTO elig_person_scan (platform_id, birth_date, scanned_at) VALUES ($1, $2, $3)
ON CONFLICT (platform_id) DO UPDATE SET birth_date = excluded.birth_date, scanned_at = excluded.scanned_at`
	qInsuredOwner = `SELECT insurer FROM elig_insured WHERE id = $1`
	qPendingFor   = `SELECT COUNT(*) FROM elig_link_queue WHERE platform_id = $1 AND status = 'pending'`
)

var allQueries = []string{qInsertInsurer, qInsurerByKey, qInsertInsured, qEndCoverage, qCandidates, qLinkedTo,
	qInsertLink, qInsertQueue, qPendingQueue, qQueueItem, qDecideQueue, qPendingFor, qInsuredOwner, qInsertFacility, qFacilityByKey, qInsertCheck, qChecksOf,
	qFacilityName, qCheckByClient, qFacilityChecks, qInsertFacilityTerminal, qTerminalFacility, qInsuredByID, qByCardKey, qLinkOf,
	qPersonScan, qUpsertPersonScan}
