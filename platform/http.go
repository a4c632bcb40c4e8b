package platform

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/mynaplat/mynaplat/internal/httpapi"
)

// The platform's HTTP API:
//
//	POST /platform/challenge        terminal credentials → a challenge
//	POST /platform/auth             terminal credentials, AuthRequest → AuthResponse
//	POST /platform/deferred-auth    terminal credentials, DeferredAuthRequest → AuthResponse (an offline answer, later)
//	GET  /platform/jwks.json        the assertion keys (also /.well-known/jwks.json)
//	GET  /platform/audit            Authorization: Bearer <assertion> → who checked me
//	POST /platform/v1/pin-refusals  terminal credentials, PINRefusal → 204 (a PIN the card refused, into the audit)
//
// The terminal calls are rate limited (Limits): 429 with Retry-After when a
// limit is spent.

// AuthResponse is the answer to POST /platform/auth.
type AuthResponse struct {
	Report    *Report `json:"report"`
	Assertion string  `json:"assertion,omitempty"`
}

// Routes registers the platform's handlers.
func (p *Platform) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /platform/challenge", p.serveChallenge)
	mux.HandleFunc("POST /platform/auth", p.serveAuth)
	mux.HandleFunc("POST /platform/deferred-auth", p.serveDeferredAuth)
	mux.HandleFunc("GET /platform/jwks.json", p.serveJWKS)
	mux.HandleFunc("GET /.well-known/jwks.json", p.serveJWKS)
	mux.HandleFunc("GET /platform/audit", p.serveAudit)
	mux.HandleFunc("POST /platform/v1/pin-refusals", p.servePINRefusal)
}

func (p *Platform) serveChallenge(w http.ResponseWriter, r *http.Request) {
	t, _, err := p.limitedTerminal(r)
	if err == nil {
		err = p.limits.challenge(t)
	}
	if err != nil {
		p.writeErr(w, r, err)
		return
	}
	c, err := p.NewChallenge(r.Context(), t)
	if err != nil {
		p.writeErr(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusCreated, c)
}

func (p *Platform) serveAuth(w http.ResponseWriter, r *http.Request) {
	t, body, err := p.limitedTerminal(r)
	if err != nil {
		p.writeErr(w, r, err)
		return
	}
	var req AuthRequest
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || req.ChallengeID == "" {
		p.writeErr(w, r, fmt.Errorf("%w: %v", errAuthBody, err))
		return
	}
	card := cardKey(req.Certificate)
	if err := p.limits.beforeAnswer(t, card); err != nil {
		p.writeErr(w, r, err)
		return
	}
	rep, assertion, err := p.Authenticate(r.Context(), t, req)
	if err == nil {
		err = p.limits.afterAnswer(t, card, rep)
	}
	if err != nil {
		p.writeErr(w, r, err)
		return
	}
	p.writeAuth(w, rep, assertion)
}

func (p *Platform) serveDeferredAuth(w http.ResponseWriter, r *http.Request) {
	t, body, err := p.limitedTerminal(r)
	if err != nil {
		p.writeErr(w, r, err)
		return
	}
	var req DeferredAuthRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || req.ID == "" {
		p.writeErr(w, r, fmt.Errorf("%w: %v", errDeferredBody, err))
		return
	}
	card := cardKey(req.Certificate)
	if err := p.limits.beforeAnswer(t, card); err != nil {
		p.writeErr(w, r, err)
		return
	}
	rep, assertion, err := p.AuthenticateDeferred(r.Context(), t, req)
	if err == nil {
		err = p.limits.afterAnswer(t, card, rep)
	}
	if err != nil {
		p.writeErr(w, r, err)
		return
	}
	p.writeAuth(w, rep, assertion)
}

// limitedTerminal is authenticateTerminal behind the source address's
// limit on failed terminal credentials.
func (p *Platform) limitedTerminal(r *http.Request) (*Terminal, []byte, error) {
	if err := p.limits.beforeCredentials(r); err != nil {
		return nil, nil, err
	}
	t, body, err := p.authenticateTerminal(r)
	if errors.Is(err, ErrUnknownTerminal) {
		p.limits.afterCredentials(r, err)
	}
	return t, body, err
}

// writeAuth answers an authentication: 200 PASSED, 403 FAILED, 503
// INDETERMINATE (try again).
func (p *Platform) writeAuth(w http.ResponseWriter, rep *Report, assertion string) {
	status := http.StatusOK
	switch rep.Result {
	case Failed:
		status = http.StatusForbidden
	case Indeterminate:
		status = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "30")
	}
	httpapi.WriteJSON(w, status, AuthResponse{Report: rep, Assertion: assertion})
}

func (p *Platform) serveJWKS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=60") // under KeyPublishLead
	httpapi.WriteJSON(w, http.StatusOK, p.PublicKeys())
}

func (p *Platform) serveAudit(w http.ResponseWriter, r *http.Request) {
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	c, err := VerifyAssertion(token, p.PublicKeys(), p.issuer, p.now())
	if err == nil {
		err = c.ForHolder()
	}
	if err != nil {
		p.writeErr(w, r, fmt.Errorf("%w: %w", ErrBadAssertion, err))
		return
	}
	entries, err := p.AuditFor(r.Context(), c.Subject, c.Terminal, 200)
	if err != nil {
		p.writeErr(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"platform_id": c.Subject, "entries": entries})
}

// writeErr answers an error through Rules.
func (p *Platform) writeErr(w http.ResponseWriter, r *http.Request, err error) {
	Rules.Write(w, r, p.logger, err)
}
