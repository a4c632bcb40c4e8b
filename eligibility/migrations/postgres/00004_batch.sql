-- +goose Up
-- 一括照会 (batch pre-check): a facility's uploaded reservation list. status
-- is 'running' until every row has a result, then 'done'; done and errors
-- are the progress, kept in the same transaction as each row's result.
CREATE TABLE elig_batches (
  id TEXT PRIMARY KEY, facility TEXT NOT NULL, file_name TEXT NOT NULL, status TEXT NOT NULL,
  total INTEGER NOT NULL, done INTEGER NOT NULL, errors INTEGER NOT NULL,
  created_at BIGINT NOT NULL, finished_at BIGINT);
CREATE INDEX elig_batches_facility ON elig_batches(facility, created_at);
CREATE INDEX elig_batches_status ON elig_batches(status);
-- One row of the list. A row is done when done_at is set: a row refused at
-- upload is done at once with its error; a checked row has the validity and
-- the ID of the recorded check (whose client ID is batch:<batch>:<row>, so a
-- check interrupted before its row was updated is not recorded twice).
CREATE TABLE elig_batch_rows (
  batch_id TEXT NOT NULL REFERENCES elig_batches(id), row_no INTEGER NOT NULL, line INTEGER NOT NULL,
  label TEXT NOT NULL, insurer TEXT NOT NULL, symbol TEXT NOT NULL, number TEXT NOT NULL, branch TEXT NOT NULL,
  birth_date TEXT NOT NULL,
  validity TEXT, check_id TEXT, result_insurer TEXT NOT NULL DEFAULT '', copay_percent INTEGER NOT NULL DEFAULT 0,
  error_ja TEXT NOT NULL DEFAULT '', error_en TEXT NOT NULL DEFAULT '', done_at BIGINT,
  PRIMARY KEY (batch_id, row_no));
CREATE INDEX elig_batch_rows_pending ON elig_batch_rows(batch_id, done_at, row_no);
-- +goose Down
DROP TABLE elig_batch_rows;
DROP TABLE elig_batches;
