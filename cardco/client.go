package cardco

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client is a merchant's typed client of the card company's API.
type Client struct {
	BaseURL     string
	MerchantKey string
	// HTTP is the client to use; nil means http.DefaultClient. Give it a
	// timeout: a request that times out is safe to send again with the same
	// Idempotency-Key.
	HTTP *http.Client
}

// Error is an error answer from the company. errors.Is matches it against
// the package's sentinels (ErrDeclined and its reason, ErrNotFound, …).
type Error struct {
	Status    int
	Code      string
	Reason    string
	MessageJA string
	MessageEN string
}

func (e *Error) Error() string {
	s := fmt.Sprintf("cardco: %d %s", e.Status, e.Code)
	if e.Reason != "" {
		s += " (" + e.Reason + ")"
	}
	return s + ": " + e.MessageEN
}

// Unwrap gives the sentinels the answer stands for.
func (e *Error) Unwrap() []error {
	switch {
	case e.Status == http.StatusPaymentRequired:
		switch e.Reason {
		case reasonInsufficientFunds:
			return []error{ErrDeclined, ErrInsufficientFunds}
		case reasonInvalidToken:
			return []error{ErrDeclined, ErrInvalidToken}
		}
		return []error{ErrDeclined}
	case e.Code == "invalid_idempotency_key":
		return []error{ErrBadIdempotencyKey}
	case e.Status == http.StatusBadRequest:
		return []error{ErrInvalid}
	case e.Status == http.StatusUnauthorized:
		return []error{ErrUnauthorized}
	case e.Status == http.StatusForbidden:
		return []error{ErrForbidden}
	case e.Status == http.StatusNotFound:
		return []error{ErrNotFound}
	case e.Code == "refund_exceeds_captured":
		return []error{ErrRefundExceedsCaptured}
	case e.Code == "idempotency_key_reused":
		return []error{ErrIdempotencyMismatch}
	case e.Code == "card_mismatch":
		return []error{ErrCardMismatch}
	case e.Status >= 500:
		return []error{ErrUnavailable}
	}
	return nil
}

// NewIdempotencyKey returns a fresh random key for a new request. Keep it
// with the request and send it again on every retry of that request.
func NewIdempotencyKey() string { return rand.Text() }

// do sends one request and decodes a 2xx answer into out. It reports whether
// the answer was a replayed one.
func (c *Client) do(ctx context.Context, method, path, key string, in, out any) (replayed bool, err error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return false, fmt.Errorf("cardco: encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.BaseURL, "/")+path, body)
	if err != nil {
		return false, fmt.Errorf("cardco: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.MerchantKey)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return false, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return false, fmt.Errorf("%w: read answer: %w", ErrUnavailable, err)
	}
	if resp.StatusCode/100 != 2 {
		var eb errorBody
		if json.Unmarshal(b, &eb) != nil || eb.Code == "" {
			eb = errorBody{Code: "http_error", MessageEN: resp.Status}
		}
		return false, &Error{Status: resp.StatusCode, Code: eb.Code, Reason: eb.Reason, MessageJA: eb.MessageJA, MessageEN: eb.MessageEN}
	}
	if err := json.Unmarshal(b, out); err != nil {
		return false, fmt.Errorf("%w: malformed answer: %w", ErrUnavailable, err)
	}
	return resp.Header.Get("Idempotent-Replayed") == "true", nil
}

// Pay charges the card behind req.Token. key is the request's
// Idempotency-Key: after a network error or an ErrUnavailable answer the
// same request with the same key may be sent again and is charged at most
// once.
func (c *Client) Pay(ctx context.Context, key string, req PaymentRequest) (*Payment, error) {
	var p Payment
	replayed, err := c.do(ctx, http.MethodPost, "/cardco/v1/payments", key, req, &p)
	if err != nil {
		return nil, err
	}
	p.Replayed = replayed
	return &p, nil
}

// PayWithRetry is Pay, sent again with the same key — so charged at most
// once — while the company is unreachable or answers 5xx, up to attempts
// times in all, with growing pauses. Declines and other answers are final
// and returned at once.
func (c *Client) PayWithRetry(ctx context.Context, key string, req PaymentRequest, attempts int) (*Payment, error) {
	var err error
	for i := range max(attempts, 1) {
		if i > 0 {
			d := min(100*time.Millisecond<<(i-1), 2*time.Second)
			d += mrand.N(d / 4) // jitter, so clients that failed together do not retry together
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, fmt.Errorf("%w (last error: %w)", ctx.Err(), err)
			case <-t.C:
			}
		}
		var p *Payment
		if p, err = c.Pay(ctx, key, req); err == nil || !errors.Is(err, ErrUnavailable) || ctx.Err() != nil {
			return p, err
		}
	}
	return nil, err
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
