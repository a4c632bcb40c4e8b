-- +goose Up
-- Children's check-in at a school or library gate (docs/community-tv.md
-- §5.5). Every row is keyed by the body (a school, a library); a body's
-- service reads and writes its own rows only. Days are the JST date
-- 'YYYY-MM-DD'; times Unix ms.
--
-- The children registered at the body.
CREATE TABLE gate_children (
  body TEXT NOT NULL,
  platform_id TEXT NOT NULL,
  name TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (body, platform_id));
-- The parents linked to a child at the body, with the address their
-- mails go to.
CREATE TABLE gate_parents (
  body TEXT NOT NULL,
  child_platform_id TEXT NOT NULL,
  parent_platform_id TEXT NOT NULL,
  mail TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (body, child_platform_id, parent_platform_id));
CREATE INDEX gate_parents_parent ON gate_parents (body, parent_platform_id);
-- Gate events: a card presented at the body's gate (a presence read, not
-- a login); arrive and leave alternate within a day.
CREATE TABLE gate_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  body TEXT NOT NULL,
  child_platform_id TEXT NOT NULL,
  day TEXT NOT NULL,
  seq INTEGER NOT NULL,
  kind TEXT NOT NULL,
  terminal TEXT NOT NULL,
  at BIGINT NOT NULL,
  UNIQUE (body, child_platform_id, day, seq));
CREATE INDEX gate_events_day ON gate_events (body, day);
-- One row for every read of a child's data, every event and every
-- refusal: who (a platform ID, a staff member, a gate), where, what.
CREATE TABLE gate_audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  body TEXT NOT NULL,
  at BIGINT NOT NULL,
  actor TEXT NOT NULL,
  terminal TEXT NOT NULL,
  platform_id TEXT NOT NULL,
  action TEXT NOT NULL,
  event_id BIGINT NOT NULL,
  result TEXT NOT NULL);
CREATE INDEX gate_audit_person ON gate_audit (body, platform_id, at);

-- +goose Down
DROP TABLE gate_audit;
DROP TABLE gate_events;
DROP TABLE gate_parents;
DROP TABLE gate_children;
