-- +goose Up
-- Staff sign in to the inbox with their own cards (issue 16): the office's
-- second key is only its own systems' key at the read API, a machine's.
ALTER TABLE agency_offices RENAME COLUMN staff_key_hash TO api_key_hash;
-- +goose Down
ALTER TABLE agency_offices RENAME COLUMN api_key_hash TO staff_key_hash;
