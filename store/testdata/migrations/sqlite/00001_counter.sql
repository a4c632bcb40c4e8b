-- +goose Up
CREATE TABLE counters (name TEXT PRIMARY KEY, n BIGINT NOT NULL, data BLOB);
-- +goose Down
DROP TABLE counters;
