package eligibility

// The SQL of the insurer back office (office.go, officeweb.go), written once
// for SQLite and PostgreSQL like queries.go.
const (
	qOfficeInsurerName = `SELECT name FROM elig_insurers WHERE number = $1`
	qOfficeRecord      = `SELECT ` + insuredCols + `, l.platform_id FROM elig_insured i LEFT JOIN elig_links l ON l.insured_id = i.id
WHERE i.id = $1 AND i.insurer = $2`
	// An empty symbol, number or kana matches every record. Kana is
	// compared without spaces of either width, as a part of the name.
	qOfficeSearch = `SELECT ` + insuredCols + `, l.platform_id FROM elig_insured i LEFT JOIN elig_links l ON l.insured_id = i.id
WHERE i.insurer = $1 AND ($2 = '' OR i.symbol = $2) AND ($3 = '' OR i.number = $3)
AND ($4 = '' OR REPLACE(REPLACE(i.kana, ' ', ''), '　', '') LIKE $4 ESCAPE '\')
ORDER BY i.kana, i.acquired_on DESC, i.id LIMIT $5 OFFSET $6`
	qOfficeQueue = `SELECT q.id, q.mismatches, q.person, q.created_at, ` + insuredCols + `, l.platform_id
FROM elig_link_queue q JOIN elig_insured i ON i.id = q.insured_id LEFT JOIN elig_links l ON l.insured_id = i.id
WHERE q.status = 'pending' AND i.insurer = $1 ORDER BY q.created_at, q.id LIMIT $2`
	qOfficeQueueItem = `SELECT q.platform_id, q.insured_id, i.insurer FROM elig_link_queue q JOIN elig_insured i ON i.id = q.insured_id
WHERE q.id = $1 AND q.status = 'pending'`
	qOfficeLog   = `INSERT INTO elig_access_log (at, actor, insurer, action, subject, trace_id) VALUES ($1, $2, $3, $4, $5, $6)`
	qOfficeLogOf = `SELECT at, actor, insurer, action, subject FROM elig_access_log WHERE insurer = $1
ORDER BY at DESC, id DESC LIMIT $2`
)

var officeQueries = []string{qOfficeInsurerName, qOfficeRecord, qOfficeSearch, qOfficeQueue, qOfficeQueueItem, qOfficeLog, qOfficeLogOf}
