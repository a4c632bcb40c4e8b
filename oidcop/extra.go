package oidcop

import (
	"context"
	"database/sql"
	"errors"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// The optional endpoints of §3 row 19 (--oidc-extra-endpoints), at
// Keycloak's paths. Both authenticate the client by private_key_jwt with
// the token endpoint's checks.
const (
	RevokePath     = "/protocol/openid-connect/revoke"
	IntrospectPath = "/protocol/openid-connect/token/introspect"
)

// The values of --oidc-extra-endpoints.
const (
	EndpointRevoke     = "revoke"
	EndpointIntrospect = "introspect"
)

// liveRefresh is the client's refresh token row when it is still good:
// not expired, not used (rotation), its grant not revoked.
func (p *Provider) liveRefresh(ctx context.Context, raw, clientID string) (grantID, sub string, expires int64, err error) {
	err = p.db.QueryRowContext(ctx, `SELECT t.grant_id, g.sub, t.expires_at FROM oidc_tokens t JOIN oidc_grants g ON g.id = t.grant_id
WHERE t.hash = $1 AND t.kind = 'refresh' AND t.client_id = $2 AND t.used_at = 0 AND t.expires_at > $3 AND g.revoked_at = 0`,
		hashToken(raw), clientID, ms(p.now())).Scan(&grantID, &sub, &expires)
	return grantID, sub, expires, err
}

// Revocation is RFC 7009 for the client's own tokens: a refresh token
// revokes its grant (every token of it); an access token ends alone. A
// token that is unknown, another client's or already dead is answered 200
// too (RFC 7009 §2.2).
func (s *server) Revocation(ctx context.Context, r *op.ClientRequest[oidc.RevocationRequest]) (*op.Response, error) {
	p, clientID := s.p, r.Client.GetID()
	err := p.db.Tx(ctx, func(tx *sql.Tx) error {
		if grantID, _, _, err := p.liveRefresh(ctx, r.Data.Token, clientID); err == nil {
			if err := p.revokeGrant(ctx, tx, grantID); err != nil {
				return err
			}
			return p.audit(ctx, tx, clientID, "", "revoke", "OK", "refresh token: grant revoked")
		}
		t, err := p.accessToken(ctx, r.Data.Token)
		if err != nil || t.clientID != clientID {
			return nil
		}
		if _, err := p.db.TxExec(ctx, tx, `UPDATE oidc_tokens SET expires_at = $1 WHERE hash = $2 AND client_id = $3`,
			ms(p.now()), t.jti, clientID); err != nil {
			return err
		}
		return p.audit(ctx, tx, clientID, "", "revoke", "OK", "access token")
	})
	if err != nil {
		return nil, oidc.ErrServerError().WithParent(err)
	}
	return op.NewResponse(struct{}{}), nil
}

// introspection is RFC 7662's answer: only active, and for an active
// token of the asking client its client_id, token_type, sub and exp.
type introspection struct {
	Active    bool   `json:"active"`
	ClientID  string `json:"client_id,omitempty"`
	TokenType string `json:"token_type,omitempty"`
	Subject   string `json:"sub,omitempty"`
	Expiry    int64  `json:"exp,omitempty"`
}

// Introspect is RFC 7662 for the client's own tokens (another client's
// token is inactive to it). The library's verifier is not used (§4.8 gap 1).
func (s *server) Introspect(ctx context.Context, r *op.Request[op.IntrospectionRequest]) (*op.Response, error) {
	p, cc := s.p, r.Data.ClientCredentials
	if cc == nil || cc.ClientAssertionType != oidc.ClientAssertionTypeJWTAssertion || cc.ClientAssertion == "" {
		return nil, invalidClient("private_key_jwt is the only client authentication")
	}
	c, err := p.verifyAssertion(ctx, cc.ClientAssertion, cc.ClientID)
	if err != nil {
		p.refused(ctx, cc.ClientID, "", "client-auth", "invalid_client "+err.Error())
		return nil, invalidClient(err.Error())
	}
	raw := r.Data.IntrospectionRequest.Token
	if _, sub, exp, err := p.liveRefresh(ctx, raw, c.ID); err == nil {
		return op.NewResponse(introspection{Active: true, ClientID: c.ID, TokenType: "refresh_token", Subject: sub, Expiry: exp / 1000}), nil
	}
	t, err := p.accessToken(ctx, raw)
	switch {
	case errors.Is(err, errBadToken) || (err == nil && t.clientID != c.ID):
		return op.NewResponse(introspection{}), nil
	case err != nil:
		return nil, oidc.ErrServerError().WithParent(err)
	}
	out := introspection{Active: true, ClientID: c.ID, TokenType: oidc.BearerToken}
	var sub sql.NullString
	var exp int64
	if err := p.db.QueryRowContext(ctx, `SELECT g.sub, t.expires_at FROM oidc_tokens t LEFT JOIN oidc_grants g ON g.id = t.grant_id WHERE t.hash = $1`,
		t.jti).Scan(&sub, &exp); err != nil {
		return nil, oidc.ErrServerError().WithParent(err)
	}
	out.Subject, out.Expiry = sub.String, exp/1000
	if out.Subject == "" {
		out.Subject = c.ID // a client-credentials token's subject is its client
	}
	return op.NewResponse(out), nil
}
