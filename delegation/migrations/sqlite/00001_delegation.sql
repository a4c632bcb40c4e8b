-- +goose Up
-- Registered powers of attorney (電子委任状). cms is the signed power as
-- registered (enveloping CMS), content its signed JSON. parent is '' for a
-- power from the corporation's representative. revoked_at is NULL while the
-- power is in effect; revocation then holds the signed revocation. Times are
-- Unix milliseconds.
CREATE TABLE delegation_powers (
  id TEXT PRIMARY KEY,
  corporate_number TEXT NOT NULL,
  parent TEXT NOT NULL,
  cms BLOB NOT NULL,
  content BLOB NOT NULL,
  signed_at BIGINT NOT NULL,
  registered_at BIGINT NOT NULL,
  revoked_at BIGINT,
  revocation BLOB);
CREATE INDEX delegation_powers_corporation ON delegation_powers(corporate_number);
CREATE INDEX delegation_powers_parent ON delegation_powers(parent);
-- +goose Down
DROP TABLE delegation_powers;
