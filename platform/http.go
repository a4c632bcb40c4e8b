package platform

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/mynaplat/mynaplat/internal/apijson"
)

// The platform's HTTP API:
//
//	POST /platform/challenge        terminal credentials → a challenge
//	POST /platform/auth             terminal credentials, AuthRequest → AuthResponse
//	POST /platform/deferred-auth    terminal credentials, DeferredAuthRequest → AuthResponse (an offline answer, later)
//	GET  /platform/jwks.json        the assertion keys (also /.well-known/jwks.json)
//	GET  /platform/audit            Authorization: Bearer <assertion> → who checked me

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
}

func (p *Platform) serveChallenge(w http.ResponseWriter, r *http.Request) {
	t, _, err := p.authenticateTerminal(r)
	if err != nil {
		p.writeErr(w, err)
		return
	}
	c, err := p.NewChallenge(r.Context(), t)
	if err != nil {
		p.writeErr(w, err)
		return
	}
	apijson.Write(w, http.StatusCreated, c)
}

func (p *Platform) serveAuth(w http.ResponseWriter, r *http.Request) {
	t, body, err := p.authenticateTerminal(r)
	if err != nil {
		p.writeErr(w, err)
		return
	}
	var req AuthRequest
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || req.ChallengeID == "" {
		apijson.WriteProblem(w, http.StatusBadRequest, "invalid", "要求の形式が正しくありません（challenge_id, certificate, signature が必要です）。",
			"Malformed request: challenge_id, certificate and signature are required.")
		return
	}
	rep, assertion, err := p.Authenticate(r.Context(), t, req)
	if err != nil {
		p.writeErr(w, err)
		return
	}
	p.writeAuth(w, rep, assertion)
}

func (p *Platform) serveDeferredAuth(w http.ResponseWriter, r *http.Request) {
	t, body, err := p.authenticateTerminal(r)
	if err != nil {
		p.writeErr(w, err)
		return
	}
	var req DeferredAuthRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || req.ID == "" {
		apijson.WriteProblem(w, http.StatusBadRequest, "invalid", "要求の形式が正しくありません（id, signed_at, nonce, certificate, signature が必要です）。",
			"Malformed request: id, signed_at, nonce, certificate and signature are required.")
		return
	}
	rep, assertion, err := p.AuthenticateDeferred(r.Context(), t, req)
	if err != nil {
		p.writeErr(w, err)
		return
	}
	p.writeAuth(w, rep, assertion)
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
	apijson.Write(w, status, AuthResponse{Report: rep, Assertion: assertion})
}

func (p *Platform) serveJWKS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=60") // under KeyPublishLead
	apijson.Write(w, http.StatusOK, p.PublicKeys())
}

func (p *Platform) serveAudit(w http.ResponseWriter, r *http.Request) {
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	c, err := VerifyAssertion(token, p.PublicKeys(), p.issuer, p.now())
	if err != nil {
		apijson.WriteProblem(w, http.StatusUnauthorized, "unauthorized", "カードでログインしてください。", "Log in with your card first.")
		return
	}
	entries, err := p.AuditFor(r.Context(), c.Subject, c.Terminal, 200)
	if err != nil {
		p.writeErr(w, err)
		return
	}
	apijson.Write(w, http.StatusOK, map[string]any{"platform_id": c.Subject, "entries": entries})
}

// Problem is the JSON body of an error answer.
type Problem = apijson.Problem

func (p *Platform) writeErr(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrTerminalDisabled):
		apijson.WriteProblem(w, http.StatusForbidden, "terminal_disabled", "この端末は利用停止中です。設置者にお問い合わせください。",
			"This terminal is disabled; contact its operator.")
	case errors.Is(err, ErrUnknownTerminal):
		apijson.WriteProblem(w, http.StatusUnauthorized, "unknown_terminal", "登録されていない端末、または端末の認証情報が正しくありません。",
			"Unknown terminal or bad terminal credentials.")
	case errors.Is(err, ErrInvalid):
		apijson.WriteProblem(w, http.StatusBadRequest, "invalid", "要求の内容に誤りがあります。", "Invalid request: "+err.Error())
	default:
		p.logger.Error("platform", "err", err)
		apijson.WriteProblem(w, http.StatusInternalServerError, "internal", "内部エラーが発生しました。しばらくしてから再度お試しください。",
			"Internal error; try again shortly.")
	}
}
