package oidcop

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/mynaplat/mynaplat/web"
)

// Refresh tokens (§2.2, §3 rows 1 and 5) and RP-initiated logout (§2).
// A refresh token is an opaque random string, kept as its SHA-256 in
// oidc_tokens (kind refresh). Rotation: each use gives a new one and marks
// the old used; a used one presented again revokes the whole grant, since
// one of the two presenters is not the client.

// grantRow is what a refresh or a logout needs of oidc_grants.
type grantRow struct {
	ID, ClientID, Sub, PersonID string
	Scopes                      []string
	ACR, SessionState           string
	AuthTime                    time.Time
	RevokedAt                   int64
}

const grantColumns = `id, client_id, sub, person_id, scopes, acr, session_state, auth_time, revoked_at`

func scanGrant(row interface{ Scan(...any) error }) (*grantRow, error) {
	var g grantRow
	var scopes string
	var authTime int64
	if err := row.Scan(&g.ID, &g.ClientID, &g.Sub, &g.PersonID, &scopes, &g.ACR, &g.SessionState, &authTime, &g.RevokedAt); err != nil {
		return nil, err
	}
	g.Scopes, g.AuthTime = strings.Fields(scopes), time.UnixMilli(authTime)
	return &g, nil
}

// asAuthRequest is the grant as the token makers see it (the grant's ID is
// its authorization request's). A refreshed ID token has no nonce.
func (g *grantRow) asAuthRequest() *authRequest {
	return &authRequest{ID: g.ID, ClientID: g.ClientID, Sub: g.Sub, PersonID: g.PersonID, Scopes: g.Scopes, GrantedScopes: g.Scopes,
		ACR: g.ACR, SessionState: g.SessionState, AuthTime: g.AuthTime}
}

// issueRefresh writes a new refresh token of grant in tx and makes the
// grant last as long as it.
func (p *Provider) issueRefresh(ctx context.Context, tx *sql.Tx, grantID, clientID string) (string, time.Time, error) {
	tok := randomToken(32)
	exp := p.now().Add(p.cfg.RefreshTokenTTL)
	if _, err := p.db.TxExec(ctx, tx, `INSERT INTO oidc_tokens (hash, grant_id, client_id, kind, expires_at) VALUES ($1, $2, $3, 'refresh', $4)`,
		hashToken(tok), grantID, clientID, ms(exp)); err != nil {
		return "", time.Time{}, err
	}
	if _, err := p.db.TxExec(ctx, tx, `UPDATE oidc_grants SET expires_at = $1 WHERE id = $2 AND expires_at < $1`, ms(exp), grantID); err != nil {
		return "", time.Time{}, err
	}
	return tok, exp, nil
}

// revokeGrant ends a grant in tx: its tokens stop working (every check
// joins the grant) and its attributes, personal data, go.
func (p *Provider) revokeGrant(ctx context.Context, tx *sql.Tx, grantID string) error {
	_, err := p.db.TxExec(ctx, tx, `UPDATE oidc_grants SET revoked_at = $1, attributes = '' WHERE id = $2 AND revoked_at = 0`, ms(p.now()), grantID)
	return err
}

