package oidcop

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// VerifyAuthRequest finds the client and checks the redirect URI exactly
// (§2.1): a failure there is shown, never redirected (RFC 6749 §4.1.2.1).
// The other rules of §2.1 are checked here on the raw request, before the
// library drops unknown scopes, and their refusal travels with the client
// to Authorize, which the library redirects to the RP.
func (s *server) VerifyAuthRequest(ctx context.Context, r *op.Request[oidc.AuthRequest]) (*op.ClientRequest[oidc.AuthRequest], error) {
	c, err := s.p.clientAndRedirect(ctx, r.Data.ClientID, r.Data.RedirectURI)
	if err != nil {
		return nil, err
	}
	refusal := checkAuthRequest(&s.p.cfg, r.Data, r.Form)
	if tx := r.Form.Get("sign_transaction_id"); refusal == nil && tx != "" && !s.p.signTxUsable(ctx, tx, c.ID) {
		refusal = oidc.ErrInvalidRequest().WithDescription("no such sign transaction (unknown, another client's, used or expired)")
	}
	return &op.ClientRequest[oidc.AuthRequest]{Request: r, Client: opClient{c: c, p: s.p, refusal: refusal}}, nil
}

// clientAndRedirect is the enabled client of an authorization request
// with its redirect URI registered exactly (§2.1); a refusal is audited
// and must never be redirected.
func (p *Provider) clientAndRedirect(ctx context.Context, id, uri string) (Client, error) {
	if !clientIDPattern.MatchString(id) {
		return Client{}, oidc.ErrInvalidRequestRedirectURI().WithDescription("unknown client_id")
	}
	c, err := p.Client(ctx, id)
	if errors.Is(err, ErrNoClient) || (err == nil && !c.Enabled()) {
		p.refused(ctx, id, "", "authorize", "unknown_client")
		return Client{}, oidc.ErrInvalidRequestRedirectURI().WithDescription("unknown client_id")
	}
	if err != nil {
		return Client{}, oidc.ErrServerError().WithParent(err)
	}
	if uri == "" || len(uri) > 255 || !slices.Contains(c.RedirectURIs, uri) {
		p.refused(ctx, id, "", "authorize", "bad_redirect_uri")
		return Client{}, oidc.ErrInvalidRequestRedirectURI().WithDescription("redirect_uri is not registered for the client")
	}
	return c, nil
}

// Authorize sends a request that broke a rule of §2.1 back to the RP with
// its error, and stores the others for the card page.
func (s *server) Authorize(ctx context.Context, r *op.ClientRequest[oidc.AuthRequest]) (*op.Redirect, error) {
	if c, ok := r.Client.(opClient); ok && c.refusal != nil {
		// The refusal goes in the query whatever the request asked for;
		// form_post (§3 row 24) carries only a completed login's code.
		r.Data.ResponseMode, r.Data.ResponseType = oidc.ResponseModeQuery, oidc.ResponseTypeCode
		s.p.refused(ctx, c.c.ID, "", "authorize", string(c.refusal.ErrorType)+" "+c.refusal.Description)
		return nil, c.refusal
	}
	return s.LegacyServer.Authorize(context.WithValue(ctx, signTxKey{}, r.Form.Get("sign_transaction_id")), r)
}

// assertionClaims are the claims of a client assertion (RFC 7523 §3).
type assertionClaims struct {
	Issuer    string           `json:"iss"`
	Subject   string           `json:"sub"`
	Audience  jwt.Audience     `json:"aud"`
	Expiry    *jwt.NumericDate `json:"exp"`
	IssuedAt  *jwt.NumericDate `json:"iat"`
	NotBefore *jwt.NumericDate `json:"nbf"`
	ID        string           `json:"jti"`
}

// invalidClient is a 401 invalid_client (§2.2).
func invalidClient(desc string) error {
	return op.NewStatusError(oidc.ErrInvalidClient().WithDescription("%s", desc), http.StatusUnauthorized)
}

