-- +goose Up
-- The notices to a corporation's representative (docs/procurement.md §3
-- rule 4): one row when the register first sees an agent (platform ID) act
-- for the 法人番号, written in Apply's transaction. The key keeps it one
-- row under concurrent filings (INSERT … ON CONFLICT DO NOTHING).
CREATE TABLE procure_notices (
  corp_number TEXT NOT NULL,
  agent_pid TEXT NOT NULL,
  agent_name TEXT NOT NULL,
  power_id TEXT NOT NULL,
  power_not_before BIGINT NOT NULL,
  power_not_after BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (corp_number, agent_pid));
CREATE INDEX procure_notices_corp ON procure_notices(corp_number, created_at);
-- The representative's signed requests for notices already answered, by
-- the SHA-256 of the signed content (whose nonce makes it unique): a
-- replay is refused. Rows older than twice the freshness window are
-- dropped, as the window refuses their requests anyway.
CREATE TABLE procure_notice_requests (
  digest TEXT PRIMARY KEY,
  used_at BIGINT NOT NULL);
CREATE INDEX procure_notice_requests_used ON procure_notice_requests(used_at);
-- +goose Down
DROP TABLE procure_notice_requests;
DROP TABLE procure_notices;
