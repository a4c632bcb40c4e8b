package cardco

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/mynaplat/mynaplat/internal/callerkey"
	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/internal/trace"
	"github.com/mynaplat/mynaplat/store"
)

// The card company's HTTP API (JSON; merchants authenticate with
// Authorization: Bearer <merchant key>):
//
//	POST /cardco/v1/tokens                  admin key; Enrolment → Enrolled
//	POST /cardco/v1/payments                Idempotency-Key; PaymentRequest → Payment (201)
//	POST /cardco/v1/payments/{id}/refunds   Idempotency-Key; RefundRequest → Refund (201)
//	GET  /cardco/v1/payments/{id}           → Payment (the merchant's own payments only)
//
// A replayed answer has the header Idempotent-Replayed: true and status 200
// where the first answer was 201. Errors are {error, reason?, message_ja,
// message_en}. The API is for servers with bearer keys, not for browsers
// with cookies, so it needs no cross-origin protection.

// maxBody bounds a request body.
const maxBody = 64 << 10

// Routes registers the company's handlers.
func (c *Company) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /cardco/v1/tokens", c.serveEnrol)
	mux.HandleFunc("POST /cardco/v1/payments", c.servePay)
	mux.HandleFunc("POST /cardco/v1/payments/{id}/refunds", c.serveRefund)
	mux.HandleFunc("GET /cardco/v1/payments/{id}", c.serveGetPayment)
}

func bearer(r *http.Request) string {
	k, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return strings.TrimSpace(k)
}

// idempotencyKey reads the Idempotency-Key header. The IETF draft makes it a
// structured-field string ("…"); plain tokens, as most APIs take them, are
// accepted too.
func idempotencyKey(r *http.Request) (string, error) {
	k := r.Header.Get("Idempotency-Key")
	if len(k) >= 2 && k[0] == '"' && k[len(k)-1] == '"' {
		k = k[1 : len(k)-1]
	}
	if !validIdempotencyKey(k) {
		return "", ErrBadIdempotencyKey
	}
	return k, nil
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return nil, invalid("要求の本文を読み取れません（64KiB まで）。", "unreadable body: "+err.Error())
	}
	return b, nil
}

func (c *Company) serveEnrol(w http.ResponseWriter, r *http.Request) {
	if !c.admin && c.callers.Empty() {
		c.writeErr(w, r, ErrForbidden)
		return
	}
	caller, err := c.callers.Caller(r)
	if h := sha256.Sum256([]byte(bearer(r))); c.admin && subtle.ConstantTimeCompare(h[:], c.adminKey[:]) == 1 {
		caller, err = "admin", nil
	}
	if err != nil {
		c.writeErr(w, r, ErrUnauthorized)
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	var e Enrolment
	if err := decodeStrict(body, &e); err != nil {
		c.writeErr(w, r, err)
		return
	}
	out, err := c.Enrol(r.Context(), e)
	last4 := ""
	if len(e.PAN) >= 4 {
		last4 = e.PAN[len(e.PAN)-4:]
	}
	if err = callerkey.Audited(err, func(result string) error {
		_, err := c.db.Write(r.Context(), qInsertCall, c.now().UnixMilli(), caller, "enrol", last4, result, trace.ID(r.Context()))
		return err
	}); err != nil {
		c.writeErr(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusCreated, out)
}

// moneyRequest authenticates the merchant, reads the Idempotency-Key and
// the body: what every money-moving handler does first.
func (c *Company) moneyRequest(w http.ResponseWriter, r *http.Request) (merchant, string, []byte, error) {
	m, err := c.merchantByKey(r.Context(), bearer(r))
	if err != nil {
		return merchant{}, "", nil, err
	}
	key, err := idempotencyKey(r)
	if err != nil {
		return merchant{}, "", nil, err
	}
	body, err := readBody(w, r)
	if err != nil {
		return merchant{}, "", nil, err
	}
	return m, key, body, nil
}

func (c *Company) servePay(w http.ResponseWriter, r *http.Request) {
	m, key, body, err := c.moneyRequest(w, r)
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	req, err := decodePaymentRequest(body)
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	rep, err := c.pay(r.Context(), m, key, req)
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	writeReply(w, rep)
}

func (c *Company) serveRefund(w http.ResponseWriter, r *http.Request) {
	m, key, body, err := c.moneyRequest(w, r)
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	var req RefundRequest
	if err := decodeStrict(body, &req); err != nil {
		c.writeErr(w, r, err)
		return
	}
	if err := req.validate(); err != nil {
		c.writeErr(w, r, err)
		return
	}
	rep, err := c.refund(r.Context(), m, r.PathValue("id"), key, req)
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	writeReply(w, rep)
}

func (c *Company) serveGetPayment(w http.ResponseWriter, r *http.Request) {
	m, err := c.merchantByKey(r.Context(), bearer(r))
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	p, err := c.payment(r.Context(), m, r.PathValue("id"))
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, p)
}

// writeReply writes a stored (or just stored) answer: a decline or a
// refused refund is a problem, stored as it was first answered.
func writeReply(w http.ResponseWriter, rep reply) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	if rep.status >= 400 {
		h.Set("Content-Type", httpapi.ContentType)
	}
	h.Set("Cache-Control", "no-store")
	status := rep.status
	if rep.replayed {
		h.Set("Idempotent-Replayed", "true")
		if status == http.StatusCreated {
			status = http.StatusOK // nothing was created this time
		}
	}
	w.WriteHeader(status)
	w.Write(rep.body)
	w.Write([]byte("\n"))
}

// writeErr answers an error through Rules; this is the only place where
// the company's errors meet status codes.
func (c *Company) writeErr(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, store.ErrConflict) {
		// Nothing was kept (the transaction was rolled back), so the same
		// request with the same key is safe to send again.
		err = fmt.Errorf("%w: %w", errBusy, err)
	}
	if r.Context().Err() != nil {
		Rules.Write(w, r, nil, err) // the caller is gone: nothing to report
		return
	}
	Rules.Write(w, r, c.logger, err)
}
