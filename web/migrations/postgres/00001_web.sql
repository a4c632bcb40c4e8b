-- +goose Up
-- Browser sessions. id_hash is the hex SHA-256 of the cookie's random id, so
-- a copy of the database cannot be used to take over a session.
CREATE TABLE web_sessions (
  id_hash TEXT PRIMARY KEY,
  csrf TEXT NOT NULL,
  data TEXT NOT NULL,
  created_ms BIGINT NOT NULL,
  seen_ms BIGINT NOT NULL);
CREATE INDEX web_sessions_seen ON web_sessions(seen_ms);
CREATE INDEX web_sessions_created ON web_sessions(created_ms);
-- +goose Down
DROP TABLE web_sessions;
