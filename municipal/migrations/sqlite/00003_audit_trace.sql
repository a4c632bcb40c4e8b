-- +goose Up
-- The W3C trace ID of the request that wrote the row (trace.ID), so that a
-- kiosk print can be followed from the relay to the town's audit.
ALTER TABLE muni_audit ADD COLUMN trace_id TEXT NOT NULL DEFAULT '';
-- +goose Down
ALTER TABLE muni_audit DROP COLUMN trace_id;
