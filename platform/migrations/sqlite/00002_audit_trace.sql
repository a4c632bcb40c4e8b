-- +goose Up
-- The W3C trace ID of the request that wrote the row, so that one
-- authentication can be followed through the roles' logs and audit rows.
ALTER TABLE platform_audit ADD COLUMN trace_id TEXT NOT NULL DEFAULT '';
-- +goose Down
ALTER TABLE platform_audit DROP COLUMN trace_id;