// rotateRefresh takes a refresh token of client once and gives its
// successor, with the grant. A token used before revokes its grant. With
// NoRefreshRotation the token is only checked and given back.
func (p *Provider) rotateRefresh(ctx context.Context, token, clientID string) (*grantRow, string, time.Time, error) {
	var g *grantRow
	var next string
	var exp time.Time
	var reused bool
	now := p.now()
	// reuse revokes the grant and commits that, so the transaction ends
	// without an error and says so in reused.
	reuse := func(tx *sql.Tx, grantID string) error {
		reused = true
		if err := p.revokeGrant(ctx, tx, grantID); err != nil {
			return err
		}
		return p.audit(ctx, tx, clientID, "", "token", "refused", "refresh_reused grant revoked")
	}
	err := p.db.Tx(ctx, func(tx *sql.Tx) error {
		g, next, reused = nil, "", false
		var grantID, owner string
		var expires, used int64
		err := p.db.TxQueryRow(ctx, tx, `SELECT grant_id, client_id, expires_at, used_at FROM oidc_tokens WHERE hash = $1 AND kind = 'refresh'`,
			hashToken(token)).Scan(&grantID, &owner, &expires, &used)
		if errors.Is(err, sql.ErrNoRows) {
			return op.ErrInvalidRefreshToken
		}
		if err != nil {
			return err
		}
		if owner != clientID {
			return op.ErrInvalidRefreshToken
		}
		if used != 0 {
			return reuse(tx, grantID)
		}
		if expires <= ms(now) {
			return op.ErrInvalidRefreshToken
		}
		g, err = scanGrant(p.db.TxQueryRow(ctx, tx, `SELECT `+grantColumns+` FROM oidc_grants g WHERE id = $1
AND EXISTS (SELECT 1 FROM oidc_clients c WHERE c.id = g.client_id AND c.disabled_at = 0)`, grantID))
		if errors.Is(err, sql.ErrNoRows) || (err == nil && g.RevokedAt != 0) {
			return op.ErrInvalidRefreshToken
		}
		if err != nil {
			return err
		}
		if p.cfg.NoRefreshRotation {
			// Without rotation the same token stays good until it expires
			// and there is no reuse to detect (§3 row 5).
			next, exp = token, time.UnixMilli(expires)
			return nil
		}
		next, exp, err = p.issueRefresh(ctx, tx, grantID, clientID)
		if err != nil {
			return err
		}
		// The conditional UPDATE makes two concurrent uses one use and one
		// reuse.
		res, err := p.db.TxExec(ctx, tx, `UPDATE oidc_tokens SET used_at = $1, replaced_by = $2 WHERE hash = $3 AND used_at = 0`,
			ms(now), hashToken(next), hashToken(token))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			// A concurrent use won: this one is a reuse.
			if _, err := p.db.TxExec(ctx, tx, `DELETE FROM oidc_tokens WHERE hash = $1`, hashToken(next)); err != nil {
				return err
			}
			return reuse(tx, grantID)
		}
		return nil
	})
	switch {
	case err == nil && reused:
		return nil, "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("the refresh token was used before: the grant is revoked")
	case errors.Is(err, op.ErrInvalidRefreshToken):
		return nil, "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("unknown, expired or revoked refresh token")
	case err != nil:
		return nil, "", time.Time{}, oidc.ErrServerError().WithParent(err)
	}
	return g, next, exp, nil
}

// RefreshToken is the refresh_token grant with rotation (§2.2): a new
// access token, ID token and refresh token of the same grant. A scope
// parameter may only narrow the grant's (RFC 6749 §6).
func (s *server) RefreshToken(ctx context.Context, r *op.ClientRequest[oidc.RefreshTokenRequest]) (*op.Response, error) {
	clientID := r.Client.GetID()
	g, next, exp, err := s.p.rotateRefresh(ctx, r.Data.RefreshToken, clientID)
	if err != nil {
		s.p.refused(ctx, clientID, "", "token", "invalid_grant refresh_token")
		return nil, err
	}
	a := g.asAuthRequest()
	if len(r.Data.Scopes) > 0 {
		for _, sc := range r.Data.Scopes {
			if !slices.Contains(g.Scopes, sc) {
				s.p.refused(ctx, clientID, g.PersonID, "token", "invalid_scope refresh_token")
				return nil, oidc.ErrInvalidScope().WithDescription("a refresh may not widen the grant's scope")
			}
		}
		a.GrantedScopes = r.Data.Scopes
	}
	// §3 row 11, as for a code: the disclosure comes before anything is
	// issued, and one the platform does not take undoes the rotation.
	var attrs map[string]string
	if s.p.cfg.AttributesInIDToken {
		if attrs, err = s.p.idTokenAttributes(ctx, a, true); err != nil {
			return nil, s.p.undisclosedRefresh(ctx, g, r.Data.RefreshToken, next, err)
		}
	}
	access, _, validity, err := op.CreateAccessToken(ctx, a, op.AccessTokenTypeJWT, s.Provider(), r.Client, "")
	if err != nil {
		return nil, err
	}
	idToken, err := s.p.signIDToken(ctx, a, access, attrs)
	if err != nil {
		return nil, oidc.ErrServerError().WithParent(err)
	}
	if err := s.p.audit(ctx, s.p.db, clientID, g.PersonID, "token", "OK", "refresh_token"); err != nil {
		return nil, oidc.ErrServerError().WithParent(err)
	}
	return s.p.tokenAnswer(tokenResponse{AccessToken: access, ExpiresIn: uint64(validity.Seconds()), IDToken: idToken,
		RefreshToken: next, RefreshExpiresIn: uint64(exp.Sub(s.p.now()).Round(time.Second).Seconds()), Scope: strings.Join(a.GetScopes(), " "),
		SessionState: g.SessionState}), nil
}

