-- +goose Up
CREATE TABLE elig_insurers (
  number TEXT PRIMARY KEY, name TEXT NOT NULL, api_key_hash TEXT NOT NULL UNIQUE, created_at BIGINT NOT NULL);
CREATE TABLE elig_insured (
  id TEXT PRIMARY KEY,
  insurer TEXT NOT NULL REFERENCES elig_insurers(number),
  symbol TEXT NOT NULL, number TEXT NOT NULL, branch TEXT NOT NULL,
  relation TEXT NOT NULL,
  name TEXT NOT NULL, kana TEXT NOT NULL, birth_date TEXT NOT NULL, sex INTEGER NOT NULL, address TEXT NOT NULL,
  copay_percent INTEGER NOT NULL, elderly_percent INTEGER, limit_category TEXT NOT NULL, specific_disease TEXT NOT NULL,
  acquired_on TEXT NOT NULL, lost_on TEXT,
  created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
CREATE UNIQUE INDEX elig_insured_card ON elig_insured(insurer, symbol, number, branch, acquired_on);
CREATE INDEX elig_insured_birth ON elig_insured(birth_date);
CREATE TABLE elig_links (
  insured_id TEXT PRIMARY KEY REFERENCES elig_insured(id),
  platform_id TEXT NOT NULL, linked_at BIGINT NOT NULL, via TEXT NOT NULL);
CREATE INDEX elig_links_platform ON elig_links(platform_id);
CREATE TABLE elig_link_queue (
  id TEXT PRIMARY KEY, platform_id TEXT NOT NULL, insured_id TEXT NOT NULL,
  mismatches TEXT NOT NULL, status TEXT NOT NULL, created_at BIGINT NOT NULL,
  decided_at BIGINT, decided_by TEXT);
CREATE UNIQUE INDEX elig_link_queue_pair ON elig_link_queue(platform_id, insured_id);
-- +goose Down
DROP TABLE elig_link_queue;
DROP TABLE elig_links;
DROP TABLE elig_insured;
DROP TABLE elig_insurers;
