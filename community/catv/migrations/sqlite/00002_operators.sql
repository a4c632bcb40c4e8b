-- +goose Up
-- The operators a role hosts: the name their messages go out under and
-- the town they serve (whose staff send the town's messages through them).
CREATE TABLE catv_operators (
  operator TEXT NOT NULL PRIMARY KEY,
  name TEXT NOT NULL,
  town TEXT NOT NULL);

-- +goose Down
DROP TABLE catv_operators;
