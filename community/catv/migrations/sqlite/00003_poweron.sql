-- +goose Up
-- Power-ons with a card login at a box: the sign of life watch-over reads
-- (docs/community-tv.md §5.4, DR 5.1). Times are Unix ms.
CREATE TABLE catv_poweron (
  operator TEXT NOT NULL,
  terminal TEXT NOT NULL,
  platform_id TEXT NOT NULL,
  at BIGINT NOT NULL);
CREATE INDEX catv_poweron_person ON catv_poweron (operator, platform_id, at);

-- +goose Down
DROP TABLE catv_poweron;
