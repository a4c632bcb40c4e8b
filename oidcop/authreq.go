package oidcop

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// opClient is a registered client as the library sees it.
type opClient struct {
	c Client
	p *Provider
	// refusal is what VerifyAuthRequest found wrong with an authorization
	// request, for Authorize to send back.
	refusal *oidc.Error
}

var _ op.Client = opClient{}

func (c opClient) GetID() string                    { return c.c.ID }
func (c opClient) RedirectURIs() []string           { return c.c.RedirectURIs }
func (c opClient) PostLogoutRedirectURIs() []string { return c.c.PostLogoutURIs }
func (c opClient) ApplicationType() op.ApplicationType {
	return op.ApplicationTypeWeb
}
func (c opClient) AuthMethod() oidc.AuthMethod { return oidc.AuthMethodPrivateKeyJWT }

// ResponseTypes lets every response type through the library's own check,
// so that VerifyAuthRequest's rules answer unsupported_response_type (the
// library would say unauthorized_client).
func (c opClient) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode, oidc.ResponseTypeIDToken, oidc.ResponseTypeIDTokenOnly}
}
func (c opClient) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken, oidc.GrantTypeClientCredentials}
}
func (c opClient) LoginURL(id string) string            { return c.p.Issuer() + LoginPath + id + "/" }
func (c opClient) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeJWT }
func (c opClient) IDTokenLifetime() time.Duration       { return c.p.cfg.IDTokenTTL }
func (c opClient) DevMode() bool                        { return c.c.Dev }
func (c opClient) IsScopeAllowed(scope string) bool     { return slices.Contains(Scopes, scope) }
func (c opClient) IDTokenUserinfoClaimsAssertion() bool { return false }
func (c opClient) ClockSkew() time.Duration             { return c.p.cfg.ClockSkew }
func (c opClient) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c opClient) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

// authRequest is one row of oidc_auth_requests.
type authRequest struct {
	ID, ClientID, RedirectURI   string
	Scopes                      []string
	State, Nonce, CodeChallenge string
	ACR, SessionState           string
	CreatedAt, ExpiresAt        time.Time
	PersonID, Sub               string
	AuthTime                    time.Time
	GrantedScopes               []string
	CodeExpiresAt, CodeUsedAt   time.Time
	EndedAt                     time.Time
	EndReason                   string
	// UILocales are the request's ui_locales, space-separated.
	UILocales string
	// Attributes are the consented attributes (JSON), for the grant.
	Attributes string
	// SignTxID is the sign transaction the request asked to sign.
	SignTxID string
	// ResponseMode is the response_mode asked ("" is query).
	ResponseMode string
	// Browser is the web.Session.Binding of the browser whose card login
	// completed the request: only it gets the code (the callback).
	Browser string
}

var (
	_ op.AuthRequest             = (*authRequest)(nil)
	_ op.AuthRequestSessionState = (*authRequest)(nil)
)

func (a *authRequest) GetID() string { return a.ID }
func (a *authRequest) GetACR() string {
	if slices.Contains(strings.Fields(a.ACR), "aal3") {
		return "aal3"
	}
	return ""
}
func (a *authRequest) GetAMR() []string        { return []string{"jpki-auth"} }
func (a *authRequest) GetAudience() []string   { return []string{a.ClientID} }
func (a *authRequest) GetAuthTime() time.Time  { return a.AuthTime }
func (a *authRequest) GetClientID() string     { return a.ClientID }
func (a *authRequest) GetNonce() string        { return a.Nonce }
func (a *authRequest) GetRedirectURI() string  { return a.RedirectURI }
func (a *authRequest) GetState() string        { return a.State }
func (a *authRequest) GetSubject() string      { return a.Sub }
func (a *authRequest) GetSessionState() string { return a.SessionState }
func (a *authRequest) Done() bool              { return !a.AuthTime.IsZero() && a.EndedAt.IsZero() }
func (a *authRequest) GetResponseType() oidc.ResponseType {
	return oidc.ResponseTypeCode
}
func (a *authRequest) GetResponseMode() oidc.ResponseMode { return oidc.ResponseModeQuery }

// GetScopes are the granted scopes once the person logged in (what the
// tokens carry), the requested ones before.
func (a *authRequest) GetScopes() []string {
	if len(a.GrantedScopes) > 0 {
		return a.GrantedScopes
	}
	return a.Scopes
}
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	return &oidc.CodeChallenge{Challenge: a.CodeChallenge, Method: oidc.CodeChallengeMethodS256}
}

const authRequestColumns = `id, client_id, redirect_uri, scopes, state, nonce, code_challenge, acr, session_state, created_at, expires_at,
person_id, sub, auth_time, granted_scopes, code_expires_at, code_used_at, ended_at, end_reason, ui_locales, attributes, sign_tx_id,
response_mode, browser`