// undisclosedRefresh answers a refresh whose ID-token disclosure failed
// (err): the successor token next is deleted and the presented one is good
// again (only if it is still the one next replaced: a reuse meanwhile has
// revoked the grant anyway), and the RP gets temporarily_unavailable (503)
// to present it again.
func (p *Provider) undisclosedRefresh(ctx context.Context, g *grantRow, token, next string, err error) error {
	p.logger.ErrorContext(ctx, "oidc: ID token disclosure", "client", g.ClientID, "err", err)
	desc := "disclosure_not_recorded: the platform did not record the attributes' disclosure; nothing was issued and the refresh token may be presented again"
	if token != next { // with rotation (§3 row 5)
		uerr := p.db.Tx(ctx, func(tx *sql.Tx) error {
			res, err := p.db.TxExec(ctx, tx, `UPDATE oidc_tokens SET used_at = 0, replaced_by = '' WHERE hash = $1 AND replaced_by = $2`,
				hashToken(token), hashToken(next))
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return errors.New("the refresh token was replaced otherwise")
			}
			_, err = p.db.TxExec(ctx, tx, `DELETE FROM oidc_tokens WHERE hash = $1`, hashToken(next))
			return err
		})
		if uerr != nil {
			p.logger.ErrorContext(ctx, "oidc: give the refresh token back", "client", g.ClientID, "err", uerr)
			desc = "disclosure_not_recorded: the platform did not record the attributes' disclosure; nothing was issued, and the refresh token is spent: log in again"
		}
	}
	p.refused(ctx, g.ClientID, g.PersonID, "token", "temporarily_unavailable disclosure_not_recorded refresh_token")
	return op.NewStatusError(&oidc.Error{ErrorType: "temporarily_unavailable", Description: desc, Parent: fmt.Errorf("%w: %w", ErrUndisclosed, err)},
		http.StatusServiceUnavailable)
}

// tokenAnswer is a token response with §2.2's headers.
func (p *Provider) tokenAnswer(t tokenResponse) *op.Response {
	t.TokenType = oidc.BearerToken
	var body any = t
	if p.cfg.NoKeycloakExtras {
		// The standard fields only (RFC 6749 §5.1, OpenID Connect Core §3.1.3.3).
		body = struct {
			AccessToken  string `json:"access_token"`
			TokenType    string `json:"token_type"`
			ExpiresIn    uint64 `json:"expires_in"`
			RefreshToken string `json:"refresh_token,omitempty"`
			IDToken      string `json:"id_token,omitempty"`
			Scope        string `json:"scope"`
		}{t.AccessToken, t.TokenType, t.ExpiresIn, t.RefreshToken, t.IDToken, t.Scope}
	}
	resp := op.NewResponse(body)
	resp.Header = http.Header{"Cache-Control": {"no-store"}, "Pragma": {"no-cache"}}
	return resp
}

// The logout page's refusals: the person's browser is at the provider, so
// they are pages, never JSON.
var (
	problemLogoutRequest = web.Problem{Status: http.StatusBadRequest, TitleJA: "ログアウトの依頼を受け付けられません", TitleEN: "This logout request cannot be accepted",
		WhatJA: "依頼したサービスが分からないか、戻り先のURIが登録と違います。",
		WhatEN: "The service that sent you cannot be told, or its return address is not the registered one.",
		DoJA:   "依頼したサービスにお問い合わせください。", DoEN: "Contact the service that sent you here."}
	problemLoggedOut = web.Problem{Status: http.StatusOK, TitleJA: "ログアウトしました", TitleEN: "You are logged out",
		WhatJA: "サービスとのログインを終了しました。", WhatEN: "The login with the service has ended.",
		DoJA: "このページを閉じてください。", DoEN: "You may close this page."}
)

