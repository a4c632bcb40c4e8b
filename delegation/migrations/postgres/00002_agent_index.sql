-- +goose Up
-- The agent's platform ID, copied from the signed content at registration,
-- so that an agent's powers are found without reading every power
-- (AgentPowers). Rows registered before this column get it from their
-- content.
ALTER TABLE delegation_powers ADD COLUMN agent_platform_id TEXT NOT NULL DEFAULT '';
UPDATE delegation_powers SET agent_platform_id = COALESCE(convert_from(content, 'UTF8')::jsonb #>> '{agent,platform_id}', '');
CREATE INDEX delegation_powers_agent ON delegation_powers(agent_platform_id);
-- +goose Down
DROP INDEX delegation_powers_agent;
ALTER TABLE delegation_powers DROP COLUMN agent_platform_id;
