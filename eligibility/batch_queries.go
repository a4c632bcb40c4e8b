package eligibility

// The batch pre-check's SQL (一括照会), written once for SQLite and
// PostgreSQL (see package store).
const (
	qBatchInsert = `INSERT INTO elig_batches (id, facility, file_name, status, total, done, errors, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`
	qBatchRowInsert = `INSERT INTO elig_batch_rows (batch_id, row_no, line, label, insurer, symbol, number, branch, birth_date,
error_ja, error_en, done_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`
	batchCols       = `id, facility, file_name, status, total, done, errors, created_at, finished_at`
	qBatchGet       = `SELECT ` + batchCols + ` FROM elig_batches WHERE id = $1`
	qBatchesOf      = `SELECT ` + batchCols + ` FROM elig_batches WHERE facility = $1 ORDER BY created_at DESC, id LIMIT $2`
	qBatchesRunning = `SELECT id FROM elig_batches WHERE status = 'running' ORDER BY created_at, id`
	qBatchPending   = `SELECT row_no, insurer, symbol, number, branch, birth_date FROM elig_batch_rows
WHERE batch_id = $1 AND done_at IS NULL ORDER BY row_no LIMIT $2`
	// A row gets its result once: the progress moves only when this
	// updates a row (see finishRow).
	qBatchRowDone = `UPDATE elig_batch_rows SET validity = $1, check_id = $2, result_insurer = $3, copay_percent = $4,
error_ja = $5, error_en = $6, done_at = $7 WHERE batch_id = $8 AND row_no = $9 AND done_at IS NULL`
	qBatchProgress = `UPDATE elig_batches SET done = done + 1, errors = errors + $1 WHERE id = $2`
	qBatchFinish   = `UPDATE elig_batches SET status = 'done', finished_at = $1
WHERE id = $2 AND status = 'running' AND NOT EXISTS (SELECT 1 FROM elig_batch_rows WHERE batch_id = $2 AND done_at IS NULL)`
	qBatchResults = `SELECT row_no, line, label, insurer, symbol, number, branch, birth_date, COALESCE(validity, ''), result_insurer,
copay_percent, error_ja, error_en, done_at IS NOT NULL FROM elig_batch_rows WHERE batch_id = $1 ORDER BY row_no`
)

var batchQueries = []string{qBatchInsert, qBatchRowInsert, qBatchGet, qBatchesOf, qBatchesRunning, qBatchPending,
	qBatchRowDone, qBatchProgress, qBatchFinish, qBatchResults}
