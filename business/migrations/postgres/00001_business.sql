-- +goose Up
-- Private businesses (日本郵便, 日本生命, NHK in the demo): each its own
-- endpoint for the post box, its own customer records and staff.
CREATE TABLE business_firms (
  id TEXT PRIMARY KEY,
  name_ja TEXT NOT NULL,
  name_en TEXT NOT NULL,
  corporate_number TEXT NOT NULL,
  in_key_hash BYTEA NOT NULL,      -- the key the post box presents here
  staff_key_hash BYTEA NOT NULL,
  postbox_url TEXT NOT NULL,
  postbox_key TEXT NOT NULL,      -- this firm's key at the post box
  created_at BIGINT NOT NULL);
CREATE TABLE business_customers (
  firm_id TEXT NOT NULL REFERENCES business_firms(id),
  customer_ref TEXT NOT NULL,
  name TEXT NOT NULL,
  birth_date TEXT NOT NULL,       -- YYYY-MM-DD
  address TEXT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (firm_id, customer_ref));
-- Address notices received from the post box, once per send.
CREATE TABLE business_notices (
  firm_id TEXT NOT NULL REFERENCES business_firms(id),
  send_id TEXT NOT NULL,
  receipt TEXT NOT NULL,
  customer_ref TEXT NOT NULL,
  old_address TEXT NOT NULL,
  new_address TEXT NOT NULL,
  signer_serial TEXT NOT NULL,
  signed_at BIGINT NOT NULL,
  received_at BIGINT NOT NULL,
  deliveries INTEGER NOT NULL,
  PRIMARY KEY (firm_id, send_id));
-- Powers of attorney the firm's employees issue documents under.
CREATE TABLE business_powers (
  firm_id TEXT NOT NULL REFERENCES business_firms(id),
  power_id TEXT NOT NULL,
  agent TEXT NOT NULL,
  doc_types TEXT NOT NULL,
  power BYTEA NOT NULL,
  PRIMARY KEY (firm_id, power_id));
-- Documents the firm issued into post boxes.
CREATE TABLE business_issued (
  firm_id TEXT NOT NULL REFERENCES business_firms(id),
  delivery_id TEXT NOT NULL,
  customer_ref TEXT NOT NULL,
  doc_type TEXT NOT NULL,
  title TEXT NOT NULL,
  document_id TEXT NOT NULL,
  issued_by TEXT NOT NULL,
  issued_at BIGINT NOT NULL,
  PRIMARY KEY (firm_id, delivery_id));
CREATE TABLE business_audit (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at BIGINT NOT NULL,
  firm_id TEXT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  detail TEXT NOT NULL);
-- +goose Down
DROP TABLE business_audit;
DROP TABLE business_issued;
DROP TABLE business_powers;
DROP TABLE business_notices;
DROP TABLE business_customers;
DROP TABLE business_firms;
