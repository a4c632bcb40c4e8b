-- +goose Up
-- Who acted, as the resident reads it on /me/audit: the staff member's
-- office (its ID in the staff directory, e.g. municipal:062049) and staff
-- number, in columns of their own beside the actor's full text, so that
-- nothing is parsed out of it. Both are empty for the J-LIS relay's
-- issuance and for the rows written before.
ALTER TABLE muni_audit ADD COLUMN office TEXT NOT NULL DEFAULT '';
ALTER TABLE muni_audit ADD COLUMN staff_number TEXT NOT NULL DEFAULT '';
-- A resident's history: the rows about one person of a municipality.
CREATE INDEX muni_audit_person ON muni_audit(code, person_id, at_ms);
-- +goose Down
DROP INDEX muni_audit_person;
ALTER TABLE muni_audit DROP COLUMN staff_number;
ALTER TABLE muni_audit DROP COLUMN office;
