-- +goose Up
-- The browser whose card login completed the authorization request
-- (web.Session.Binding): only it gets the code at the callback. It was a
-- session value written at the completion; the completion writes this row
-- anyway, so the login's PIN post writes no session (docs/benchmarks.md).
ALTER TABLE oidc_auth_requests ADD COLUMN browser TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE oidc_auth_requests DROP COLUMN browser;
