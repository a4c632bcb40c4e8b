-- +goose Up
-- The register of issued certificates. The content (personal data) is held
-- only as AES-256-GCM ciphertext under a key derived from a secret that is
-- printed in the certificate's QR code and stored nowhere (see doc.go).
CREATE TABLE seal_certificates (
  municipality TEXT NOT NULL,
  number TEXT NOT NULL,
  cert_type TEXT NOT NULL,
  municipality_ja TEXT NOT NULL,
  municipality_en TEXT NOT NULL,
  issued_at BIGINT NOT NULL,
  digest BYTEA NOT NULL,
  nonce BYTEA NOT NULL,
  content BYTEA NOT NULL,
  PRIMARY KEY (municipality, number));
-- One row per verification, answered or refused: never the content.
CREATE TABLE seal_verifications (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at BIGINT NOT NULL,
  channel TEXT NOT NULL,
  outcome TEXT NOT NULL,
  municipality TEXT NOT NULL,
  number TEXT NOT NULL);
CREATE INDEX seal_verifications_number ON seal_verifications(municipality, number);
-- +goose Down
DROP TABLE seal_verifications;
DROP TABLE seal_certificates;
