-- +goose Up
-- Issue 16: the counter's calls and the centre's audit name the person.
-- jpki_counter_calls keeps the counter's town, the clerk signed in at it
-- and, for a revocation, a loss, a death or a PIN reset, the supervisor who
-- approved and how the person asking was identified (card or documents);
-- jpki_audit keeps the clerk and the approval beside its actor (the
-- counter). The clerk and the approver are "staff:<platform ID> <name>
-- (<office>, <role>, <staff number>)"; the platform IDs are kept apart as
-- well, to find a person's calls.
ALTER TABLE jpki_counter_calls ADD COLUMN town TEXT NOT NULL DEFAULT '';
ALTER TABLE jpki_counter_calls ADD COLUMN staff_platform_id TEXT NOT NULL DEFAULT '';
ALTER TABLE jpki_counter_calls ADD COLUMN staff TEXT NOT NULL DEFAULT '';
ALTER TABLE jpki_counter_calls ADD COLUMN approver_platform_id TEXT NOT NULL DEFAULT '';
ALTER TABLE jpki_counter_calls ADD COLUMN approver TEXT NOT NULL DEFAULT '';
ALTER TABLE jpki_counter_calls ADD COLUMN identity TEXT NOT NULL DEFAULT '';
CREATE INDEX jpki_counter_calls_staff ON jpki_counter_calls(staff_platform_id);
ALTER TABLE jpki_audit ADD COLUMN staff TEXT NOT NULL DEFAULT '';
ALTER TABLE jpki_audit ADD COLUMN approver TEXT NOT NULL DEFAULT '';
ALTER TABLE jpki_audit ADD COLUMN identity TEXT NOT NULL DEFAULT '';
-- +goose Down
DROP INDEX jpki_counter_calls_staff;
ALTER TABLE jpki_audit DROP COLUMN identity;
ALTER TABLE jpki_audit DROP COLUMN approver;
ALTER TABLE jpki_audit DROP COLUMN staff;
ALTER TABLE jpki_counter_calls DROP COLUMN identity;
ALTER TABLE jpki_counter_calls DROP COLUMN approver;
ALTER TABLE jpki_counter_calls DROP COLUMN approver_platform_id;
ALTER TABLE jpki_counter_calls DROP COLUMN staff;
ALTER TABLE jpki_counter_calls DROP COLUMN staff_platform_id;
ALTER TABLE jpki_counter_calls DROP COLUMN town;
