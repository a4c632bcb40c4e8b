-- +goose Up
-- The kiosks that may call the relay (convenience-store multi-copy
-- machines), each with its own key; only the key's SHA-256 is kept.
CREATE TABLE kiosk_terminals (
  id TEXT PRIMARY KEY, store TEXT NOT NULL, key_hash TEXT NOT NULL UNIQUE, created_at BIGINT NOT NULL);
-- +goose Down
DROP TABLE kiosk_terminals;
