-- +goose Up
-- The W3C trace ID of the caller's request (trace.ID), as in the other
-- audit rows.
ALTER TABLE cardco_calls ADD COLUMN trace_id TEXT NOT NULL DEFAULT '';
-- +goose Down
ALTER TABLE cardco_calls DROP COLUMN trace_id;
