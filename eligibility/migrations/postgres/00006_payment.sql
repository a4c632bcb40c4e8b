-- +goose Up
-- Payment with the card (issue §3): a resident's link of a card-company token
-- to their platform ID, consented with the signing certificate. History is
-- kept; at most one link per platform ID is active (unlinked_at IS NULL).
-- The card number is never stored here: only the company's token and last4.
CREATE TABLE elig_pay_links (
  id TEXT PRIMARY KEY, platform_id TEXT NOT NULL, token TEXT NOT NULL, last4 TEXT NOT NULL,
  cert_serial TEXT NOT NULL, consent TEXT NOT NULL, signature BYTEA NOT NULL,
  linked_at BIGINT NOT NULL, unlinked_at BIGINT);
CREATE UNIQUE INDEX elig_pay_links_active ON elig_pay_links(platform_id) WHERE unlinked_at IS NULL;
-- A facility's charge of a co-payment, written only after the card company
-- answered; (facility, idem_key) makes a retried request record once.
CREATE TABLE elig_payments (
  id TEXT PRIMARY KEY, facility TEXT NOT NULL, check_id TEXT NOT NULL, cardco_id TEXT NOT NULL UNIQUE,
  amount BIGINT NOT NULL CHECK (amount > 0), refunded BIGINT NOT NULL DEFAULT 0,
  status TEXT NOT NULL, last4 TEXT NOT NULL, idem_key TEXT NOT NULL,
  created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,
  UNIQUE (facility, idem_key));
CREATE INDEX elig_payments_check ON elig_payments(check_id);
CREATE TABLE elig_payment_refunds (
  id TEXT PRIMARY KEY, payment_id TEXT NOT NULL REFERENCES elig_payments(id), facility TEXT NOT NULL,
  cardco_id TEXT NOT NULL UNIQUE, amount BIGINT NOT NULL CHECK (amount > 0), idem_key TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  UNIQUE (facility, idem_key));
-- +goose Down
DROP TABLE elig_payment_refunds;
DROP INDEX elig_payments_check;
DROP TABLE elig_payments;
DROP INDEX elig_pay_links_active;
DROP TABLE elig_pay_links;
