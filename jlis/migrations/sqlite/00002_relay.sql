-- +goose Up
-- The kiosks that may call the relay (convenience-store multi-copy
-- machines), each with its own key; only the key's SHA-256 is kept.
CREATE TABLE kiosk_terminals (
  id TEXT PRIMARY KEY, store TEXT NOT NULL, key_hash TEXT NOT NULL UNIQUE, created_at BIGINT NOT NULL);
-- The holder as the signing certificate of a registration states them
-- (name, birth date YYYY-MM-DD, JPKI sex code), for the 本籍地's clerk who
-- decides a registration the 戸籍 did not match exactly.
ALTER TABLE kiosk_registrations ADD COLUMN holder_name TEXT NOT NULL DEFAULT '';
ALTER TABLE kiosk_registrations ADD COLUMN holder_birth TEXT NOT NULL DEFAULT '';
ALTER TABLE kiosk_registrations ADD COLUMN holder_sex INTEGER NOT NULL DEFAULT 0;
-- +goose Down
ALTER TABLE kiosk_registrations DROP COLUMN holder_sex;
ALTER TABLE kiosk_registrations DROP COLUMN holder_birth;
ALTER TABLE kiosk_registrations DROP COLUMN holder_name;
DROP TABLE kiosk_terminals;
