-- +goose Up
-- 日本生命's customer page, an outside relying party of the OpenID provider
-- (issue 17 §2). A customer is linked to the provider's pairwise sub at
-- their first login (matched by the card's name and birth date); the sub,
-- never a name or a My Number, is the key after that.
CREATE TABLE nissayweb_links (
  sub TEXT PRIMARY KEY,
  customer_ref TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  last_login_at BIGINT NOT NULL
);
-- The address changes asked for: the 住所変更届 document, its SHA-256 and,
-- once signed, the signature and the signing certificate. id is the
-- provider's sign transaction ID.
CREATE TABLE nissayweb_requests (
  id TEXT PRIMARY KEY,
  sub TEXT NOT NULL,
  customer_ref TEXT NOT NULL,
  new_address TEXT NOT NULL,
  document BYTEA NOT NULL,
  digest BYTEA NOT NULL,
  state TEXT NOT NULL,
  signature BYTEA,
  certificate BYTEA,
  created_at BIGINT NOT NULL,
  signed_at BIGINT
);
CREATE TABLE nissayweb_audit (
  id TEXT PRIMARY KEY,
  at BIGINT NOT NULL,
  sub TEXT NOT NULL,
  action TEXT NOT NULL,
  result TEXT NOT NULL,
  reason TEXT NOT NULL
);
-- +goose Down
DROP TABLE nissayweb_audit;
DROP TABLE nissayweb_requests;
DROP TABLE nissayweb_links;
