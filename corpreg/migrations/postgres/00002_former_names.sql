-- +goose Up
-- Former names (旧商号): one row per name the corporation bore before a
-- change of name (商号変更), in effect [from_at, until_at). The current name
-- is corpreg_corporations.name, in effect from the latest until_at (or from
-- registered_at when there is none). Times are Unix milliseconds.
CREATE TABLE corpreg_former_names (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  number TEXT NOT NULL REFERENCES corpreg_corporations(number),
  name TEXT NOT NULL,
  from_at BIGINT NOT NULL,
  until_at BIGINT NOT NULL);
CREATE UNIQUE INDEX corpreg_former_names_number ON corpreg_former_names(number, until_at);
-- +goose Down
DROP TABLE corpreg_former_names;
