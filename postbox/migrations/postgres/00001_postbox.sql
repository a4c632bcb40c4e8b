-- +goose Up
-- Organisations the post box operator has agreements with: businesses that
-- deliver documents into boxes or receive moving notices, and agencies that
-- receive submissions. Each is its own HTTP endpoint.
CREATE TABLE postbox_parties (
  id TEXT PRIMARY KEY,
  name_ja TEXT NOT NULL,
  name_en TEXT NOT NULL,
  corporate_number TEXT NOT NULL,
  roles TEXT NOT NULL,            -- comma-separated: deliver, submission, address_notice
  endpoint TEXT NOT NULL,         -- where sends to this party go
  out_key TEXT NOT NULL,          -- what the post box presents to the endpoint
  in_key_hash BYTEA NOT NULL,      -- SHA-256 of the key the party presents to the post box
  created_at BIGINT NOT NULL);
-- One box per person, keyed by the platform ID (never the My Number).
CREATE TABLE postbox_boxes (
  id TEXT PRIMARY KEY,
  platform_id TEXT NOT NULL UNIQUE,
  created_at BIGINT NOT NULL);
-- Signing certificates the owner has signed with: how a revocation in the
-- JPKI feed finds its box.
CREATE TABLE postbox_signers (
  serial TEXT PRIMARY KEY,
  box_id TEXT NOT NULL REFERENCES postbox_boxes(id),
  not_after BIGINT NOT NULL,
  seen_at BIGINT NOT NULL);
-- Consents, signed in advance by the owner: which party may deliver into the
-- box and which may be told a new address, under the owner's number there.
CREATE TABLE postbox_consents (
  box_id TEXT NOT NULL REFERENCES postbox_boxes(id),
  party_id TEXT NOT NULL REFERENCES postbox_parties(id),
  customer_ref TEXT NOT NULL,
  deliver INTEGER NOT NULL,
  address_notice INTEGER NOT NULL,
  signed BYTEA NOT NULL,
  created_at BIGINT NOT NULL,
  withdrawn_at BIGINT,
  PRIMARY KEY (box_id, party_id));
CREATE UNIQUE INDEX postbox_consents_ref ON postbox_consents(party_id, customer_ref);
-- Documents in a box: delivered by a party (delivery_id de-duplicates its
-- retries) or made by the owner.
CREATE TABLE postbox_documents (
  id TEXT PRIMARY KEY,
  box_id TEXT NOT NULL REFERENCES postbox_boxes(id),
  party_id TEXT NOT NULL,         -- '' for the owner's own
  delivery_id TEXT NOT NULL,
  doc_type TEXT NOT NULL,
  title TEXT NOT NULL,
  format TEXT NOT NULL,           -- cms or pades
  data BYTEA NOT NULL,
  power BYTEA,                     -- the 電子委任状 the author acts under
  received_at BIGINT NOT NULL);
CREATE UNIQUE INDEX postbox_documents_delivery ON postbox_documents(party_id, delivery_id) WHERE party_id <> '';
CREATE INDEX postbox_documents_box ON postbox_documents(box_id, received_at);
-- Sends: submissions to agencies and notices to businesses. Delivered at
-- least once; the receiver de-duplicates by id.
CREATE TABLE postbox_sends (
  id TEXT PRIMARY KEY,
  box_id TEXT NOT NULL REFERENCES postbox_boxes(id),
  party_id TEXT NOT NULL REFERENCES postbox_parties(id),
  kind TEXT NOT NULL,             -- submission or address_notice
  notice_id TEXT NOT NULL,        -- the 変更案内 an address_notice answers, else ''
  subject TEXT NOT NULL,
  envelope BYTEA NOT NULL,         -- the JSON body POSTed to the party
  state TEXT NOT NULL,            -- pending, delivered, refused
  attempts INTEGER NOT NULL,
  next_at BIGINT NOT NULL,
  lease_until BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  acked_at BIGINT,
  receipt TEXT NOT NULL);
CREATE INDEX postbox_sends_due ON postbox_sends(state, next_at);
CREATE INDEX postbox_sends_box ON postbox_sends(box_id, created_at);
CREATE UNIQUE INDEX postbox_sends_notice ON postbox_sends(notice_id, party_id) WHERE notice_id <> '';
CREATE TABLE postbox_send_log (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  send_id TEXT NOT NULL REFERENCES postbox_sends(id),
  at BIGINT NOT NULL,
  event TEXT NOT NULL,            -- queued, attempt_failed, acknowledged
  detail TEXT NOT NULL);
CREATE INDEX postbox_send_log_send ON postbox_send_log(send_id, id);
-- 変更案内: a signing certificate of the owner was revoked for a change of
-- name or address (JPKI feed, reason affiliationChanged).
CREATE TABLE postbox_notices (
  id TEXT PRIMARY KEY,
  box_id TEXT NOT NULL REFERENCES postbox_boxes(id),
  old_serial TEXT NOT NULL UNIQUE,
  revoked_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  answered_at BIGINT);
CREATE TABLE postbox_state (
  name TEXT PRIMARY KEY,
  value BIGINT NOT NULL);
-- Every read of a box's contents.
CREATE TABLE postbox_audit (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at BIGINT NOT NULL,
  box_id TEXT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  detail TEXT NOT NULL);
CREATE INDEX postbox_audit_box ON postbox_audit(box_id, id);
-- +goose Down
DROP TABLE postbox_audit;
DROP TABLE postbox_state;
DROP TABLE postbox_notices;
DROP TABLE postbox_send_log;
DROP TABLE postbox_sends;
DROP TABLE postbox_documents;
DROP TABLE postbox_consents;
DROP TABLE postbox_signers;
DROP TABLE postbox_boxes;
DROP TABLE postbox_parties;
