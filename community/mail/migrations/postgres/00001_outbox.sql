-- +goose Up
-- The outbox (docs/community-tv.md §8): mails queued by a service (owner)
-- in the same transaction as what they tell, sent by a worker with retry.
-- ref names what the mail is about ("watch:flag:12"), unique per owner, so
-- a thing is mailed once. Times are Unix ms; claimed_until is a worker's
-- lease (0: free), sent_at 0 until the SMTP server took the mail.
CREATE TABLE mail_outbox (
  id BIGSERIAL PRIMARY KEY,
  owner TEXT NOT NULL,
  ref TEXT NOT NULL,
  recipient TEXT NOT NULL,
  subject TEXT NOT NULL,
  body TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_at BIGINT NOT NULL,
  claimed_until BIGINT NOT NULL DEFAULT 0,
  sent_at BIGINT NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  UNIQUE (owner, ref));
CREATE INDEX mail_outbox_due ON mail_outbox (sent_at, next_at);

-- +goose Down
DROP TABLE mail_outbox;
