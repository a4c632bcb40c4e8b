-- +goose Up
CREATE TABLE cardco_accounts (
  id TEXT PRIMARY KEY, pan TEXT NOT NULL UNIQUE, last4 TEXT NOT NULL, holder TEXT NOT NULL,
  expiry TEXT NOT NULL, credit_limit BIGINT NOT NULL CHECK (credit_limit >= 0),
  authorized BIGINT NOT NULL DEFAULT 0, captured BIGINT NOT NULL DEFAULT 0, refunded BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  CHECK (credit_limit - authorized - captured + refunded >= 0));
CREATE TABLE cardco_tokens (
  token TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES cardco_accounts(id),
  created_at BIGINT NOT NULL, revoked_at BIGINT);
CREATE INDEX cardco_tokens_account ON cardco_tokens(account_id);
CREATE TABLE cardco_merchants (
  id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, key_hash BYTEA NOT NULL UNIQUE, created_at BIGINT NOT NULL);
CREATE TABLE cardco_payments (
  id TEXT PRIMARY KEY, merchant_id TEXT NOT NULL REFERENCES cardco_merchants(id),
  token TEXT NOT NULL, account_id TEXT NOT NULL REFERENCES cardco_accounts(id), last4 TEXT NOT NULL,
  amount BIGINT NOT NULL CHECK (amount > 0), refunded BIGINT NOT NULL DEFAULT 0,
  currency TEXT NOT NULL, description TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('authorized', 'captured', 'refunded', 'partially_refunded', 'voided')),
  idem_key TEXT NOT NULL, request_hash BYTEA NOT NULL, created_at BIGINT NOT NULL,
  CHECK (refunded >= 0 AND refunded <= amount),
  UNIQUE (merchant_id, idem_key));
CREATE TABLE cardco_refunds (
  id TEXT PRIMARY KEY, payment_id TEXT NOT NULL REFERENCES cardco_payments(id),
  merchant_id TEXT NOT NULL, amount BIGINT NOT NULL CHECK (amount > 0),
  idem_key TEXT NOT NULL, created_at BIGINT NOT NULL,
  UNIQUE (merchant_id, idem_key));
CREATE INDEX cardco_refunds_payment ON cardco_refunds(payment_id);
-- One row per merchant and Idempotency-Key, written in the same transaction
-- as the money it moved: the primary key is what makes a key charge once.
CREATE TABLE cardco_idempotency (
  merchant_id TEXT NOT NULL, idem_key TEXT NOT NULL, operation TEXT NOT NULL,
  request_hash BYTEA NOT NULL, status INTEGER NOT NULL, response BYTEA NOT NULL, created_at BIGINT NOT NULL,
  PRIMARY KEY (merchant_id, idem_key));
-- +goose Down
DROP TABLE cardco_idempotency;
DROP TABLE cardco_refunds;
DROP TABLE cardco_payments;
DROP TABLE cardco_merchants;
DROP TABLE cardco_tokens;
DROP TABLE cardco_accounts;
