-- +goose Up
-- Corporations: the public record (法人番号, 商号, 本店所在地). closed_at is
-- NULL while the corporation is active. Times are Unix milliseconds.
CREATE TABLE corpreg_corporations (
  number TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  address TEXT NOT NULL,
  registered_at BIGINT NOT NULL,
  closed_at BIGINT);
-- Representatives and their terms [from_at, until_at); until_at is NULL for
-- the current one, of whom there is at most one per corporation.
CREATE TABLE corpreg_representatives (
  id INTEGER PRIMARY KEY,
  number TEXT NOT NULL REFERENCES corpreg_corporations(number),
  name TEXT NOT NULL,
  serial TEXT NOT NULL UNIQUE,
  certificate BLOB NOT NULL,
  from_at BIGINT NOT NULL,
  until_at BIGINT);
CREATE UNIQUE INDEX corpreg_representatives_current ON corpreg_representatives(number) WHERE until_at IS NULL;
CREATE INDEX corpreg_representatives_number ON corpreg_representatives(number, from_at);
-- The event log: registrations, appointments, term ends, closures.
CREATE TABLE corpreg_events (
  id INTEGER PRIMARY KEY,
  at BIGINT NOT NULL,
  number TEXT NOT NULL,
  kind TEXT NOT NULL,
  detail TEXT NOT NULL);
CREATE INDEX corpreg_events_number ON corpreg_events(number, id);
-- +goose Down
DROP TABLE corpreg_events;
DROP TABLE corpreg_representatives;
DROP TABLE corpreg_corporations;
