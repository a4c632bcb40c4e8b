-- +goose Up
-- The shelters' card terminals: a card login at one checks in (or out)
-- at its shelter (docs/community-tv.md §5.6).
CREATE TABLE evac_shelter_terminals (
  terminal TEXT NOT NULL PRIMARY KEY,
  shelter TEXT NOT NULL REFERENCES evac_shelters (id));

-- +goose Down
DROP TABLE evac_shelter_terminals;
