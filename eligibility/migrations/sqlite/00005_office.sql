-- +goose Up
-- The five attributes (JSON of Person) the link saw in the person's JPKI
-- record when it queued the item, so the clerk can compare them with the
-- insured record side by side. Empty for items queued before this column.
ALTER TABLE elig_link_queue ADD COLUMN person TEXT NOT NULL DEFAULT '';
-- Every read of personal data in the insurer's back office, and every
-- decision and change made there, leaves a row: who (actor, the staff name),
-- for which insurer, what (action) and about what (subject: a record or
-- queue item ID, or the search terms).
CREATE TABLE elig_access_log (
  id INTEGER PRIMARY KEY,
  at BIGINT NOT NULL, actor TEXT NOT NULL, insurer TEXT NOT NULL, action TEXT NOT NULL, subject TEXT NOT NULL);
CREATE INDEX elig_access_log_insurer ON elig_access_log(insurer, at);
CREATE INDEX elig_access_log_subject ON elig_access_log(subject);
-- +goose Down
DROP TABLE elig_access_log;
ALTER TABLE elig_link_queue DROP COLUMN person;
