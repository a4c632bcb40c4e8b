-- +goose Up
-- One row per call of another role on the 本籍地 queue (a municipality's
-- back office listing its pending usage registrations or deciding one),
-- naming the caller.
CREATE TABLE kiosk_calls (
  id INTEGER PRIMARY KEY,
  at BIGINT NOT NULL,
  caller TEXT NOT NULL,
  action TEXT NOT NULL,
  municipality TEXT NOT NULL,
  registration TEXT NOT NULL,
  result TEXT NOT NULL);
-- +goose Down
DROP TABLE kiosk_calls;
