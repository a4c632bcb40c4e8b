-- +goose Up
-- One row per call of another role on the register (an issuance server
-- registering a certificate or having its PDF sealed), naming the caller.
CREATE TABLE seal_calls (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at BIGINT NOT NULL,
  caller TEXT NOT NULL,
  action TEXT NOT NULL,
  municipality TEXT NOT NULL,
  number TEXT NOT NULL,
  result TEXT NOT NULL);
-- +goose Down
DROP TABLE seal_calls;
