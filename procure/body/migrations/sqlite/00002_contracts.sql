-- +goose Up
-- Contracts (docs/procurement.md §5.7, body side). The opening keeps the
-- winning bid's power (winner_power, not published): the contract's agent
-- is that power's agent, and its power must cover 契約 and 請求.
ALTER TABLE body_tenders ADD COLUMN winner_power TEXT NOT NULL DEFAULT '';
-- One contract per awarded tender. state: prepared (the unsigned PDF),
-- agent_signed (the agent's approval signature), signed (the officer's
-- too, then B-LTA). pdf is the current PDF; each state change is one
-- conditional UPDATE on the state before it.
CREATE TABLE body_contracts (
  body TEXT NOT NULL,
  id TEXT NOT NULL,
  tender TEXT NOT NULL,
  corp_number TEXT NOT NULL,
  power TEXT NOT NULL,
  agent TEXT NOT NULL,
  state TEXT NOT NULL,
  pdf BLOB NOT NULL,
  prepared_by TEXT NOT NULL,
  officer TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (body, id));
CREATE UNIQUE INDEX body_contracts_tender ON body_contracts(body, tender);
-- The signed steps after the contract (contract.Timeline.Steps), seq from
-- 0; the primary key lets each place be taken once.
CREATE TABLE body_contract_steps (
  body TEXT NOT NULL,
  contract TEXT NOT NULL,
  seq INTEGER NOT NULL,
  kind TEXT NOT NULL,
  signed BLOB NOT NULL,
  sha256 TEXT NOT NULL,
  actor TEXT NOT NULL,
  at BIGINT NOT NULL,
  PRIMARY KEY (body, contract, seq));
-- The OCSP answers for the steps' signers (contract.Timeline.OCSPs).
CREATE TABLE body_contract_ocsps (
  body TEXT NOT NULL,
  contract TEXT NOT NULL,
  seq INTEGER NOT NULL,
  der BLOB NOT NULL,
  PRIMARY KEY (body, contract, seq));
-- +goose Down
DROP TABLE body_contract_ocsps;
DROP TABLE body_contract_steps;
DROP TABLE body_contracts;
ALTER TABLE body_tenders DROP COLUMN winner_power;
