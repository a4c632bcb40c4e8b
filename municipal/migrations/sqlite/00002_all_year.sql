-- +goose Up
-- all_year: the certificate is also issued in the year-end closure
-- (12/29–1/3), which otherwise stops kiosk issuance everywhere.
ALTER TABLE muni_offers ADD COLUMN all_year INTEGER NOT NULL DEFAULT 0;
-- +goose Down
ALTER TABLE muni_offers DROP COLUMN all_year;
