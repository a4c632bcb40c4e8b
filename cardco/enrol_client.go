package cardco

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/mynaplat/mynaplat/internal/httpapi"
)

// EnrolClient is a role's typed client of the company's enrolment
// endpoint (POST /cardco/v1/tokens) under its caller key: the payment
// pages' Enrol, whether the company runs in the same process or not. Its
// errors are the package's sentinels (ErrInvalid, ErrCardMismatch,
// ErrUnauthorized, ErrForbidden, ErrUnavailable), as from Company.Enrol.
type EnrolClient struct {
	API httpapi.Client
}

// NewEnrolClient is a client of the company at baseURL under key.
func NewEnrolClient(baseURL, key string, hc *http.Client) *EnrolClient {
	return &EnrolClient{API: httpapi.Client{Service: "cardco", BaseURL: baseURL, HTTP: hc, Auth: httpapi.Bearer(key)}}
}

// Enrol issues a token for a card. It is not sent twice: each enrolment
// makes a new token.
func (c *EnrolClient) Enrol(ctx context.Context, e Enrolment) (*Enrolled, error) {
	var out Enrolled
	if _, err := c.API.DoJSON(ctx, httpapi.Request{Method: http.MethodPost, Path: "/cardco/v1/tokens", JSON: e}, &out); err != nil {
		return nil, enrolSentinel(err)
	}
	return &out, nil
}

func enrolSentinel(err error) error {
	e, ok := errors.AsType[*httpapi.Error](err)
	if !ok {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	// The company's answers name their code "error" (its own format) or
	// "code" (problem+json).
	code := string(e.Code)
	var legacy string
	if e.Field("error", &legacy) {
		code = legacy
	}
	switch {
	case code == "card_mismatch":
		return fmt.Errorf("%w: %w", ErrCardMismatch, err)
	case e.Status == http.StatusBadRequest:
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	case e.Status == http.StatusUnauthorized:
		return fmt.Errorf("%w: %w", ErrUnauthorized, err)
	case e.Status == http.StatusForbidden:
		return fmt.Errorf("%w: %w", ErrForbidden, err)
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}
