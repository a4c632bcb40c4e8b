-- +goose Up
-- 須坂市's web site, an outside relying party of the OpenID provider
-- (issue 17 §2). Its residents are known by the provider's pairwise sub
-- only: never a name, a My Number or a card serial as a key. The name a
-- resident consents to is kept in their browser session, not here.
CREATE TABLE townweb_accounts (
  sub TEXT PRIMARY KEY,
  created_at BIGINT NOT NULL,
  last_login_at BIGINT NOT NULL
);
-- The topics a resident can follow.
CREATE TABLE townweb_topics (
  id TEXT PRIMARY KEY,
  name_ja TEXT NOT NULL,
  name_en TEXT NOT NULL,
  sort INTEGER NOT NULL
);
INSERT INTO townweb_topics (id, name_ja, name_en, sort) VALUES
  ('general', '市からのお知らせ', 'From the city', 1),
  ('childcare', '子育て', 'Childcare', 2),
  ('disaster', '防災', 'Disaster preparedness', 3),
  ('waste', 'ごみ・リサイクル', 'Waste and recycling', 4),
  ('health', '健康', 'Health', 5),
  ('tax', '税', 'Taxes', 6);
CREATE TABLE townweb_follows (
  sub TEXT NOT NULL REFERENCES townweb_accounts (sub),
  topic TEXT NOT NULL REFERENCES townweb_topics (id),
  PRIMARY KEY (sub, topic)
);
-- The town's notices; published_at is Unix seconds.
CREATE TABLE townweb_notices (
  id TEXT PRIMARY KEY,
  topic TEXT NOT NULL REFERENCES townweb_topics (id),
  published_at BIGINT NOT NULL,
  title_ja TEXT NOT NULL,
  title_en TEXT NOT NULL,
  body_ja TEXT NOT NULL,
  body_en TEXT NOT NULL
);
CREATE INDEX townweb_notices_published ON townweb_notices (published_at);
CREATE TABLE townweb_reads (
  sub TEXT NOT NULL REFERENCES townweb_accounts (sub),
  notice_id TEXT NOT NULL REFERENCES townweb_notices (id),
  read_at BIGINT NOT NULL,
  PRIMARY KEY (sub, notice_id)
);
-- Every login's outcome, refusals included (the provider's error code),
-- and every change a resident makes; times are Unix milliseconds.
CREATE TABLE townweb_audit (
  id TEXT PRIMARY KEY,
  at BIGINT NOT NULL,
  sub TEXT NOT NULL,
  action TEXT NOT NULL,
  result TEXT NOT NULL,
  reason TEXT NOT NULL
);

-- +goose Down
DROP TABLE townweb_audit;
DROP TABLE townweb_reads;
DROP TABLE townweb_notices;
DROP TABLE townweb_follows;
DROP TABLE townweb_topics;
DROP TABLE townweb_accounts;
