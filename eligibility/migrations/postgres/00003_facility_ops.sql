-- +goose Up
-- How a check was made: card (online, with the card), offline (with the
-- card while the platform was unreachable, confirmed later), paper (資格確認書:
-- insurer number, symbol, number and birth date), batch (一括照会).
ALTER TABLE elig_checks ADD COLUMN mode TEXT NOT NULL DEFAULT 'card';
-- The terminal's own ID of a check, so a resent offline check is recorded once.
ALTER TABLE elig_checks ADD COLUMN client_id TEXT;
ALTER TABLE elig_checks ADD COLUMN warning TEXT NOT NULL DEFAULT '';
ALTER TABLE elig_checks ADD COLUMN recorded_at BIGINT NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX elig_checks_client ON elig_checks(facility, client_id);
CREATE INDEX elig_checks_facility ON elig_checks(facility, at);
CREATE TABLE elig_facility_terminals (
  terminal_id TEXT PRIMARY KEY, facility TEXT NOT NULL REFERENCES elig_facilities(code), created_at BIGINT NOT NULL);
-- When a platform ID's records were last linked, and the birth date they were
-- looked up by: a check links again only when records of that birth date
-- changed since.
CREATE TABLE elig_person_scan (
  platform_id TEXT PRIMARY KEY, birth_date TEXT NOT NULL, scanned_at BIGINT NOT NULL);
CREATE INDEX elig_insured_birth_updated ON elig_insured(birth_date, updated_at);
-- +goose Down
DROP INDEX elig_insured_birth_updated;
DROP TABLE elig_person_scan;
DROP TABLE elig_facility_terminals;
DROP INDEX elig_checks_facility;
DROP INDEX elig_checks_client;
ALTER TABLE elig_checks DROP COLUMN recorded_at;
ALTER TABLE elig_checks DROP COLUMN warning;
ALTER TABLE elig_checks DROP COLUMN client_id;
ALTER TABLE elig_checks DROP COLUMN mode;