// VerifyClient authenticates the client by private_key_jwt only, with the
// checks of §2.2 (the library's verifier wants the issuer in aud, checks
// no jti and takes no maximum lifetime: §4.8 gaps 1–3).
func (s *server) VerifyClient(ctx context.Context, r *op.Request[op.ClientCredentials]) (op.Client, error) {
	cc := r.Data
	if cc.ClientAssertionType != oidc.ClientAssertionTypeJWTAssertion || cc.ClientAssertion == "" {
		return nil, invalidClient("private_key_jwt is the only client authentication")
	}
	c, err := s.p.verifyAssertion(ctx, cc.ClientAssertion, cc.ClientID)
	if err != nil {
		s.p.refused(ctx, cc.ClientID, "", "client-auth", "invalid_client "+err.Error())
		return nil, invalidClient(err.Error())
	}
	return opClient{c: c, p: s.p}, nil
}

// verifyAssertion checks a client assertion and returns its client.
func (p *Provider) verifyAssertion(ctx context.Context, assertion, formClientID string) (Client, error) {
	if formClientID == "" && p.cfg.RequireClientID {
		return Client{}, errors.New("client_id is required beside the assertion")
	}
	jws, err := jose.ParseSignedCompact(assertion, p.cfg.AssertionAlgs)
	if err != nil {
		return Client{}, fmt.Errorf("the assertion is not a JWS of %v: %w", p.cfg.AssertionAlgs, err)
	}
	var unverified assertionClaims
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &unverified); err != nil {
		return Client{}, errors.New("the assertion's claims cannot be read")
	}
	id := unverified.Issuer
	if formClientID != "" && formClientID != id {
		return Client{}, errors.New("client_id is not the assertion's iss")
	}
	c, err := p.Client(ctx, id)
	if err != nil {
		return Client{}, errors.New("unknown client")
	}
	if !c.Enabled() {
		return Client{}, errors.New("the client is disabled")
	}
	h := jws.Signatures[0].Header
	if p.cfg.StrictAssertions && h.KeyID == "" {
		return Client{}, errors.New("kid is required")
	}
	var key *ClientKey
	var enabled []ClientKey
	for _, k := range c.Keys {
		if k.Enabled() {
			enabled = append(enabled, k)
		}
	}
	switch {
	case h.KeyID != "":
		for i := range enabled {
			if enabled[i].KID == h.KeyID {
				key = &enabled[i]
			}
		}
	case len(enabled) == 1:
		// A header without kid (the observed clients send none) uses the
		// one enabled key; with two, kid is required.
		key = &enabled[0]
	}
	if key == nil {
		return Client{}, errors.New("no enabled key of the client matches the assertion (kid)")
	}
	if string(key.Alg) != h.Algorithm {
		return Client{}, fmt.Errorf("the key %s signs %s, not %s", key.KID, key.Alg, h.Algorithm)
	}
	payload, err := jws.Verify(key.Public)
	if err != nil {
		return Client{}, errors.New("the assertion's signature does not verify")
	}
	var cl assertionClaims
	if err := json.Unmarshal(payload, &cl); err != nil {
		return Client{}, errors.New("the assertion's claims cannot be read")
	}
	now := p.now()
	skew := p.cfg.ClockSkew
	maxLife := p.cfg.AssertionMaxLifetime
	if p.cfg.StrictAssertions {
		maxLife = min(maxLife, StrictAssertionMaxLifetime)
	}
	aud := func() bool {
		for _, a := range cl.Audience {
			if a == p.Issuer()+TokenPath || a == p.Issuer() {
				return true
			}
		}
		return false
	}
	switch {
	case cl.Issuer != c.ID || cl.Subject != c.ID:
		return Client{}, errors.New("iss and sub must be the client ID")
	case !aud():
		return Client{}, errors.New("aud must contain the token endpoint URL or the issuer")
	case cl.Expiry == nil || !now.Before(cl.Expiry.Time().Add(skew)):
		return Client{}, errors.New("the assertion has expired (exp)")
	case cl.Expiry.Time().After(now.Add(maxLife + skew)):
		return Client{}, errors.New("exp is too far ahead")
	case p.cfg.StrictAssertions && cl.IssuedAt == nil:
		return Client{}, errors.New("iat is required")
	case cl.NotBefore != nil && now.Add(skew).Before(cl.NotBefore.Time()):
		return Client{}, errors.New("the assertion is not valid yet (nbf)")
	case cl.IssuedAt != nil && now.Add(skew).Before(cl.IssuedAt.Time()):
		return Client{}, errors.New("iat is in the future")
	case cl.ID == "" || len(cl.ID) > 255:
		return Client{}, errors.New("jti is required")
	}
	res, err := p.db.WriteCommitted(ctx, `INSERT INTO oidc_assertion_jtis (client_id, jti, expires_at) VALUES ($1, $2, $3)
ON CONFLICT (client_id, jti) DO NOTHING`, c.ID, cl.ID, ms(cl.Expiry.Time().Add(skew)))
	if err != nil {
		return Client{}, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Client{}, errors.New("the assertion's jti was used before (replay)")
	}
	return c, nil
}

