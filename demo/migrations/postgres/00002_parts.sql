-- +goose Up
-- Parts of the demo world seeded after the first version (each once).
CREATE TABLE demo_parts (name TEXT PRIMARY KEY, seeded_at BIGINT NOT NULL);
-- +goose Down
DROP TABLE demo_parts;
