-- +goose Up
-- Issue 16: the resident's own history of what counters did to their
-- cards (history.go) names the clerk and the approver by staff number,
-- never by name or platform ID; the numbers are kept apart from the
-- "staff:…" text so that the history never has to parse a name.
ALTER TABLE jpki_counter_calls ADD COLUMN staff_number TEXT NOT NULL DEFAULT '';
ALTER TABLE jpki_counter_calls ADD COLUMN approver_number TEXT NOT NULL DEFAULT '';
-- +goose Down
ALTER TABLE jpki_counter_calls DROP COLUMN approver_number;
ALTER TABLE jpki_counter_calls DROP COLUMN staff_number;
