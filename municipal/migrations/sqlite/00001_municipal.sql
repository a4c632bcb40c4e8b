-- +goose Up
-- One row per municipality that runs an issuance server here.
CREATE TABLE muni_municipalities (
  code TEXT PRIMARY KEY, prefecture TEXT NOT NULL, name TEXT NOT NULL,
  created_at BIGINT NOT NULL);
-- Relay keys (kind 'relay') and staff keys (kind 'staff'), by SHA-256.
CREATE TABLE muni_keys (
  key_hash TEXT PRIMARY KEY, code TEXT NOT NULL REFERENCES muni_municipalities(code),
  kind TEXT NOT NULL, label TEXT NOT NULL, created_at BIGINT NOT NULL);
-- The catalogue: which certificates a municipality offers, at what fee, when.
CREATE TABLE muni_offers (
  code TEXT NOT NULL REFERENCES muni_municipalities(code), cert_type TEXT NOT NULL,
  fee_yen INTEGER NOT NULL, open_min INTEGER NOT NULL, close_min INTEGER NOT NULL,
  weekdays_only INTEGER NOT NULL,
  PRIMARY KEY (code, cert_type));
-- 世帯.
CREATE TABLE muni_households (
  id TEXT PRIMARY KEY, code TEXT NOT NULL REFERENCES muni_municipalities(code),
  head_id TEXT NOT NULL);
-- 住民基本台帳. id is the register's own stable ID, never the My Number.
CREATE TABLE muni_persons (
  id TEXT PRIMARY KEY, code TEXT NOT NULL REFERENCES muni_municipalities(code),
  household_id TEXT NOT NULL REFERENCES muni_households(id), relation TEXT NOT NULL,
  name TEXT NOT NULL, kana TEXT NOT NULL, birth_date TEXT NOT NULL, sex INTEGER NOT NULL,
  address TEXT NOT NULL, my_number TEXT NOT NULL,
  honseki TEXT NOT NULL, hitto TEXT NOT NULL,
  moved_in TEXT NOT NULL, status TEXT NOT NULL,
  support INTEGER NOT NULL, gaiji_pending INTEGER NOT NULL,
  name_norm TEXT NOT NULL, address_norm TEXT NOT NULL,
  updated_at BIGINT NOT NULL);
CREATE INDEX muni_persons_match ON muni_persons(code, birth_date);
CREATE INDEX muni_persons_household ON muni_persons(household_id);
-- 印鑑登録.
CREATE TABLE muni_seals (
  code TEXT NOT NULL, person_id TEXT NOT NULL REFERENCES muni_persons(id),
  reg_number TEXT NOT NULL, image BLOB NOT NULL, registered_on TEXT NOT NULL,
  PRIMARY KEY (code, person_id));
-- 戸籍.
CREATE TABLE muni_koseki (
  id TEXT PRIMARY KEY, code TEXT NOT NULL REFERENCES muni_municipalities(code),
  honseki TEXT NOT NULL, hitto TEXT NOT NULL, made_on TEXT NOT NULL);
-- 戸籍 members. person_id is the member's ID in this municipality: the
-- resident's ID when they also live here, else an ID of its own.
CREATE TABLE muni_koseki_members (
  koseki_id TEXT NOT NULL REFERENCES muni_koseki(id), seq INTEGER NOT NULL,
  person_id TEXT NOT NULL, name TEXT NOT NULL, birth_date TEXT NOT NULL, sex INTEGER NOT NULL,
  relation TEXT NOT NULL, father TEXT NOT NULL, mother TEXT NOT NULL,
  events TEXT NOT NULL, removed INTEGER NOT NULL,
  name_norm TEXT NOT NULL,
  PRIMARY KEY (koseki_id, seq));
CREATE UNIQUE INDEX muni_koseki_members_person ON muni_koseki_members(person_id);
-- 戸籍の附票: the address history of a 戸籍 member.
CREATE TABLE muni_fuhyo (
  person_id TEXT NOT NULL, seq INTEGER NOT NULL, address TEXT NOT NULL, since TEXT NOT NULL,
  PRIMARY KEY (person_id, seq));
-- 税: 所得 and 課税 per 年度.
CREATE TABLE muni_tax (
  person_id TEXT NOT NULL REFERENCES muni_persons(id), year INTEGER NOT NULL,
  income_yen BIGINT NOT NULL, taxable_yen BIGINT NOT NULL,
  city_tax_yen BIGINT NOT NULL, pref_tax_yen BIGINT NOT NULL,
  PRIMARY KEY (person_id, year));
-- Certificate numbers: one counter per municipality.
CREATE TABLE muni_counters (
  code TEXT PRIMARY KEY REFERENCES muni_municipalities(code), n BIGINT NOT NULL);
-- Issued certificates (no content, only what identifies it).
CREATE TABLE muni_certificates (
  code TEXT NOT NULL, number TEXT NOT NULL, cert_type TEXT NOT NULL, person_id TEXT NOT NULL,
  pages INTEGER NOT NULL, fee_yen INTEGER NOT NULL, copies INTEGER NOT NULL,
  sha256 TEXT NOT NULL, issued_at BIGINT NOT NULL,
  PRIMARY KEY (code, number));
-- Audit of the back office and of issuance: who, what, which person ID.
CREATE TABLE muni_audit (
  id INTEGER PRIMARY KEY, code TEXT NOT NULL, at_ms BIGINT NOT NULL,
  actor TEXT NOT NULL, action TEXT NOT NULL, person_id TEXT NOT NULL, detail TEXT NOT NULL);
CREATE INDEX muni_audit_code ON muni_audit(code, at_ms);
-- +goose Down
DROP TABLE muni_audit;
DROP TABLE muni_certificates;
DROP TABLE muni_counters;
DROP TABLE muni_tax;
DROP TABLE muni_fuhyo;
DROP TABLE muni_koseki_members;
DROP TABLE muni_koseki;
DROP TABLE muni_seals;
DROP TABLE muni_persons;
DROP TABLE muni_households;
DROP TABLE muni_offers;
DROP TABLE muni_keys;
DROP TABLE muni_municipalities;