func scanAuthRequest(row interface{ Scan(...any) error }) (*authRequest, error) {
	var a authRequest
	var scopes, granted string
	var created, expires, authTime, codeExp, codeUsed, ended int64
	if err := row.Scan(&a.ID, &a.ClientID, &a.RedirectURI, &scopes, &a.State, &a.Nonce, &a.CodeChallenge, &a.ACR, &a.SessionState,
		&created, &expires, &a.PersonID, &a.Sub, &authTime, &granted, &codeExp, &codeUsed, &ended, &a.EndReason, &a.UILocales, &a.Attributes, &a.SignTxID,
		&a.ResponseMode, &a.Browser); err != nil {
		return nil, err
	}
	a.Scopes, a.GrantedScopes = strings.Fields(scopes), strings.Fields(granted)
	a.CreatedAt, a.ExpiresAt = time.UnixMilli(created), time.UnixMilli(expires)
	opt := func(v int64) time.Time {
		if v == 0 {
			return time.Time{}
		}
		return time.UnixMilli(v)
	}
	a.AuthTime, a.CodeExpiresAt, a.CodeUsedAt, a.EndedAt = opt(authTime), opt(codeExp), opt(codeUsed), opt(ended)
	return &a, nil
}

// The parameter rules of §2.1 that the library does not apply.
var (
	codeChallengePattern = regexp.MustCompile(`^[0-9A-Za-z_-]{1,128}$`)
	printable            = regexp.MustCompile(`^[\x20-\x7e]{1,255}$`)
	uuidPattern          = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

// actedParams are the authorization parameters the provider acts on (§2.1,
// §3 row 7); under ParamsRefuse any other is refused. prompt is among them:
// prompt=none always gives login_required, and every other prompt value is
// met by a card login.
var actedParams = []string{"client_id", "redirect_uri", "response_type", "response_mode", "scope", "state", "nonce",
	"code_challenge", "code_challenge_method", "acr_values", "ui_locales", "prompt", "sign_transaction_id"}

// checkAuthRequest applies §2.1's rules after the client and the redirect
// URI were found good: the refusal to send to the RP, or nil.
func checkAuthRequest(cfg *Config, r *oidc.AuthRequest, form map[string][]string) *oidc.Error {
	get := func(k string) string {
		if v := form[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	switch {
	case r.RequestParam != "" || get("request_uri") != "":
		return oidc.ErrRequestNotSupported()
	case r.ResponseType == "":
		return oidc.ErrInvalidRequest().WithDescription("response_type is missing")
	case r.ResponseType != oidc.ResponseTypeCode:
		e := oidc.ErrInvalidRequest().WithDescription("response_type must be code")
		e.ErrorType = "unsupported_response_type" // RFC 6749 §4.1.2.1; the library has no constructor
		return e
	case r.ResponseMode != "" && !slices.Contains(cfg.ResponseModes, string(r.ResponseMode)):
		return oidc.ErrInvalidRequest().WithDescription("response_mode must be one of %s", strings.Join(cfg.ResponseModes, ", "))
	case !slices.Contains(r.Scopes, oidc.ScopeOpenID):
		return oidc.ErrInvalidScope().WithDescription("scope must contain openid")
	case !printable.MatchString(r.State):
		return oidc.ErrInvalidRequest().WithDescription("state is required: 1-255 characters in 0x20-0x7E")
	case !printable.MatchString(r.Nonce):
		return oidc.ErrInvalidRequest().WithDescription("nonce is required: 1-255 characters in 0x20-0x7E")
	case !codeChallengePattern.MatchString(r.CodeChallenge):
		return oidc.ErrInvalidRequest().WithDescription("code_challenge is required: 1-128 characters of [0-9A-Za-z_-]")
	case r.CodeChallengeMethod != oidc.CodeChallengeMethodS256:
		return oidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256")
	case slices.Contains(r.Prompt, oidc.PromptNone):
		// Every login is a card login: there is no session to reuse.
		return oidc.ErrLoginRequired()
	}
	if cfg.UnknownScopes == ScopesRefuse {
		for _, s := range r.Scopes {
			if !slices.Contains(Scopes, s) {
				return oidc.ErrInvalidScope().WithDescription("unknown scope value")
			}
		}
	}
	if cfg.ACRUnknown == ACRRefuse {
		for _, v := range r.ACRValues {
			if v != "aal3" && v != "crl" {
				return oidc.ErrInvalidRequest().WithDescription("acr_values: only aal3 and crl are known")
			}
		}
	}
	if cfg.UnknownParams == ParamsRefuse {
		for k := range form {
			if !slices.Contains(actedParams, k) {
				return oidc.ErrInvalidRequest().WithDescription("the parameter %s is not supported", k)
			}
		}
	}
	tx := get("sign_transaction_id")
	sign := slices.Contains(r.Scopes, "sign")
	switch {
	case sign && tx == "":
		return oidc.ErrInvalidRequest().WithDescription("the sign scope needs sign_transaction_id")
	case tx != "" && !sign:
		return oidc.ErrInvalidRequest().WithDescription("sign_transaction_id needs the sign scope")
	case tx != "" && !uuidPattern.MatchString(tx):
		return oidc.ErrInvalidRequest().WithDescription("sign_transaction_id is not a UUID")
	}
	return nil
}

// pairwiseSub is §4.6's subject: stable per sector and platform ID, and
// unlinkable between sectors.
func pairwiseSub(secret []byte, sector, personID string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("mynaplat-oidc-sub\x00" + sector + "\x00" + personID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashToken is how codes and tokens are kept: SHA-256, hex.
func hashToken(t string) string {
	h := sha256.Sum256([]byte(t))
	return fmt.Sprintf("%x", h)
}

// authRequestByID reads one authorization request.
func (p *Provider) authRequestByID(ctx context.Context, id string) (*authRequest, error) {
	a, err := scanAuthRequest(p.db.QueryRowContext(ctx, `SELECT `+authRequestColumns+` FROM oidc_auth_requests WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNoAuthRequest
	}
	return a, err
}

// errNoAuthRequest is an authorization request that is not (or no longer) there.
var errNoAuthRequest = errors.New("oidcop: no such authorization request")

// endAuthRequest ends an authorization request that has not ended, with
// the reason (a refusal's code). It reports whether this call ended it.
func (p *Provider) endAuthRequest(ctx context.Context, id, reason string) (bool, error) {
	res, err := p.db.WriteCommitted(ctx, `UPDATE oidc_auth_requests SET ended_at = $1, end_reason = $2 WHERE id = $3 AND ended_at = 0 AND auth_time = 0`,
		ms(p.now()), reason, id)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// completeAuthRequest records the card login on the request: who, their
// sub for the client's sector, the granted scopes (openid, and the
// consented attributes, whose values attrs holds). Only a live request
// that no one completed yet takes it, bound to the browser that completed
// it (browser, its session's Binding). Its audit row (authorize OK, with
// reason) commits with it: one transaction.
func (p *Provider) completeAuthRequest(ctx context.Context, a *authRequest, browser, personID string, attrs map[string]string, signed bool, reason string) error {
	c, err := p.Client(ctx, a.ClientID)
	if err != nil {
		return err
	}
	secret, err := p.secret(ctx, "pairwise")
	if err != nil {
		return err
	}
	now := p.now()
	granted := []string{"openid"}
	for _, s := range AttributeScopes {
		if _, ok := attrs[s]; ok {
			granted = append(granted, s)
		}
	}
	if signed {
		granted = append(granted, "sign")
	}
	var attributes string
	if len(attrs) > 0 {
		b, err := json.Marshal(attrs)
		if err != nil {
			return err
		}
		attributes = string(b)
	}
	sub := pairwiseSub(secret, c.Sector, personID)
	err = p.db.TxLevel(ctx, sql.LevelReadCommitted, func(tx *sql.Tx) error {
		res, err := p.db.TxExec(ctx, tx, `UPDATE oidc_auth_requests SET person_id = $1, sub = $2, auth_time = $3, granted_scopes = $4, attributes = $5, browser = $6
WHERE id = $7 AND auth_time = 0 AND ended_at = 0 AND expires_at > $8`,
			personID, sub, ms(now), strings.Join(granted, " "), attributes, browser, a.ID, ms(now))
		if err != nil {
			return fmt.Errorf("oidcop: complete the authorization: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errNoAuthRequest
		}
		return p.audit(ctx, tx, a.ClientID, personID, "authorize", "OK", reason)
	})
	return err
}

// Maintain deletes what no check needs any more: assertion jtis past their
// exp, and authorization requests, grants and tokens an hour past their
// end (a code's reuse is still caught until then). Run it every minute or
// so; several instances may.
func (p *Provider) Maintain(ctx context.Context) error {
	now := p.now()
	old := ms(now.Add(-time.Hour))
	for _, q := range []struct {
		sql string
		arg int64
	}{
		{`DELETE FROM oidc_assertion_jtis WHERE expires_at < $1`, ms(now)},
		{`DELETE FROM oidc_auth_requests WHERE expires_at < $1 AND code_expires_at < $1`, old},
		{`DELETE FROM oidc_tokens WHERE expires_at < $1`, old},
		{`DELETE FROM oidc_grants WHERE expires_at < $1`, old},
		{`DELETE FROM oidc_sign_transactions WHERE expires_at < $1 AND grant_id NOT IN (SELECT id FROM oidc_grants)`, old},
	} {
		if _, err := p.db.WriteCommitted(ctx, q.sql, q.arg); err != nil {
			return fmt.Errorf("oidcop: maintain: %w", err)
		}
	}
	return nil
}
