-- +goose Up
-- A town system's reference of a message (e.g. a booking's reminder): the
-- operator keeps one message per reference, so a sender that posts again
-- after a lost answer sends it once (docs/community-tv.md §5.3).
ALTER TABLE catv_messages ADD COLUMN ref TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX catv_messages_ref ON catv_messages (operator, ref) WHERE ref <> '';

-- +goose Down
DROP INDEX catv_messages_ref;
ALTER TABLE catv_messages DROP COLUMN ref;
