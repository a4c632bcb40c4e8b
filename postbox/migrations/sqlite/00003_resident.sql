-- +goose Up
-- Box sessions: what the owner's terminal presents to the resident API
-- after exchanging the platform's short-lived assertion (resident.go says
-- why). Only the token's SHA-256 is kept; a session opens one box only.
CREATE TABLE postbox_sessions (
  token_hash BLOB PRIMARY KEY,
  box_id TEXT NOT NULL REFERENCES postbox_boxes(id),
  terminal TEXT NOT NULL,         -- where the owner logged in
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,     -- moves on with use, never past created_at + the longest session
  ended_at BIGINT);
CREATE INDEX postbox_sessions_box ON postbox_sessions(box_id);
-- The ID the owner's terminal gave a send, so that a send retried after a
-- lost answer is the first one, not a second.
ALTER TABLE postbox_sends ADD COLUMN client_id TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX postbox_sends_client ON postbox_sends(box_id, client_id) WHERE client_id <> '';
-- +goose Down
DROP INDEX postbox_sends_client;
ALTER TABLE postbox_sends DROP COLUMN client_id;
DROP TABLE postbox_sessions;
