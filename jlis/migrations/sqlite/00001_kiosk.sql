-- +goose Up
-- Print jobs of the kiosks: requested → rendered → printed, or cancelled.
-- A job belongs to one kiosk and one card holder; every transition is a
-- conditional UPDATE on (id, kiosk, state), so a job that timed out is
-- cancelled whole and its PDF can never be printed, here or elsewhere.
CREATE TABLE kiosk_jobs (
  id TEXT PRIMARY KEY, kiosk TEXT NOT NULL, request_key TEXT NOT NULL,
  platform_id TEXT NOT NULL, municipality TEXT NOT NULL, cert_type TEXT NOT NULL, options TEXT NOT NULL,
  state TEXT NOT NULL, created_at BIGINT NOT NULL, deadline BIGINT NOT NULL, updated_at BIGINT NOT NULL,
  cert_number TEXT, fee INTEGER, pdf BLOB, pdf_sha256 TEXT, reason TEXT);
CREATE UNIQUE INDEX kiosk_jobs_request ON kiosk_jobs(kiosk, request_key);
CREATE INDEX kiosk_jobs_open ON kiosk_jobs(state, deadline);
-- 本籍地 usage registrations (戸籍証明書交付の利用登録), bound to the
-- authentication certificate's serial: a renewed card must register again.
CREATE TABLE kiosk_registrations (
  id TEXT PRIMARY KEY, platform_id TEXT NOT NULL, auth_serial TEXT NOT NULL, honseki TEXT NOT NULL,
  status TEXT NOT NULL, mismatches TEXT NOT NULL, sign_serial TEXT NOT NULL, signature BLOB NOT NULL, request TEXT NOT NULL,
  created_at BIGINT NOT NULL, decided_at BIGINT, decided_by TEXT);
CREATE UNIQUE INDEX kiosk_registrations_cert ON kiosk_registrations(auth_serial, honseki);
CREATE INDEX kiosk_registrations_pending ON kiosk_registrations(honseki, status);
-- +goose Down
DROP TABLE kiosk_registrations;
DROP TABLE kiosk_jobs;
