-- +goose Up
-- Every table is keyed by operator: a CATV operator's rows are its own
-- (docs/community-tv.md §2, §5.2). Times are Unix ms.
--
-- Subscribers: a person (platform ID) at one set-top box (terminal), in an
-- area of the operator's town.
CREATE TABLE catv_subscribers (
  operator TEXT NOT NULL,
  platform_id TEXT NOT NULL,
  terminal TEXT NOT NULL,
  number TEXT NOT NULL,
  area TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (operator, platform_id, terminal));
-- Messages from the operator or the town: to every subscriber (all), to
-- the subscribers of an area, or to one person.
CREATE TABLE catv_messages (
  operator TEXT NOT NULL,
  id BIGINT NOT NULL,
  sender TEXT NOT NULL,
  sender_kind TEXT NOT NULL,
  scope TEXT NOT NULL,
  area TEXT NOT NULL,
  platform_id TEXT NOT NULL,
  title_ja TEXT NOT NULL,
  title_en TEXT NOT NULL,
  body_ja TEXT NOT NULL,
  body_en TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (operator, id));
CREATE TABLE catv_message_reads (
  operator TEXT NOT NULL,
  message_id BIGINT NOT NULL,
  platform_id TEXT NOT NULL,
  read_at BIGINT NOT NULL,
  PRIMARY KEY (operator, message_id, platform_id));
-- One row for every read of a person's messages and every refusal.
CREATE TABLE catv_audit (
  operator TEXT NOT NULL,
  at BIGINT NOT NULL,
  platform_id TEXT NOT NULL,
  terminal TEXT NOT NULL,
  action TEXT NOT NULL,
  message_id BIGINT NOT NULL,
  result TEXT NOT NULL);
CREATE INDEX catv_audit_person ON catv_audit (operator, platform_id, at);

-- +goose Down
DROP TABLE catv_audit;
DROP TABLE catv_message_reads;
DROP TABLE catv_messages;
DROP TABLE catv_subscribers;
