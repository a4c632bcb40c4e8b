-- +goose Up
CREATE TABLE counters (name TEXT PRIMARY KEY, n BIGINT NOT NULL, data BYTEA);
-- +goose Down
DROP TABLE counters;
