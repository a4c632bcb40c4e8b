-- +goose Up
-- Every table is keyed by town: one role hosts several towns over one
-- database and each town's rows are its own (docs/community-tv.md §2,
-- §5.3). Times are Unix ms.
CREATE TABLE town_towns (
  town TEXT NOT NULL PRIMARY KEY,
  name_ja TEXT NOT NULL,
  name_en TEXT NOT NULL);
-- Residents (by platform ID): a person lives in one town at a time.
CREATE TABLE town_residents (
  town TEXT NOT NULL,
  platform_id TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (town, platform_id));
CREATE UNIQUE INDEX town_residents_person ON town_residents (platform_id);
-- Checkup results (特定健診): one value per item and year, with the unit
-- and the reference range the town's laboratory used.
CREATE TABLE town_checkups (
  town TEXT NOT NULL,
  platform_id TEXT NOT NULL,
  year INTEGER NOT NULL,
  item TEXT NOT NULL,
  value DOUBLE PRECISION NOT NULL,
  unit TEXT NOT NULL,
  low DOUBLE PRECISION NOT NULL,
  high DOUBLE PRECISION NOT NULL,
  taken_at BIGINT NOT NULL,
  PRIMARY KEY (town, platform_id, year, item));
CREATE TABLE town_facilities (
  town TEXT NOT NULL,
  id BIGINT NOT NULL,
  name_ja TEXT NOT NULL,
  name_en TEXT NOT NULL,
  PRIMARY KEY (town, id));
CREATE TABLE town_slots (
  town TEXT NOT NULL,
  id BIGINT NOT NULL,
  facility_id BIGINT NOT NULL,
  starts_at BIGINT NOT NULL,
  ends_at BIGINT NOT NULL,
  capacity INTEGER NOT NULL CHECK (capacity > 0),
  PRIMARY KEY (town, id),
  FOREIGN KEY (town, facility_id) REFERENCES town_facilities (town, id));
-- Bookings: a booking holds one seat (1..capacity) of its slot. The two
-- partial unique indexes are the last guard against a double booking and
-- against more bookings than seats, also under concurrent requests for the
-- last seat: two transactions that both take seat n cannot both commit.
-- reminded_at is the exactly-once mark of the reminder the day before.
CREATE TABLE town_bookings (
  town TEXT NOT NULL,
  id BIGINT NOT NULL,
  slot_id BIGINT NOT NULL,
  platform_id TEXT NOT NULL,
  seat INTEGER NOT NULL CHECK (seat > 0),
  terminal TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  cancelled_at BIGINT,
  reminded_at BIGINT,
  PRIMARY KEY (town, id),
  FOREIGN KEY (town, slot_id) REFERENCES town_slots (town, id));
CREATE UNIQUE INDEX town_bookings_seat ON town_bookings (town, slot_id, seat) WHERE cancelled_at IS NULL;
CREATE UNIQUE INDEX town_bookings_person ON town_bookings (town, slot_id, platform_id) WHERE cancelled_at IS NULL;
CREATE INDEX town_bookings_of ON town_bookings (town, platform_id);
-- One row for every read of a person's data, every booking and cancel,
-- every reminder and every refusal: who, at which terminal, what.
CREATE TABLE town_audit (
  town TEXT NOT NULL,
  at BIGINT NOT NULL,
  platform_id TEXT NOT NULL,
  terminal TEXT NOT NULL,
  action TEXT NOT NULL,
  subject BIGINT NOT NULL,
  result TEXT NOT NULL);
CREATE INDEX town_audit_person ON town_audit (town, platform_id, at);

-- +goose Down
DROP TABLE town_audit;
DROP TABLE town_bookings;
DROP TABLE town_slots;
DROP TABLE town_facilities;
DROP TABLE town_checkups;
DROP TABLE town_residents;
DROP TABLE town_towns;
