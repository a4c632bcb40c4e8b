package cardco

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/mynaplat/mynaplat/internal/httpapi"
)

// Client is a merchant's typed client of the card company's API.
type Client struct {
	BaseURL     string
	MerchantKey string
	// HTTP sends the calls (httpapi.NewHTTPClient); nil is httpapi's
	// default, with its timeout. A request that times out is safe to send
	// again with the same Idempotency-Key.
	HTTP *http.Client
	// Retries is how many more times a request under an Idempotency-Key is
	// sent, with the same key, while the company does not answer or asks for
	// it (a 503 busy, a 500 after which nothing was kept): httpapi's retries
	// (default 2, -1 never). Declines and other answers are final.
	Retries int
}

// NewIdempotencyKey returns a fresh random key for a new request. Keep it
// with the request and send it again on every retry of that request.
func NewIdempotencyKey() string { return rand.Text() }

// do sends one request and decodes a 2xx answer into out. It reports whether
// the answer was a replayed one. An answer under an Idempotency-Key is sent
// again after a lost answer: it is done at most once. Errors are
// *httpapi.Error, matching Rules' sentinels, and a decline its reason's
// (ErrInsufficientFunds, ErrInvalidToken) too.
func (c *Client) do(ctx context.Context, method, path, key string, in, out any) (replayed bool, err error) {
	api := &httpapi.Client{Service: "cardco", BaseURL: c.BaseURL, HTTP: c.HTTP, Auth: httpapi.Bearer(c.MerchantKey), Rules: Rules, MaxBody: 1 << 20,
		Retries: c.Retries}
	rq := httpapi.Request{Method: method, Path: path, JSON: in, Idempotent: key != ""}
	if key != "" {
		rq.Header = http.Header{"Idempotency-Key": {key}}
	}
	resp, err := api.DoJSON(ctx, rq, out)
	if e, ok := errors.AsType[*httpapi.Error](err); ok && e.Code == CodeDeclined {
		var reason string
		e.Field("reason", &reason)
		switch reason {
		case reasonInsufficientFunds:
			e.Err = fmt.Errorf("%w: %w", ErrDeclined, ErrInsufficientFunds)
		case reasonInvalidToken:
			e.Err = fmt.Errorf("%w: %w", ErrDeclined, ErrInvalidToken)
		}
	}
	if err != nil {
		return false, err
	}
	return resp.Header.Get("Idempotent-Replayed") == "true", nil
}

// Pay charges the card behind req.Token. key is the request's
// Idempotency-Key: Pay itself sends the request again with it (Retries)
// while the company does not answer, and after an ErrUnavailable answer
// the caller may too; it is charged at most once.
func (c *Client) Pay(ctx context.Context, key string, req PaymentRequest) (*Payment, error) {
	var p Payment
	replayed, err := c.do(ctx, http.MethodPost, "/cardco/v1/payments", key, req, &p)
	if err != nil {
		return nil, err
	}
	p.Replayed = replayed
	return &p, nil
}

// Refund refunds amount yen of a payment (all of what is left, or part of
// it) under the Idempotency-Key key.
func (c *Client) Refund(ctx context.Context, paymentID, key string, amount int64) (*Refund, error) {
	var r Refund
	replayed, err := c.do(ctx, http.MethodPost, "/cardco/v1/payments/"+url.PathEscape(paymentID)+"/refunds", key, RefundRequest{Amount: amount}, &r)
	if err != nil {
		return nil, err
	}
	r.Replayed = replayed
	return &r, nil
}

// Payment returns one of the merchant's payments as it stands now.
func (c *Client) Payment(ctx context.Context, id string) (*Payment, error) {
	var p Payment
	if _, err := c.do(ctx, http.MethodGet, "/cardco/v1/payments/"+url.PathEscape(id), "", nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}
