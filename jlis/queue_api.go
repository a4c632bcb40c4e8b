package jlis

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/mynaplat/mynaplat/internal/callerkey"
	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/internal/trace"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/municipal"
)

// The 本籍地 queue's API for the municipal back offices (the municipal
// role), each caller with its own key (Authorization: Bearer <key>); every
// call is audited in kiosk_calls under the caller's name:
//
//	GET  /jlis/v1/queue/{code}        → []QueuedRegistration: the registrations pending at 本籍地 code, oldest first
//	POST /jlis/v1/queue/{code}/{id}   QueueDecision → 204: the clerk's decision
//
// QueueClient is the typed client; municipal.Pages takes it or Queue() as
// the same municipal.RegistrationQueue.

// Problem codes of the queue API.
const (
	CodeNotPending   httpapi.Code = "registration_not_pending"
	CodeQueueInvalid httpapi.Code = "invalid"
)

var queueRules = append(httpapi.Rules{
	{Err: municipal.ErrNotFound, Status: http.StatusNotFound, Code: CodeNotPending,
		JA: "この利用登録はこの市区町村で審査待ちではありません。", EN: "This usage registration is not pending here."},
	{Err: municipal.ErrInvalid, Status: http.StatusBadRequest, Code: CodeQueueInvalid,
		JA: "要求の内容に誤りがあります。", EN: "Invalid request."},
	{Err: httpapi.ErrBody, Status: http.StatusBadRequest, Code: CodeQueueInvalid,
		JA: "要求の本文が正しい JSON ではありません。", EN: "The body is not the expected JSON."},
}, callerkey.Rules...)

// QueuedRegistration is a municipal.PendingRegistration on the wire.
type QueuedRegistration struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	BirthDate time.Time `json:"birth_date"`
	Sex       jpki.Sex  `json:"sex"`
	FiledAt   time.Time `json:"filed_at"`
}

// QueueDecision is the body of a decision.
type QueueDecision struct {
	Clerk   string `json:"clerk"`
	Approve bool   `json:"approve"`
}

const (
	qInsertCall = `INSERT INTO kiosk_calls (at, caller, action, municipality, registration, result, trace_id) VALUES ($1, $2, $3, $4, $5, $6, $7)`
	// The audit actions in kiosk_calls.
	callPending = "pending"
	callDecide  = "decide"
)

// QueueRoutes registers the queue API for the callers in keys.
func (s *Service) QueueRoutes(mux *http.ServeMux, keys callerkey.Keys) {
	mux.HandleFunc("GET /jlis/v1/queue/{code}", keys.Only(s.servePending))
	mux.HandleFunc("POST /jlis/v1/queue/{code}/{id}", keys.Only(s.serveDecide))
}

func (s *Service) auditCall(ctx context.Context, caller, action, code, id string, err error) error {
	return callerkey.Audited(err, func(result string) error {
		_, err := s.db.Write(ctx, qInsertCall, s.now().UnixMilli(), caller, action, code, id, result, trace.ID(ctx))
		return err
	})
}

func (s *Service) servePending(w http.ResponseWriter, r *http.Request, caller string) {
	code := r.PathValue("code")
	ps, err := s.Queue().Pending(r.Context(), code)
	if err = s.auditCall(r.Context(), caller, callPending, code, "", err); err != nil {
		queueRules.Write(w, r, s.logger, err)
		return
	}
	out := make([]QueuedRegistration, 0, len(ps))
	for _, p := range ps {
		out = append(out, QueuedRegistration(p))
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
}

func (s *Service) serveDecide(w http.ResponseWriter, r *http.Request, caller string) {
	code, id := r.PathValue("code"), r.PathValue("id")
	var d QueueDecision
	err := httpapi.Decode(r.Body, &d, MaxBody)
	if err == nil {
		err = s.Queue().Decide(r.Context(), code, id, d.Clerk, d.Approve)
	}
	if err = s.auditCall(r.Context(), caller, callDecide, code, id, err); err != nil {
		queueRules.Write(w, r, s.logger, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// QueueClient is a municipal back office's typed client of the queue API.
type QueueClient struct {
	API httpapi.Client
}

var _ municipal.RegistrationQueue = (*QueueClient)(nil)

// NewQueueClient is a client of the relay at baseURL under the caller's key.
func NewQueueClient(baseURL, key string, hc *http.Client) *QueueClient {
	return &QueueClient{API: httpapi.Client{Service: "jlis", BaseURL: baseURL, HTTP: hc, Auth: httpapi.Bearer(key)}}
}

// Pending lists the registrations pending at 本籍地 code.
func (c *QueueClient) Pending(ctx context.Context, code string) ([]municipal.PendingRegistration, error) {
	var in []QueuedRegistration
	if _, err := c.API.DoJSON(ctx, httpapi.Request{Method: http.MethodGet, Path: "/jlis/v1/queue/" + url.PathEscape(code)}, &in); err != nil {
		return nil, queueSentinel(err)
	}
	out := make([]municipal.PendingRegistration, 0, len(in))
	for _, q := range in {
		out = append(out, municipal.PendingRegistration(q))
	}
	return out, nil
}

// Decide records the clerk's decision (a decision sent again finds the
// registration decided: municipal.ErrNotFound, as in one process).
func (c *QueueClient) Decide(ctx context.Context, code, id, clerk string, approve bool) error {
	_, err := c.API.Do(ctx, httpapi.Request{Method: http.MethodPost, Path: "/jlis/v1/queue/" + url.PathEscape(code) + "/" + url.PathEscape(id),
		JSON: QueueDecision{Clerk: clerk, Approve: approve}})
	return queueSentinel(err)
}

func queueSentinel(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, CodeNotPending):
		return fmt.Errorf("%w: %w", municipal.ErrNotFound, err)
	case errors.Is(err, CodeQueueInvalid):
		return fmt.Errorf("%w: %w", municipal.ErrInvalid, err)
	}
	return err
}
