-- +goose Up
-- The W3C trace ID of the request that wrote the row (trace.ID), so that a
-- read can be followed from the operator's request to the centre's audit.
ALTER TABLE jpki_audit ADD COLUMN trace_id TEXT NOT NULL DEFAULT '';
-- +goose Down
ALTER TABLE jpki_audit DROP COLUMN trace_id;
