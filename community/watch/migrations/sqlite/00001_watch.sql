-- +goose Up
-- Watch-over at a health centre (docs/community-tv.md §5.4). Days are the
-- JST date 'YYYY-MM-DD'; times Unix ms.
--
-- The people watched: their family's mail address, and the minute of the
-- day (JST) by which a sign of life is expected.
CREATE TABLE watch_people (
  platform_id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  family_mail TEXT NOT NULL,
  deadline_minute INTEGER NOT NULL,
  created_at BIGINT NOT NULL);
-- The day's answers on the TV (the last of a day counts).
CREATE TABLE watch_inputs (
  platform_id TEXT NOT NULL,
  day TEXT NOT NULL,
  feeling INTEGER NOT NULL,
  bp_band INTEGER NOT NULL,
  choice INTEGER NOT NULL,
  terminal TEXT NOT NULL,
  at BIGINT NOT NULL,
  PRIMARY KEY (platform_id, day));
-- Signs of life: an input, or a power-on read from the CATV operator.
CREATE TABLE watch_signs (
  platform_id TEXT NOT NULL,
  day TEXT NOT NULL,
  kind TEXT NOT NULL,
  at BIGINT NOT NULL,
  PRIMARY KEY (platform_id, day, kind));
CREATE TABLE watch_absences (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  platform_id TEXT NOT NULL,
  from_day TEXT NOT NULL,
  to_day TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL);
CREATE INDEX watch_absences_person ON watch_absences (platform_id, from_day);
-- Flags: raised once per person, day and kind; kept until handled.
CREATE TABLE watch_flags (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  platform_id TEXT NOT NULL,
  day TEXT NOT NULL,
  kind TEXT NOT NULL,
  raised_at BIGINT NOT NULL,
  mailed_at BIGINT NOT NULL DEFAULT 0,
  handled_at BIGINT NOT NULL DEFAULT 0,
  handled_by TEXT NOT NULL DEFAULT '',
  note TEXT NOT NULL DEFAULT '',
  UNIQUE (platform_id, day, kind));
-- One row for every read of watch-over data, every change and every
-- refusal: who (a platform ID or a staff member), where, what.
CREATE TABLE watch_audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at BIGINT NOT NULL,
  actor TEXT NOT NULL,
  terminal TEXT NOT NULL,
  platform_id TEXT NOT NULL,
  action TEXT NOT NULL,
  flag_id BIGINT NOT NULL,
  result TEXT NOT NULL);
CREATE INDEX watch_audit_person ON watch_audit (platform_id, at);

-- +goose Down
DROP TABLE watch_audit;
DROP TABLE watch_flags;
DROP TABLE watch_absences;
DROP TABLE watch_signs;
DROP TABLE watch_inputs;
DROP TABLE watch_people;
