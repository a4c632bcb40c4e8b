-- +goose Up
-- The W3C trace ID of the request that wrote the row (trace.ID): the
-- issuance that registered a certificate, the request that verified one.
ALTER TABLE seal_certificates ADD COLUMN trace_id TEXT NOT NULL DEFAULT '';
ALTER TABLE seal_verifications ADD COLUMN trace_id TEXT NOT NULL DEFAULT '';
-- +goose Down
ALTER TABLE seal_verifications DROP COLUMN trace_id;
ALTER TABLE seal_certificates DROP COLUMN trace_id;
