-- +goose Up
CREATE TABLE demo_world (version INTEGER PRIMARY KEY, seeded_at BIGINT NOT NULL);
-- +goose Down
DROP TABLE demo_world;