// redeemCode takes an authorization code once. A code used before revokes
// every token of the grant it gave, and is invalid_grant like an expired or
// unknown one. A code taken is then checked (check, an *oidc.Error: the
// code stays used, as a code is single use whatever the request) and, when
// it passes, issue writes what the code gives in the same transaction, so
// that one token request commits once.
func (p *Provider) redeemCode(ctx context.Context, code string, check func(*authRequest) error, issue func(*sql.Tx, *authRequest) error) (*authRequest, error) {
	var a *authRequest
	var reused bool
	var refused error
	now := p.now()
	err := p.db.Tx(ctx, func(tx *sql.Tx) error {
		a, reused, refused = nil, false, nil
		var err error
		a, err = scanAuthRequest(p.db.TxQueryRow(ctx, tx, `SELECT `+authRequestColumns+` FROM oidc_auth_requests WHERE code_hash = $1`, hashToken(code)))
		if errors.Is(err, sql.ErrNoRows) {
			a = nil
			return nil
		}
		if err != nil {
			return err
		}
		reuse := func() error {
			reused = true
			if _, err := p.db.TxExec(ctx, tx, `UPDATE oidc_grants SET revoked_at = $1, attributes = '' WHERE id = $2 AND revoked_at = 0`, ms(now), a.ID); err != nil {
				return err
			}
			return p.audit(ctx, tx, a.ClientID, a.PersonID, "token", "refused", "code_reused grant revoked")
		}
		if !a.CodeUsedAt.IsZero() {
			return reuse()
		}
		if !now.Before(a.CodeExpiresAt) {
			return nil
		}
		res, err := p.db.TxExec(ctx, tx, `UPDATE oidc_auth_requests SET code_used_at = $1 WHERE id = $2 AND code_used_at = 0`, ms(now), a.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			// A concurrent redemption claimed it first (PostgreSQL's read
			// committed lets both read it unused): this one is a reuse.
			return reuse()
		}
		a.CodeUsedAt = time.UnixMilli(ms(now))
		if refused = check(a); refused != nil {
			return nil
		}
		return issue(tx, a)
	})
	switch {
	case err != nil:
		return nil, oidc.ErrServerError().WithParent(err)
	case a == nil:
		return nil, oidc.ErrInvalidGrant().WithDescription("unknown code")
	case reused:
		return nil, oidc.ErrInvalidGrant().WithDescription("the code was used before: its tokens are revoked")
	case !now.Before(a.CodeExpiresAt):
		return nil, oidc.ErrInvalidGrant().WithDescription("the code has expired")
	case refused != nil:
		return a, refused
	}
	return a, nil
}

// peekCode reads the authorization request of a code that is still
// unused and unexpired, taking nothing; nil when there is none.
func (p *Provider) peekCode(ctx context.Context, code string) (*authRequest, error) {
	a, err := scanAuthRequest(p.db.QueryRowContext(ctx, `SELECT `+authRequestColumns+` FROM oidc_auth_requests WHERE code_hash = $1`, hashToken(code)))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, err
	case !a.CodeUsedAt.IsZero() || !p.now().Before(a.CodeExpiresAt):
		return nil, nil
	}
	return a, nil
}

