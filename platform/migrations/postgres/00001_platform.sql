-- +goose Up
CREATE TABLE platform_terminals (
  id TEXT PRIMARY KEY, kind TEXT NOT NULL, owner TEXT NOT NULL, name TEXT NOT NULL,
  hmac_key BYTEA NOT NULL, disabled INTEGER NOT NULL DEFAULT 0, created_at BIGINT NOT NULL);
CREATE TABLE platform_challenges (
  id TEXT PRIMARY KEY, terminal_id TEXT NOT NULL, nonce BYTEA NOT NULL,
  created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, used_at BIGINT);
CREATE INDEX platform_challenges_expires ON platform_challenges(expires_at);
CREATE TABLE platform_persons (id TEXT PRIMARY KEY, created_at BIGINT NOT NULL);
CREATE TABLE platform_certs (
  kind TEXT NOT NULL, serial TEXT NOT NULL, person_id TEXT NOT NULL REFERENCES platform_persons(id),
  linked_at BIGINT NOT NULL, via TEXT NOT NULL,
  PRIMARY KEY (kind, serial));
CREATE INDEX platform_certs_person ON platform_certs(person_id);
CREATE TABLE platform_audit (
  id TEXT PRIMARY KEY, at BIGINT NOT NULL, person_id TEXT, terminal_id TEXT NOT NULL,
  action TEXT NOT NULL, result TEXT NOT NULL, reason TEXT NOT NULL, cert_serial TEXT NOT NULL);
CREATE INDEX platform_audit_person ON platform_audit(person_id, at);
CREATE TABLE platform_keys (
  kid TEXT PRIMARY KEY, private_key BYTEA NOT NULL, created_at BIGINT NOT NULL);
-- +goose Down
DROP TABLE platform_keys;
DROP TABLE platform_audit;
DROP TABLE platform_certs;
DROP TABLE platform_persons;
DROP TABLE platform_challenges;
DROP TABLE platform_terminals;
