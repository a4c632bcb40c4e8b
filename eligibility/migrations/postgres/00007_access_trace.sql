-- +goose Up
-- The W3C trace ID of the request that wrote the row (trace.ID), so that a
-- staff member's access can be followed through the logs.
ALTER TABLE elig_access_log ADD COLUMN trace_id TEXT NOT NULL DEFAULT '';
-- +goose Down
ALTER TABLE elig_access_log DROP COLUMN trace_id;