// logout is RP-initiated logout (§2, OpenID Connect RP-Initiated Logout
// 1.0): the client is the id_token_hint's audience or client_id (both
// must agree), post_logout_redirect_uri must be registered exactly, and
// the hint's grant (its sid) ends with all its tokens. There is no single
// sign-on session to end: every login is a card login.
func (p *Provider) logout(w http.ResponseWriter, r *http.Request) {
	site := p.cfg.Site
	fail := func(reason string) {
		p.refused(r.Context(), r.Form.Get("client_id"), "", "logout", reason)
		if site == nil {
			http.Error(w, "invalid_request: "+reason, http.StatusBadRequest)
			return
		}
		site.Error(w, r, problemLogoutRequest)
	}
	if err := r.ParseForm(); err != nil {
		fail("malformed")
		return
	}
	clientID, sid := r.Form.Get("client_id"), ""
	if hint := r.Form.Get("id_token_hint"); hint != "" {
		aud, s, err := p.idTokenHint(r.Context(), hint)
		if err != nil {
			fail("id_token_hint " + err.Error())
			return
		}
		if clientID != "" && clientID != aud {
			fail("client_id is not the id_token_hint's aud")
			return
		}
		clientID, sid = aud, s
	}
	if clientID == "" {
		fail("id_token_hint or client_id is required")
		return
	}
	c, err := p.Client(r.Context(), clientID)
	if err != nil || !c.Enabled() {
		fail("unknown_client")
		return
	}
	back := r.Form.Get("post_logout_redirect_uri")
	if back != "" && !slices.Contains(c.PostLogoutURIs, back) {
		fail("post_logout_redirect_uri is not registered")
		return
	}
	var personID string
	if sid != "" {
		err = p.db.Tx(r.Context(), func(tx *sql.Tx) error {
			if err := p.db.TxQueryRow(r.Context(), tx, `SELECT person_id FROM oidc_grants WHERE client_id = $1 AND session_state = $2`,
				clientID, sid).Scan(&personID); err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if _, err := p.db.TxExec(r.Context(), tx, `UPDATE oidc_grants SET revoked_at = $1, attributes = '' WHERE client_id = $2 AND session_state = $3 AND revoked_at = 0`,
				ms(p.now()), clientID, sid); err != nil {
				return err
			}
			return p.audit(r.Context(), tx, clientID, personID, "logout", "OK", "grant ended")
		})
		if err != nil {
			p.logger.ErrorContext(r.Context(), "oidc: logout", "err", err)
			if site != nil {
				site.Error(w, r, web.Problem{Status: http.StatusInternalServerError})
			} else {
				http.Error(w, "server_error", http.StatusInternalServerError)
			}
			return
		}
	}
	if back == "" {
		if site == nil {
			w.WriteHeader(http.StatusOK)
			return
		}
		site.Error(w, r, problemLoggedOut)
		return
	}
	u, err := url.Parse(back)
	if err != nil {
		fail("post_logout_redirect_uri")
		return
	}
	if st := r.Form.Get("state"); st != "" {
		q := u.Query()
		q.Set("state", st)
		u.RawQuery = q.Encode()
	}
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// idTokenHint checks an ID token this provider signed (expired ones too:
// logging out late is fine) and returns its audience and sid.
func (p *Provider) idTokenHint(ctx context.Context, hint string) (aud, sid string, err error) {
	jws, err := jose.ParseSignedCompact(hint, []jose.SignatureAlgorithm{jose.ES256, jose.RS256})
	if err != nil || len(jws.Signatures) != 1 {
		return "", "", errors.New("not a JWS")
	}
	keys, err := p.keys.all(ctx)
	if err != nil {
		return "", "", err
	}
	kid := jws.Signatures[0].Header.KeyID
	for _, k := range keys {
		if k.KID != kid {
			continue
		}
		payload, err := jws.Verify(k.Public)
		if err != nil {
			return "", "", errors.New("bad signature")
		}
		var c idClaims
		if err := json.Unmarshal(payload, &c); err != nil || c.Issuer != p.Issuer() || c.Audience == "" {
			return "", "", errors.New("not this issuer's ID token")
		}
		return c.Audience, c.SID, nil
	}
	return "", "", fmt.Errorf("unknown kid %q", kid)
}
