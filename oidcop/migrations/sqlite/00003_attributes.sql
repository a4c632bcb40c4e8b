-- +goose Up
-- The consented attributes of a completed authorization request (JSON of
-- scope name to value, read from the verified signing certificate), until
-- its code gives them to the grant (docs/oidc-provider.md §4.2 step 4).
-- Personal data: Maintain deletes the row with the request.
ALTER TABLE oidc_auth_requests ADD COLUMN attributes TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE oidc_auth_requests DROP COLUMN attributes;
