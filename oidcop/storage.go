package oidcop

import (
	"context"
	"errors"
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

func (s *storage) CreateAuthRequest(ctx context.Context, r *oidc.AuthRequest, userID string) (op.AuthRequest, error) {
	return nil, oidc.ErrServerError().WithParent(errNotYet)
}

func (s *storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	return nil, oidc.ErrInvalidRequest().WithParent(errNotYet)
}

func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	return nil, oidc.ErrInvalidGrant().WithParent(errNotYet)
}

func (s *storage) SaveAuthCode(ctx context.Context, id, code string) error { return errNotYet }

func (s *storage) DeleteAuthRequest(ctx context.Context, id string) error { return errNotYet }

func (s *storage) CreateAccessToken(ctx context.Context, r op.TokenRequest) (string, time.Time, error) {
	return "", time.Time{}, errNotYet
}

func (s *storage) CreateAccessAndRefreshTokens(ctx context.Context, r op.TokenRequest, current string) (string, string, time.Time, error) {
	return "", "", time.Time{}, errNotYet
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
	return nil, oidc.ErrInvalidClient().WithParent(errNotYet)
}

// AuthorizeClientIDSecret refuses: no client has a secret (§2.2).
func (s *storage) AuthorizeClientIDSecret(ctx context.Context, clientID, secret string) error {
	return oidc.ErrInvalidClient().WithDescription("private_key_jwt only")
}

func (s *storage) SetUserinfoFromScopes(ctx context.Context, u *oidc.UserInfo, userID, clientID string, scopes []string) error {
	return nil
}

func (s *storage) SetUserinfoFromToken(ctx context.Context, u *oidc.UserInfo, tokenID, subject, origin string) error {
	return errNotYet
}

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
