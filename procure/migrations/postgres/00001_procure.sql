-- +goose Up
-- Businesses that applied, by 法人番号: the registry's name, address and
-- representative as last read, the founding date the application gave,
-- and the 業者コード (code_seq) given at the first grant.
CREATE TABLE procure_businesses (
  corp_number TEXT PRIMARY KEY,
  code_seq BIGINT UNIQUE,
  name TEXT NOT NULL,
  address TEXT NOT NULL,
  representative TEXT NOT NULL,
  founded TEXT NOT NULL,
  updated_at BIGINT NOT NULL);
-- Applications and their review. state: submitted, correction, granted,
-- refused. At most one is open (submitted or correction) per business.
CREATE TABLE procure_applications (
  id TEXT PRIMARY KEY,
  corp_number TEXT NOT NULL REFERENCES procure_businesses(corp_number),
  kind TEXT NOT NULL,
  state TEXT NOT NULL,
  version INTEGER NOT NULL,
  agent_pid TEXT NOT NULL,
  agent_name TEXT NOT NULL,
  power_id TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  decided_by TEXT NOT NULL DEFAULT '',
  reason_code TEXT NOT NULL DEFAULT '',
  note_ja TEXT NOT NULL DEFAULT '',
  note_en TEXT NOT NULL DEFAULT '');
CREATE UNIQUE INDEX procure_applications_open ON procure_applications(corp_number) WHERE state IN ('submitted', 'correction');
CREATE INDEX procure_applications_agent ON procure_applications(agent_pid, updated_at);
CREATE INDEX procure_applications_state ON procure_applications(state, updated_at);
-- Each signed version of an application: the canonical JSON, the CMS as
-- filed and its time-stamped signing time.
CREATE TABLE procure_application_versions (
  application_id TEXT NOT NULL REFERENCES procure_applications(id),
  version INTEGER NOT NULL,
  content BYTEA NOT NULL,
  cms BYTEA NOT NULL,
  signed_at BIGINT NOT NULL,
  PRIMARY KEY (application_id, version));
-- The rating of each field of a version (Rate).
CREATE TABLE procure_ratings (
  application_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  field TEXT NOT NULL,
  total INTEGER NOT NULL,
  grade TEXT NOT NULL,
  points TEXT NOT NULL,
  PRIMARY KEY (application_id, version, field));
-- Granted qualifications [valid_from, valid_until]; superseded_at is set
-- when a renewal replaces one.
CREATE TABLE procure_qualifications (
  id TEXT PRIMARY KEY,
  corp_number TEXT NOT NULL REFERENCES procure_businesses(corp_number),
  application_id TEXT NOT NULL UNIQUE REFERENCES procure_applications(id),
  regions TEXT NOT NULL,
  valid_from BIGINT NOT NULL,
  valid_until BIGINT NOT NULL,
  granted_at BIGINT NOT NULL,
  granted_by TEXT NOT NULL,
  superseded_at BIGINT);
CREATE INDEX procure_qualifications_corp ON procure_qualifications(corp_number, valid_from);
CREATE TABLE procure_qualification_fields (
  qualification_id TEXT NOT NULL REFERENCES procure_qualifications(id),
  field TEXT NOT NULL,
  grade TEXT NOT NULL,
  total INTEGER NOT NULL,
  items TEXT NOT NULL,
  PRIMARY KEY (qualification_id, field));
-- Who did or read what: officers' reads and decisions, agents' filings
-- and every refusal.
CREATE TABLE procure_audit (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at BIGINT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  corp_number TEXT NOT NULL,
  application_id TEXT NOT NULL,
  outcome TEXT NOT NULL,
  detail TEXT NOT NULL);
CREATE INDEX procure_audit_application ON procure_audit(application_id, id);
-- +goose Down
DROP TABLE procure_audit;
DROP TABLE procure_qualification_fields;
DROP TABLE procure_qualifications;
DROP TABLE procure_ratings;
DROP TABLE procure_application_versions;
DROP TABLE procure_applications;
DROP TABLE procure_businesses;
