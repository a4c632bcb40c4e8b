-- +goose Up
-- The staff directory: who may work at which office, in which role, and
-- when. People are named by platform ID, never by My Number.
CREATE TABLE staff_grants (
  id TEXT PRIMARY KEY,
  platform_id TEXT NOT NULL,
  name TEXT NOT NULL,
  office TEXT NOT NULL,
  role TEXT NOT NULL,
  staff_number TEXT NOT NULL,
  valid_from BIGINT NOT NULL,
  valid_until BIGINT NOT NULL,
  revoked_at BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL
);
CREATE INDEX staff_grants_person ON staff_grants (platform_id, office);
CREATE INDEX staff_grants_office ON staff_grants (office);
-- Each card login (the platform assertion's jti) opens at most one staff
-- session: a replayed assertion finds its row.
CREATE TABLE staff_logins (
  assertion_id TEXT PRIMARY KEY,
  platform_id TEXT NOT NULL,
  office TEXT NOT NULL,
  at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX staff_logins_expiry ON staff_logins (expires_at);
-- Every login and every refusal, naming the person.
CREATE TABLE staff_audit (
  id TEXT PRIMARY KEY,
  at BIGINT NOT NULL,
  platform_id TEXT NOT NULL,
  name TEXT NOT NULL,
  office TEXT NOT NULL,
  role TEXT NOT NULL,
  action TEXT NOT NULL,
  result TEXT NOT NULL,
  detail TEXT NOT NULL
);
CREATE INDEX staff_audit_office ON staff_audit (office, at);
-- +goose Down
DROP TABLE staff_audit;
DROP TABLE staff_logins;
DROP TABLE staff_grants;
