package jlis

// The kiosk's SQL, written once for SQLite and PostgreSQL (see package store).
const (
	qInsertJob = `INSERT INTO kiosk_jobs (id, kiosk, request_key, platform_id, municipality, cert_type, options, state, created_at, deadline, updated_at, trace_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $9, $11) ON CONFLICT (kiosk, request_key) DO NOTHING`
	jobCols   = `id, kiosk, platform_id, municipality, cert_type, options, state, created_at, deadline, cert_number, fee, pdf_sha256, reason`
	qJob      = `SELECT ` + jobCols + ` FROM kiosk_jobs WHERE id = $1`
	qJobByKey = `SELECT ` + jobCols + ` FROM kiosk_jobs WHERE kiosk = $1 AND request_key = $2`
	// A render is stored only while the job waits for it and its deadline
	// has not passed ($6 is now).
	qRender = `UPDATE kiosk_jobs SET state = $1, cert_number = $2, fee = $3, pdf = $4, pdf_sha256 = $5, updated_at = $6
WHERE id = $7 AND state = $8 AND deadline > $6`
	// The print takes the PDF out: only the job's kiosk and holder, only
	// once, only before the deadline ($2 is now).
	qPrint = `UPDATE kiosk_jobs SET state = $1, updated_at = $2
WHERE id = $3 AND kiosk = $4 AND platform_id = $5 AND state = $6 AND deadline > $2`
	qTakePDF = `SELECT pdf FROM kiosk_jobs WHERE id = $1`
	qDropPDF = `UPDATE kiosk_jobs SET pdf = NULL WHERE id = $1`
	qCancel  = `UPDATE kiosk_jobs SET state = $1, reason = $2, updated_at = $3, pdf = NULL WHERE id = $4 AND state IN ('requested', 'rendered')`
	qExpire  = `UPDATE kiosk_jobs SET state = $1, reason = $2, updated_at = $3, pdf = NULL
WHERE state IN ('requested', 'rendered') AND deadline <= $3`
)

const (
	// Filing one registration twice (same certificate, same 本籍地) keeps the first.
	qInsertRegistration = `INSERT INTO kiosk_registrations (id, platform_id, auth_serial, honseki, status, mismatches, sign_serial, signature, request, created_at,
holder_name, holder_birth, holder_sex)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (auth_serial, honseki) DO NOTHING`
	regCols              = `id, platform_id, auth_serial, honseki, status, mismatches, created_at, holder_name, holder_birth, holder_sex`
	qRegistrationByCert  = `SELECT ` + regCols + ` FROM kiosk_registrations WHERE auth_serial = $1 AND honseki = $2`
	qRegistrations       = `SELECT ` + regCols + ` FROM kiosk_registrations WHERE honseki = $1 AND status = $2 ORDER BY created_at, id`
	qRegistrationsOfCert = `SELECT ` + regCols + ` FROM kiosk_registrations WHERE auth_serial = $1 ORDER BY created_at, id`
	qDecideRegistration  = `UPDATE kiosk_registrations SET status = $1, decided_at = $2, decided_by = $3 WHERE id = $4 AND honseki = $5 AND status = $6`
)

const (
	qInsertKiosk = `INSERT INTO kiosk_terminals (id, store, key_hash, created_at) VALUES ($1, $2, $3, $4)`
	qHasKiosk    = `SELECT COUNT(*) FROM kiosk_terminals WHERE id = $1`
	qKioskByKey  = `SELECT id FROM kiosk_terminals WHERE key_hash = $1`
)

var allQueries = []string{qInsertKiosk, qHasKiosk, qKioskByKey, qRegistrationsOfCert, qInsertRegistration, qRegistrationByCert, qRegistrations, qDecideRegistration, qInsertJob, qJob, qJobByKey, qRender, qPrint, qTakePDF, qDropPDF, qCancel, qExpire}
