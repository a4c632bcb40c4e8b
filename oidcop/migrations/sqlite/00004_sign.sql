-- +goose Up
-- Sign transactions (docs/oidc-provider.md §2.4, §3 rows 14–16): a digest an
-- RP asked to have signed, bound at the card page to the one grant whose
-- person signed it; the result goes to that grant's access token only.
CREATE TABLE oidc_sign_transactions (
  id TEXT PRIMARY KEY,
  client_id TEXT NOT NULL,
  digest BLOB NOT NULL,
  digest_type TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  grant_id TEXT NOT NULL DEFAULT '',
  signature BLOB,
  certificate BLOB,
  signed_at BIGINT NOT NULL DEFAULT 0,
  state TEXT NOT NULL DEFAULT 'created'
);
CREATE INDEX oidc_sign_transactions_expiry ON oidc_sign_transactions (expires_at);

-- +goose Down
DROP TABLE oidc_sign_transactions;
