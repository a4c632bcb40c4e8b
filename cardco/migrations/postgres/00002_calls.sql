-- +goose Up
-- One row per enrolment over HTTP, naming the caller (a role with its own
-- key, or "admin" for the company's own key) and the card's last four
-- digits only.
CREATE TABLE cardco_calls (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at BIGINT NOT NULL,
  caller TEXT NOT NULL,
  action TEXT NOT NULL,
  last4 TEXT NOT NULL,
  result TEXT NOT NULL);
-- +goose Down
DROP TABLE cardco_calls;
