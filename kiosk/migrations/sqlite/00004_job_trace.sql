-- +goose Up
-- The W3C trace ID of the kiosk's order (trace.ID): a job is the relay's
-- record of an issuance, and the trace follows it to the town and the seal.
ALTER TABLE kiosk_jobs ADD COLUMN trace_id TEXT NOT NULL DEFAULT '';
-- +goose Down
ALTER TABLE kiosk_jobs DROP COLUMN trace_id;
