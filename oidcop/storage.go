package oidcop

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// storage is the library's op.Storage over the provider's tables (§4.7).
type storage struct {
	p *Provider
}

var _ op.Storage = (*storage)(nil)

// errNotYet answers what a later slice of the design record builds.
var errNotYet = errors.New("oidcop: not served yet")

// CreateAuthRequest stores a request that passed §2.1, for the card page.
func (s *storage) CreateAuthRequest(ctx context.Context, r *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	now := s.p.now()
	a := &authRequest{ID: newID(), ClientID: r.ClientID, RedirectURI: r.RedirectURI, Scopes: r.Scopes, State: r.State, Nonce: r.Nonce,
		CodeChallenge: r.CodeChallenge, ACR: strings.Join(r.ACRValues, " "), SessionState: randomToken(16), UILocales: r.UILocales.String(),
		SignTxID: signTxFrom(ctx), ResponseMode: string(r.ResponseMode),
		CreatedAt: time.UnixMilli(ms(now)), ExpiresAt: time.UnixMilli(ms(now.Add(s.p.cfg.LoginTTL)))}
	if _, err := s.p.db.Write(ctx, `INSERT INTO oidc_auth_requests (id, client_id, redirect_uri, scopes, state, nonce, code_challenge, acr,
session_state, created_at, expires_at, ui_locales, sign_tx_id, response_mode) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		a.ID, a.ClientID, a.RedirectURI, strings.Join(a.Scopes, " "), a.State, a.Nonce, a.CodeChallenge, a.ACR, a.SessionState,
		ms(a.CreatedAt), ms(a.ExpiresAt), a.UILocales, a.SignTxID, a.ResponseMode); err != nil {
		return nil, err
	}
	return a, nil
}

func (s *storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	if a, ok := ctx.Value(readAuthRequest{}).(*authRequest); ok && a.ID == id {
		return a, nil // read by the callback's guard in this request
	}
	a, err := s.p.authRequestByID(ctx, id)
	if err != nil {
		return nil, oidc.ErrInvalidRequest().WithDescription("unknown authorization request").WithParent(err)
	}
	return a, nil
}

// AuthRequestByCode is the library's lookup; CodeExchange redeems codes
// itself (redeemCode), once.
func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	a, err := scanAuthRequest(s.p.db.QueryRowContext(ctx, `SELECT `+authRequestColumns+` FROM oidc_auth_requests WHERE code_hash = $1`, hashToken(code)))
	if err != nil {
		return nil, oidc.ErrInvalidGrant()
	}
	return a, nil
}

// SaveAuthCode gives a completed request its one code: a request that has
// one already gets none.
func (s *storage) SaveAuthCode(ctx context.Context, id, code string) error {
	now := s.p.now()
	res, err := s.p.db.WriteCommitted(ctx, `UPDATE oidc_auth_requests SET code_hash = $1, code_expires_at = $2
WHERE id = $3 AND code_hash IS NULL AND auth_time <> 0 AND ended_at = 0`, hashToken(code), ms(now.Add(s.p.cfg.CodeTTL)), id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return oidc.ErrInvalidRequest().WithDescription("the authorization request has its code already")
	}
	return nil
}

// DeleteAuthRequest keeps the row: a second redemption of its code must
// find it used (and revoke the grant). Maintain deletes old rows.
func (s *storage) DeleteAuthRequest(ctx context.Context, id string) error { return nil }

// CreateAccessToken writes the grant of a redeemed code (its ID is the
// request's) and the access token's row (by its jti).
func (s *storage) CreateAccessToken(ctx context.Context, r op.TokenRequest) (string, time.Time, error) {
	now := s.p.now()
	if cc, ok := r.(*ccRequest); ok {
		// A client-credentials token: no grant, good for the sign API only.
		id, exp := newID(), now.Add(s.p.cfg.AccessTokenTTL)
		if _, err := s.p.db.Write(ctx, `INSERT INTO oidc_tokens (hash, grant_id, client_id, kind, expires_at) VALUES ($1, NULL, $2, 'cc', $3)`,
			id, cc.clientID, ms(exp)); err != nil {
			return "", time.Time{}, err
		}
		return id, exp, nil
	}
	a, ok := r.(*authRequest)
	if !ok {
		return "", time.Time{}, oidc.ErrUnsupportedGrantType().WithParent(errNotYet)
	}
	if w, ok := ctx.Value(writtenAccess{}).(*accessRow); ok && w.grantID == a.ID {
		return w.id, w.exp, nil // written by the code exchange's transaction
	}
	id, exp := newID(), now.Add(s.p.cfg.AccessTokenTTL)
	err := s.p.db.Tx(ctx, func(tx *sql.Tx) error { return s.p.writeAccess(ctx, tx, a, id, exp) })
	if err != nil {
		return "", time.Time{}, err
	}
	return id, exp, nil
}

// writeAccess writes, in tx, a's grant (its ID is the request's; once) and
// the access token's row (by its jti, id).
func (p *Provider) writeAccess(ctx context.Context, tx *sql.Tx, a *authRequest, id string, exp time.Time) error {
	if _, err := p.db.TxExec(ctx, tx, `INSERT INTO oidc_grants (id, client_id, sub, person_id, scopes, acr, auth_time, session_state,
created_at, expires_at, attributes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (id) DO NOTHING`,
		a.ID, a.ClientID, a.Sub, a.PersonID, strings.Join(a.GetScopes(), " "), a.GetACR(), ms(a.AuthTime), a.SessionState,
		ms(p.now()), ms(exp), a.Attributes); err != nil {
		return err
	}
	_, err := p.db.TxExec(ctx, tx, `INSERT INTO oidc_tokens (hash, grant_id, client_id, kind, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		id, a.ID, a.ClientID, "access", ms(exp))
	return err
}

// writtenAccess is the context key of the access token row the code
// exchange wrote in its transaction (an *accessRow), which the library's
// CreateAccessToken then signs instead of writing another.
type writtenAccess struct{}

// accessRow is an access token's row: its jti, its grant and expiry.
type accessRow struct {
	id, grantID string
	exp         time.Time
}

func (s *storage) CreateAccessAndRefreshTokens(ctx context.Context, r op.TokenRequest, current string) (string, string, time.Time, error) {
	return "", "", time.Time{}, oidc.ErrUnsupportedGrantType().WithParent(errNotYet)
}

func (s *storage) TokenRequestByRefreshToken(ctx context.Context, token string) (op.RefreshTokenRequest, error) {
	return nil, oidc.ErrInvalidGrant().WithParent(errNotYet)
}

func (s *storage) TerminateSession(ctx context.Context, userID, clientID string) error {
	return errNotYet
}

func (s *storage) RevokeToken(ctx context.Context, token, userID, clientID string) *oidc.Error {
	return oidc.ErrInvalidRequest().WithDescription("revocation is not served")
}

func (s *storage) GetRefreshTokenInfo(ctx context.Context, clientID, token string) (string, string, error) {
	return "", "", op.ErrInvalidRefreshToken
}

// signingKey is the library's view of the key that signs now.
type signingKey struct {
	info   SigningKeyInfo
	signer jose.OpaqueSigner
}

func (k signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return k.info.Alg }
func (k signingKey) Key() any                                    { return k.signer }
func (k signingKey) ID() string                                  { return k.info.KID }

func (s *storage) SigningKey(ctx context.Context) (op.SigningKey, error) {
	i, signer, err := s.p.keys.Signing(ctx)
	if err != nil {
		return nil, err
	}
	return signingKey{info: i, signer: OpaqueSigner(signer, i.KID, i.Alg)}, nil
}

func (s *storage) SignatureAlgorithms(ctx context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{s.p.cfg.SigningAlg}, nil
}

// publicKey is one listed key of the JWKS.
type publicKey struct{ info SigningKeyInfo }

func (k publicKey) ID() string                         { return k.info.KID }
func (k publicKey) Algorithm() jose.SignatureAlgorithm { return k.info.Alg }
func (k publicKey) Use() string                        { return "sig" }
func (k publicKey) Key() any                           { return k.info.Public.Key }

func (s *storage) KeySet(ctx context.Context) ([]op.Key, error) {
	keys, err := s.p.keys.all(ctx)
	if err != nil {
		return nil, err
	}
	var out []op.Key
	for _, i := range s.p.keys.listed(keys, s.p.now()) {
		out = append(out, publicKey{i})
	}
	return out, nil
}

func (s *storage) GetClientByClientID(ctx context.Context, clientID string) (op.Client, error) {
	c, err := s.p.Client(ctx, clientID)
	if err != nil {
		return nil, err
	}
	if !c.Enabled() {
		return nil, fmt.Errorf("oidcop: client %s is disabled", clientID)
	}
	return opClient{c: c, p: s.p}, nil
}

// AuthorizeClientIDSecret refuses: no client has a secret (§2.2).
func (s *storage) AuthorizeClientIDSecret(ctx context.Context, clientID, secret string) error {
	return oidc.ErrInvalidClient().WithDescription("private_key_jwt only")
}

func (s *storage) SetUserinfoFromScopes(ctx context.Context, u *oidc.UserInfo, userID, clientID string, scopes []string) error {
	return nil
}

// SetUserinfoFromToken answers for an access token that is live: not
// expired, its grant not revoked, its client enabled. It gives sub and
// the consented attributes as scalar strings (address a string, not the
// OIDC object: Obs IM), each answer disclosed to the platform first.
func (s *storage) SetUserinfoFromToken(ctx context.Context, u *oidc.UserInfo, tokenID, subject, origin string) error {
	var sub, clientID, personID, attributes string
	err := s.p.db.QueryRowContext(ctx, `SELECT g.sub, g.client_id, g.person_id, g.attributes FROM oidc_tokens t JOIN oidc_grants g ON g.id = t.grant_id
JOIN oidc_clients c ON c.id = g.client_id
WHERE t.hash = $1 AND t.kind = 'access' AND t.expires_at > $2 AND g.revoked_at = 0 AND c.disabled_at = 0`, tokenID, ms(s.p.now())).Scan(&sub, &clientID, &personID, &attributes)
	if err != nil || sub != subject {
		return errors.New("oidcop: the access token is not live")
	}
	vals, err := s.p.release(ctx, clientID, personID, attributes, "userinfo")
	if err != nil {
		return fmt.Errorf("%w: %w", errRelease, err)
	}
	u.Subject = sub
	for k, v := range vals {
		u.AppendClaims(k, v)
	}
	return nil
}

// errRelease is a UserInfo answer that could not be disclosed: a server
// error, not the token's fault.
var errRelease = errors.New("oidcop: the attributes cannot be released now")

func (s *storage) SetIntrospectionFromToken(ctx context.Context, r *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	return errNotYet
}

func (s *storage) GetPrivateClaimsFromScopes(ctx context.Context, userID, clientID string, scopes []string) (map[string]any, error) {
	return nil, nil
}

func (s *storage) GetKeyByIDAndClientID(ctx context.Context, keyID, clientID string) (*jose.JSONWebKey, error) {
	return nil, errNotYet
}

// ValidateJWTProfileScopes: the JWT-bearer grant is not served.
func (s *storage) ValidateJWTProfileScopes(ctx context.Context, userID string, scopes []string) ([]string, error) {
	return nil, oidc.ErrUnsupportedGrantType()
}

func (s *storage) Health(ctx context.Context) error { return s.p.db.PingContext(ctx) }
