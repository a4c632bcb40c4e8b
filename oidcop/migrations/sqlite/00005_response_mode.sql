-- +goose Up
-- The response_mode an authorization request asked for (docs/oidc-provider.md
-- §3 row 24): '' or query, or form_post when --oidc-response-modes allows it.
ALTER TABLE oidc_auth_requests ADD COLUMN response_mode TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE oidc_auth_requests DROP COLUMN response_mode;
