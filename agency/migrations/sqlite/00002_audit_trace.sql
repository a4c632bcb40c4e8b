-- +goose Up
-- The W3C trace ID of the request that wrote the row (trace.ID), so that an
-- access can be followed through the roles' logs.
ALTER TABLE agency_audit ADD COLUMN trace_id TEXT NOT NULL DEFAULT '';
-- +goose Down
ALTER TABLE agency_audit DROP COLUMN trace_id;