// s256 is RFC 7636's S256 of a verifier.
func s256(verifier string) string {
	h := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// tokenResponse is §2.2's answer to a code (and later a refresh).
type tokenResponse struct {
	AccessToken      string `json:"access_token"`
	TokenType        string `json:"token_type"`
	ExpiresIn        uint64 `json:"expires_in"`
	RefreshToken     string `json:"refresh_token,omitempty"`
	RefreshExpiresIn uint64 `json:"refresh_expires_in,omitempty"`
	IDToken          string `json:"id_token,omitempty"`
	Scope            string `json:"scope"`
	SessionState     string `json:"session_state,omitempty"`
	NotBeforePolicy  int    `json:"not-before-policy"`
}

// CodeExchange redeems a code with the checks of §2.2 — the client, the
// redirect URI's exact string, and a required PKCE verifier (the library
// checks one only when it is sent) — and answers with the provider's own
// ID token (§4.8 gap 6: aud a JSON string, at_hash over the access token).
func (s *server) CodeExchange(ctx context.Context, r *op.ClientRequest[oidc.AccessTokenRequest]) (*op.Response, error) {
	v := r.Data.CodeVerifier
	check := func(a *authRequest) error {
		switch {
		case a.ClientID != r.Client.GetID():
			return oidc.ErrInvalidGrant().WithDescription("the code is another client's")
		case r.Data.RedirectURI != a.RedirectURI:
			return oidc.ErrInvalidGrant().WithDescription("redirect_uri is not the authorization request's")
		case !verifierPattern.MatchString(v):
			return oidc.ErrInvalidGrant().WithDescription("code_verifier is required: 43-128 characters (RFC 7636)")
		case s256(v) != a.CodeChallenge:
			return oidc.ErrInvalidGrant().WithDescription("code_verifier does not match the code_challenge")
		}
		return nil
	}
	// The grant, the access token's row, the refresh token and the audit
	// row commit with the code's use; the tokens are signed after.
	var access accessRow
	var refresh string
	var refreshExp time.Time
	issue := func(tx *sql.Tx, a *authRequest) error {
		access = accessRow{id: newID(), grantID: a.ID, exp: s.p.now().Add(s.p.cfg.AccessTokenTTL)}
		if err := s.p.writeAccess(ctx, tx, a, access.id, access.exp); err != nil {
			return err
		}
		var err error
		if refresh, refreshExp, err = s.p.issueRefresh(ctx, tx, a.ID, a.ClientID); err != nil {
			return err
		}
		return s.p.audit(ctx, tx, a.ClientID, a.PersonID, "token", "OK", "authorization_code")
	}
	// §3 row 11: the ID token's attributes are disclosed before anything
	// is issued, and before the code is taken: the disclosure is a call to
	// the platform, which no transaction may wait on. A disclosure the
	// platform does not take issues nothing and leaves the code as it was,
	// so the RP may post it again while it lasts. A code that is unknown,
	// spent or refused by check is not disclosed for: redeemCode refuses it.
	var attrs map[string]string
	if s.p.cfg.AttributesInIDToken {
		if a, err := s.p.peekCode(ctx, r.Data.Code); err != nil {
			return nil, oidc.ErrServerError().WithParent(err)
		} else if a != nil && check(a) == nil {
			if attrs, err = s.p.idTokenAttributes(ctx, a, false); err != nil {
				return nil, s.p.undisclosed(ctx, a, err)
			}
		}
	}
	a, err := s.p.redeemCode(ctx, r.Data.Code, check, issue)
	if err != nil {
		if a != nil { // taken, then refused by check
			s.p.refused(ctx, a.ClientID, a.PersonID, "token", "invalid_grant "+err.(*oidc.Error).Description)
		} else {
			s.p.refused(ctx, r.Client.GetID(), "", "token", "invalid_grant")
		}
		return nil, err
	}
	ctx = context.WithValue(ctx, writtenAccess{}, &access)
	accessToken, _, validity, err := op.CreateAccessToken(ctx, a, op.AccessTokenTypeJWT, s.Provider(), r.Client, "")
	if err != nil {
		return nil, err
	}
	idToken, err := s.p.signIDToken(ctx, a, accessToken, attrs)
	if err != nil {
		return nil, oidc.ErrServerError().WithParent(err)
	}
	return s.p.tokenAnswer(tokenResponse{AccessToken: accessToken, ExpiresIn: uint64(validity.Seconds()), IDToken: idToken,
		RefreshToken: refresh, RefreshExpiresIn: uint64(refreshExp.Sub(s.p.now()).Round(time.Second).Seconds()),
		Scope: strings.Join(a.GetScopes(), " "), SessionState: a.SessionState}), nil
}

// idClaims are the ID token's claims (§2.3). aud is a JSON string: the
// observed RP reads it with str_contains.
type idClaims struct {
	Issuer   string   `json:"iss"`
	Subject  string   `json:"sub"`
	Audience string   `json:"aud"`
	Expiry   int64    `json:"exp"`
	IssuedAt int64    `json:"iat"`
	AuthTime int64    `json:"auth_time"`
	Nonce    string   `json:"nonce,omitempty"`
	AtHash   string   `json:"at_hash"`
	AZP      string   `json:"azp"`
	SID      string   `json:"sid"`
	Type     string   `json:"typ"`
	ACR      string   `json:"acr,omitempty"`
	AMR      []string `json:"amr"`
}

// ErrUndisclosed is a token request whose ID token would carry attributes
// the platform did not record as disclosed (§3 row 11): nothing is issued.
var ErrUndisclosed = errors.New("oidcop: the platform did not record the disclosure")

// undisclosed answers a code redemption whose ID-token disclosure failed
// (err): the code was not taken, nothing was issued for it, and the RP gets
// temporarily_unavailable (503) to post it again while it lasts.
func (p *Provider) undisclosed(ctx context.Context, a *authRequest, err error) error {
	p.logger.ErrorContext(ctx, "oidc: ID token disclosure", "client", a.ClientID, "err", err)
	p.refused(ctx, a.ClientID, a.PersonID, "token", "temporarily_unavailable disclosure_not_recorded")
	return op.NewStatusError(&oidc.Error{ErrorType: "temporarily_unavailable",
		Description: "disclosure_not_recorded: the platform did not record the attributes' disclosure; nothing was issued and the code may be posted again while it lasts",
		Parent:      fmt.Errorf("%w: %w", ErrUndisclosed, err)},
		http.StatusServiceUnavailable)
}

// signIDToken signs a's ID token with the key signing now, at_hash over
// the access token given with it, carrying attrs: the attributes the knob
// of §3 row 11 puts there, already released (idTokenAttributes) by the
// caller before it issued anything.
func (p *Provider) signIDToken(ctx context.Context, a *authRequest, accessToken string, attrs map[string]string) (string, error) {
	info, signer, err := p.keys.Signing(ctx)
	if err != nil {
		return "", err
	}
	now := p.now()
	h := sha256.Sum256([]byte(accessToken))
	c := idClaims{Issuer: p.Issuer(), Subject: a.Sub, Audience: a.ClientID, Expiry: now.Add(p.cfg.IDTokenTTL).Unix(), IssuedAt: now.Unix(),
		AuthTime: a.AuthTime.Unix(), Nonce: a.Nonce, AtHash: base64.RawURLEncoding.EncodeToString(h[:16]), AZP: a.ClientID,
		SID: a.SessionState, Type: "ID", AMR: a.GetAMR()}
	if !p.cfg.NoACRClaim {
		c.ACR = a.GetACR()
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	if len(attrs) > 0 {
		m := map[string]any{}
		if err := json.Unmarshal(payload, &m); err != nil {
			return "", err
		}
		for k, v := range attrs {
			m[k] = v
		}
		if payload, err = json.Marshal(m); err != nil {
			return "", err
		}
	}
	js, err := jose.NewSigner(jose.SigningKey{Algorithm: info.Alg, Key: OpaqueSigner(signer, info.KID, info.Alg)},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	jws, err := js.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

// UserInfo answers 401 with WWW-Authenticate for a token that is not (or
// no longer) good (§2, Inf).
func (s *server) UserInfo(ctx context.Context, r *op.Request[oidc.UserInfoRequest]) (*op.Response, error) {
	resp, err := s.LegacyServer.UserInfo(ctx, r)
	if errors.Is(err, errRelease) {
		s.p.logger.ErrorContext(ctx, "oidc: userinfo", "err", err)
		return nil, op.NewStatusError(oidc.ErrServerError().WithDescription("the attributes cannot be given now"), http.StatusServiceUnavailable)
	}
	if err != nil {
		return nil, op.NewStatusError(oidc.ErrAccessDenied().WithDescription("invalid_token"), http.StatusUnauthorized)
	}
	return resp, nil
}

// verifierPattern is RFC 7636 §4.1's code_verifier.
var verifierPattern = regexp.MustCompile(`^[0-9A-Za-z._~-]{43,128}$`)

// refused writes the audit row of a refusal; a failure to write it is
// logged (the refusal stands either way).
func (p *Provider) refused(ctx context.Context, clientID, personID, action, reason string) {
	if len(clientID) > 255 {
		clientID = clientID[:255]
	}
	if err := p.audit(ctx, p.db, clientID, personID, action, "refused", reason); err != nil {
		p.logger.ErrorContext(ctx, "oidc: audit", "err", err)
	}
	p.logger.InfoContext(ctx, "oidc: refused", "client", clientID, "action", action, "reason", reason)
}
