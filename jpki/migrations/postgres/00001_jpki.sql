-- +goose Up
CREATE TABLE jpki_authorities (kind TEXT PRIMARY KEY, cert BYTEA NOT NULL);
CREATE TABLE jpki_counters (name TEXT PRIMARY KEY, n BIGINT NOT NULL);
CREATE TABLE jpki_residents (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL, kana TEXT NOT NULL, birth_date TEXT NOT NULL, sex INTEGER NOT NULL,
  address TEXT NOT NULL, municipality TEXT NOT NULL,
  created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
CREATE TABLE jpki_cards (
  id TEXT PRIMARY KEY,
  resident_id TEXT NOT NULL REFERENCES jpki_residents(id),
  issued_at BIGINT NOT NULL);
CREATE INDEX jpki_cards_resident ON jpki_cards(resident_id);
CREATE TABLE jpki_certificates (
  kind TEXT NOT NULL, serial TEXT NOT NULL,
  card_id TEXT NOT NULL REFERENCES jpki_cards(id),
  der BYTEA NOT NULL,
  not_before BIGINT NOT NULL, not_after BIGINT NOT NULL, issued_at BIGINT NOT NULL,
  revoked_at BIGINT, reason INTEGER,
  PRIMARY KEY (kind, serial));
CREATE INDEX jpki_certificates_card ON jpki_certificates(card_id);
CREATE TABLE jpki_links (
  link TEXT NOT NULL,
  from_kind TEXT NOT NULL, from_serial TEXT NOT NULL,
  to_kind TEXT NOT NULL, to_serial TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (from_kind, from_serial, to_kind, to_serial));
CREATE INDEX jpki_links_to ON jpki_links(to_kind, to_serial);
CREATE TABLE jpki_revocations (
  seq BIGINT PRIMARY KEY,
  kind TEXT NOT NULL, serial TEXT NOT NULL, reason INTEGER NOT NULL, revoked_at BIGINT NOT NULL);
CREATE TABLE jpki_crls (
  kind TEXT NOT NULL, number BIGINT NOT NULL,
  this_update BIGINT NOT NULL, next_update BIGINT NOT NULL, der BYTEA NOT NULL,
  PRIMARY KEY (kind, number));
CREATE TABLE jpki_ocsp_cache (
  kind TEXT NOT NULL, serial TEXT NOT NULL, der BYTEA NOT NULL, this_update BIGINT NOT NULL, revoked BOOLEAN NOT NULL,
  PRIMARY KEY (kind, serial));
CREATE TABLE jpki_operators (
  id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, token_hash TEXT NOT NULL UNIQUE,
  created_at BIGINT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0);
CREATE TABLE jpki_audit (
  id TEXT PRIMARY KEY, at BIGINT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, subject TEXT NOT NULL);
CREATE INDEX jpki_audit_at ON jpki_audit(at);
-- +goose Down
DROP TABLE jpki_audit;
DROP TABLE jpki_operators;
DROP TABLE jpki_ocsp_cache;
DROP TABLE jpki_crls;
DROP TABLE jpki_revocations;
DROP TABLE jpki_links;
DROP TABLE jpki_certificates;
DROP TABLE jpki_cards;
DROP TABLE jpki_residents;
DROP TABLE jpki_counters;
DROP TABLE jpki_authorities;
