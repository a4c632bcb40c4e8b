-- +goose Up
-- The OpenID provider's clients (relying parties), registered by the
-- operator only (docs/oidc-provider.md §4.5). redirect_uris and
-- post_logout_uris are newline-separated exact strings.
CREATE TABLE oidc_clients (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  sector TEXT NOT NULL,
  redirect_uris TEXT NOT NULL,
  post_logout_uris TEXT NOT NULL,
  dev BOOLEAN NOT NULL DEFAULT FALSE,
  pf_key BYTEA,
  disabled_at BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL
);
-- The clients' public keys for private_key_jwt (PKIX DER). A client may
-- have several; a disabled key verifies nothing.
CREATE TABLE oidc_client_keys (
  client_id TEXT NOT NULL REFERENCES oidc_clients (id),
  kid TEXT NOT NULL,
  alg TEXT NOT NULL,
  public_der BYTEA NOT NULL,
  added_at BIGINT NOT NULL,
  disabled_at BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (client_id, kid)
);
-- The provider's signing keys: the public JWK and the schedule only. The
-- private key is elsewhere (signer_ref: a file of internal/keydir).
CREATE TABLE oidc_keys (
  kid TEXT PRIMARY KEY,
  alg TEXT NOT NULL,
  public_jwk TEXT NOT NULL,
  signer_ref TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  signs_from BIGINT NOT NULL,
  retired_at BIGINT NOT NULL DEFAULT 0
);
-- Secrets the instances share (the pairwise subject secret).
CREATE TABLE oidc_secrets (
  name TEXT PRIMARY KEY,
  value BYTEA NOT NULL
);
-- Every authorization outcome, token issued or refused, client and key
-- change. Never a token, a PIN or an attribute value.
CREATE TABLE oidc_audit (
  id TEXT PRIMARY KEY,
  at BIGINT NOT NULL,
  client_id TEXT NOT NULL,
  person_id TEXT NOT NULL,
  action TEXT NOT NULL,
  result TEXT NOT NULL,
  reason TEXT NOT NULL,
  trace_id TEXT NOT NULL
);
CREATE INDEX oidc_audit_client ON oidc_audit (client_id, at);

-- +goose Down
DROP TABLE oidc_audit;
DROP TABLE oidc_secrets;
DROP TABLE oidc_keys;
DROP TABLE oidc_client_keys;
DROP TABLE oidc_clients;
