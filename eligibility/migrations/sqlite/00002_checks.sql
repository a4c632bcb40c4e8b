-- +goose Up
CREATE TABLE elig_facilities (
  code TEXT PRIMARY KEY, name TEXT NOT NULL, api_key_hash TEXT NOT NULL UNIQUE, created_at BIGINT NOT NULL);
CREATE TABLE elig_checks (
  id TEXT PRIMARY KEY, at BIGINT NOT NULL, facility TEXT NOT NULL, platform_id TEXT NOT NULL, terminal TEXT NOT NULL,
  validity TEXT NOT NULL, insured_id TEXT, consent TEXT NOT NULL);
CREATE INDEX elig_checks_platform ON elig_checks(platform_id, at);
-- +goose Down
DROP TABLE elig_checks;
DROP TABLE elig_facilities;
