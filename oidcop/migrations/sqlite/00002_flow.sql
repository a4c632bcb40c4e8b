-- +goose Up
-- The authorization code flow (docs/oidc-provider.md §4.7): one row per
-- authorization request, from the RP's redirect to the code's redemption.
-- The code is kept as its SHA-256 (hex); the row is bound to the client,
-- redirect URI, challenge, nonce and scopes.
CREATE TABLE oidc_auth_requests (
  id TEXT PRIMARY KEY,
  client_id TEXT NOT NULL,
  redirect_uri TEXT NOT NULL,
  scopes TEXT NOT NULL,
  state TEXT NOT NULL,
  nonce TEXT NOT NULL,
  code_challenge TEXT NOT NULL,
  acr TEXT NOT NULL,
  sign_tx_id TEXT NOT NULL DEFAULT '',
  ui_locales TEXT NOT NULL DEFAULT '',
  session_state TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  person_id TEXT NOT NULL DEFAULT '',
  sub TEXT NOT NULL DEFAULT '',
  auth_time BIGINT NOT NULL DEFAULT 0,
  granted_scopes TEXT NOT NULL DEFAULT '',
  grant_id TEXT NOT NULL DEFAULT '',
  code_hash TEXT UNIQUE,
  code_expires_at BIGINT NOT NULL DEFAULT 0,
  code_used_at BIGINT NOT NULL DEFAULT 0,
  ended_at BIGINT NOT NULL DEFAULT 0,
  end_reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX oidc_auth_requests_expiry ON oidc_auth_requests (expires_at);
-- A grant: what one card login gave one client. Its tokens die with it.
CREATE TABLE oidc_grants (
  id TEXT PRIMARY KEY,
  client_id TEXT NOT NULL,
  sub TEXT NOT NULL,
  person_id TEXT NOT NULL,
  scopes TEXT NOT NULL,
  attributes TEXT NOT NULL DEFAULT '',
  acr TEXT NOT NULL,
  auth_time BIGINT NOT NULL,
  session_state TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  revoked_at BIGINT NOT NULL DEFAULT 0
);
-- Tokens by hash (an access token's is its jti's): kind access or refresh.
CREATE TABLE oidc_tokens (
  hash TEXT PRIMARY KEY,
  grant_id TEXT,
  client_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  used_at BIGINT NOT NULL DEFAULT 0,
  replaced_by TEXT NOT NULL DEFAULT ''
);
CREATE INDEX oidc_tokens_grant ON oidc_tokens (grant_id);
-- Client assertions' jti, until their exp: a second use is a replay.
CREATE TABLE oidc_assertion_jtis (
  client_id TEXT NOT NULL,
  jti TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (client_id, jti)
);

-- +goose Down
DROP TABLE oidc_assertion_jtis;
DROP TABLE oidc_tokens;
DROP TABLE oidc_grants;
DROP TABLE oidc_auth_requests;
