-- +goose Up
-- The counter API (counter_http.go). jpki_counter_calls has one row per
-- call of a counter terminal, answered or refused, naming the caller and
-- the trace; jpki_counter_replies keeps the answer of each change under the
-- caller's Idempotency-Key, written in the change's own transaction, so that
-- a request sent again gets the same certificates and never a second set.
CREATE TABLE jpki_counter_calls (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at BIGINT NOT NULL,
  caller TEXT NOT NULL,
  action TEXT NOT NULL,
  card_id TEXT NOT NULL,
  subject TEXT NOT NULL,
  result TEXT NOT NULL,
  trace_id TEXT NOT NULL);
CREATE INDEX jpki_counter_calls_card ON jpki_counter_calls(card_id);
CREATE TABLE jpki_counter_replies (
  caller TEXT NOT NULL,
  idem_key TEXT NOT NULL,
  action TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  answer BYTEA NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (caller, idem_key));
-- +goose Down
DROP TABLE jpki_counter_replies;
DROP TABLE jpki_counter_calls;
