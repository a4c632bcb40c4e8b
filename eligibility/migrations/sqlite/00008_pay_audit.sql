-- +goose Up
-- Every request of a card holder about their own payment link (read, link,
-- unlink), with the terminal of the platform assertion it came with and the
-- request's trace ID; a link or unlink writes its row in the same
-- transaction as the change.
CREATE TABLE elig_pay_audit (
  id INTEGER PRIMARY KEY,
  at BIGINT NOT NULL, platform_id TEXT NOT NULL, terminal TEXT NOT NULL, action TEXT NOT NULL,
  link_id TEXT NOT NULL, trace_id TEXT NOT NULL);
CREATE INDEX elig_pay_audit_platform_id ON elig_pay_audit(platform_id, at);
-- +goose Down
DROP TABLE elig_pay_audit;
