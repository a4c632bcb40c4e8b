-- +goose Up
-- 美波町 危機管理室's data (docs/community-tv.md §2, §5.6). Times are Unix
-- ms. Areas, households and their members (by platform ID), shelters.
CREATE TABLE evac_areas (
  id TEXT NOT NULL PRIMARY KEY,
  name_ja TEXT NOT NULL,
  name_en TEXT NOT NULL);
-- A household lives in one area; lat/lon place it for the nearest shelter.
CREATE TABLE evac_households (
  id TEXT NOT NULL PRIMARY KEY,
  area TEXT NOT NULL REFERENCES evac_areas (id),
  lat REAL NOT NULL,
  lon REAL NOT NULL);
-- A person is a member of one household.
CREATE TABLE evac_members (
  platform_id TEXT NOT NULL PRIMARY KEY,
  household TEXT NOT NULL REFERENCES evac_households (id),
  name TEXT NOT NULL);
CREATE INDEX evac_members_household ON evac_members (household);
CREATE TABLE evac_shelters (
  id TEXT NOT NULL PRIMARY KEY,
  name_ja TEXT NOT NULL,
  name_en TEXT NOT NULL,
  area TEXT NOT NULL REFERENCES evac_areas (id),
  open INTEGER NOT NULL,
  lat REAL NOT NULL,
  lon REAL NOT NULL);
-- Orders: id is allocated as MAX+1 in the issuing transaction.
-- lifted_at is set when the order is lifted.
CREATE TABLE evac_orders (
  id BIGINT NOT NULL PRIMARY KEY,
  level INTEGER NOT NULL,
  drill INTEGER NOT NULL,
  issued_at BIGINT NOT NULL,
  issued_by TEXT NOT NULL,
  lifted_at BIGINT,
  lifted_by TEXT NOT NULL DEFAULT '');
CREATE TABLE evac_order_areas (
  order_id BIGINT NOT NULL REFERENCES evac_orders (id),
  area TEXT NOT NULL REFERENCES evac_areas (id),
  PRIMARY KEY (order_id, area));
-- One acknowledgement per household and order (the first one counts).
CREATE TABLE evac_acks (
  order_id BIGINT NOT NULL REFERENCES evac_orders (id),
  household TEXT NOT NULL REFERENCES evac_households (id),
  platform_id TEXT NOT NULL,
  terminal TEXT NOT NULL,
  at BIGINT NOT NULL,
  PRIMARY KEY (order_id, household));
-- Check-ins at shelters: by card (the person's card login at the shelter
-- terminal) or by name lookup (by_card = 0); out_at set at check-out. At
-- most one open check-in per person (the partial unique index).
CREATE TABLE evac_checkins (
  id BIGINT NOT NULL PRIMARY KEY,
  order_id BIGINT NOT NULL,
  shelter TEXT NOT NULL REFERENCES evac_shelters (id),
  platform_id TEXT NOT NULL,
  name TEXT NOT NULL,
  by_card INTEGER NOT NULL,
  in_at BIGINT NOT NULL,
  out_at BIGINT,
  by_staff TEXT NOT NULL);
CREATE UNIQUE INDEX evac_checkins_open ON evac_checkins (platform_id) WHERE out_at IS NULL;
CREATE INDEX evac_checkins_order ON evac_checkins (order_id);
-- The event log the push hubs poll (§7): seq is allocated as MAX+1 in the
-- writing transaction, so a hub reading seq > last never skips one that
-- commits later with a lower number. area is "" for events about no area.
CREATE TABLE evac_events (
  seq BIGINT NOT NULL PRIMARY KEY,
  kind TEXT NOT NULL,
  order_id BIGINT NOT NULL,
  area TEXT NOT NULL,
  at BIGINT NOT NULL);
CREATE INDEX evac_events_area ON evac_events (area, seq);
-- One row for every view of a person's or household's data, every change
-- and every refusal: who (platform ID or staff number), at which
-- terminal, what.
CREATE TABLE evac_audit (
  at BIGINT NOT NULL,
  actor TEXT NOT NULL,
  terminal TEXT NOT NULL,
  action TEXT NOT NULL,
  subject TEXT NOT NULL,
  result TEXT NOT NULL);
CREATE INDEX evac_audit_actor ON evac_audit (actor, at);

-- +goose Down
DROP TABLE evac_audit;
DROP TABLE evac_events;
DROP TABLE evac_checkins;
DROP TABLE evac_acks;
DROP TABLE evac_order_areas;
DROP TABLE evac_orders;
DROP TABLE evac_shelters;
DROP TABLE evac_members;
DROP TABLE evac_households;
DROP TABLE evac_areas;
