-- +goose Up
-- Every table is keyed by body: no query reads another body's rows
-- (docs/procurement.md §2, §4.2). Times are Unix ms.
--
-- Each officer's personal opening key: an RSA key whose certificate is
-- here and whose private half is split 2-of-2 with both halves sealed
-- under the officer's own opening passphrase (sealedbid). The tenders'
-- shares are sealed to it, so that an officer who is not there when a
-- tender is published still holds a share only their passphrase opens.
CREATE TABLE body_officer_keys (
  body TEXT NOT NULL,
  officer TEXT NOT NULL,
  name TEXT NOT NULL,
  certificate BYTEA NOT NULL,
  sealed_a BYTEA NOT NULL,
  sealed_b BYTEA NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (body, officer));
-- Tenders. state: open (bids accepted until deadline), closed; opening
-- (slice 5) adds opened and awarded with opened_at and result.
CREATE TABLE body_tenders (
  body TEXT NOT NULL,
  id TEXT NOT NULL,
  title TEXT NOT NULL,
  item TEXT NOT NULL,
  field TEXT NOT NULL,
  grade TEXT NOT NULL,
  deadline BIGINT NOT NULL,
  threshold INTEGER NOT NULL,
  certificate BYTEA NOT NULL,
  fingerprint TEXT NOT NULL,
  sealed_estimate BYTEA NOT NULL,
  state TEXT NOT NULL,
  published_by TEXT NOT NULL,
  published_at BIGINT NOT NULL,
  opened_at BIGINT,
  result TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (body, id));
CREATE INDEX body_tenders_published ON body_tenders(body, published_at);
-- The tender's officers: each one's share of the opening key (sealedbid
-- SealedShare, sealed under a random passphrase) and that passphrase
-- sealed to the officer's personal opening key.
CREATE TABLE body_tender_officers (
  body TEXT NOT NULL,
  tender TEXT NOT NULL,
  officer TEXT NOT NULL,
  share BYTEA NOT NULL,
  sealed_passphrase BYTEA NOT NULL,
  PRIMARY KEY (body, tender, officer));
-- Bids: the envelope as received, its receipt, and replaced_by (the bid
-- that replaced it, '' while current). seq counts a business's bids on a
-- tender; the unique index keeps two from getting one number.
CREATE TABLE body_bids (
  body TEXT NOT NULL,
  id TEXT NOT NULL,
  tender TEXT NOT NULL,
  corp_number TEXT NOT NULL,
  seq INTEGER NOT NULL,
  envelope BYTEA NOT NULL,
  envelope_sha256 TEXT NOT NULL,
  received_at BIGINT NOT NULL,
  receipt BYTEA NOT NULL,
  replaced_by TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (body, id));
CREATE UNIQUE INDEX body_bids_seq ON body_bids(body, tender, corp_number, seq);
CREATE TABLE body_audit (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  body TEXT NOT NULL,
  at BIGINT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  tender TEXT NOT NULL,
  outcome TEXT NOT NULL,
  detail TEXT NOT NULL);
CREATE INDEX body_audit_tender ON body_audit(body, tender, id);
-- +goose Down
DROP TABLE body_audit;
DROP TABLE body_bids;
DROP TABLE body_tender_officers;
DROP TABLE body_tenders;
DROP TABLE body_officer_keys;
