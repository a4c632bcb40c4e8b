-- +goose Up
-- Staff sign in to the back office with their own cards (issue 16): the
-- shared staff key is gone.
ALTER TABLE business_firms DROP COLUMN staff_key_hash;
-- +goose Down
ALTER TABLE business_firms ADD COLUMN staff_key_hash BYTEA NOT NULL DEFAULT ''::bytea;
