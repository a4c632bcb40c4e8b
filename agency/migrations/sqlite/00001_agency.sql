-- +goose Up
-- Receiving agencies (税務署, an employer, a town's 子育て支援課): each its own
-- endpoint for the post box, its own inbox and staff.
CREATE TABLE agency_offices (
  id TEXT PRIMARY KEY,
  name_ja TEXT NOT NULL,
  name_en TEXT NOT NULL,
  in_key_hash BLOB NOT NULL,      -- the key the post box presents here
  staff_key_hash BLOB NOT NULL,
  postbox_url TEXT NOT NULL,      -- where to read a send's delivery log
  postbox_key TEXT NOT NULL,      -- this office's key at the post box
  created_at BIGINT NOT NULL);
CREATE TABLE agency_submissions (
  id TEXT PRIMARY KEY,
  office_id TEXT NOT NULL REFERENCES agency_offices(id),
  send_id TEXT NOT NULL,
  receipt TEXT NOT NULL,
  subject TEXT NOT NULL,
  applicant TEXT NOT NULL,
  overall TEXT NOT NULL,          -- the worst indication of its documents
  bundle_ok INTEGER NOT NULL,     -- the application's attachments are the documents sent
  received_at BIGINT NOT NULL,
  deliveries INTEGER NOT NULL,    -- how often the post box delivered it
  validated_at BIGINT NOT NULL,
  UNIQUE (office_id, send_id));
CREATE INDEX agency_submissions_office ON agency_submissions(office_id, received_at);
CREATE TABLE agency_documents (
  submission_id TEXT NOT NULL REFERENCES agency_submissions(id),
  idx INTEGER NOT NULL,
  name TEXT NOT NULL,
  doc_type TEXT NOT NULL,
  format TEXT NOT NULL,
  from_party TEXT NOT NULL,
  issuer_number TEXT NOT NULL,    -- the organisation the post box says delivered it
  issuer_name TEXT NOT NULL,
  data BLOB NOT NULL,
  power BLOB,
  report TEXT NOT NULL,           -- the validation report (JSON)
  PRIMARY KEY (submission_id, idx));
CREATE TABLE agency_audit (
  id INTEGER PRIMARY KEY,
  at BIGINT NOT NULL,
  office_id TEXT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  submission_id TEXT NOT NULL);
-- +goose Down
DROP TABLE agency_audit;
DROP TABLE agency_documents;
DROP TABLE agency_submissions;
DROP TABLE agency_offices;
