package jlis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/mynaplat/mynaplat/internal/httpapi"
)

// Client is a kiosk's side of the relay API.
type Client struct {
	BaseURL string
	Key     string
	// HTTP sends the calls (httpapi.NewHTTPClient); nil is httpapi's
	// default, with its timeout.
	HTTP *http.Client
}

// APIError is an error answer of the relay, with its messages; it matches
// the relay's codes (CodeJobGone …) and sentinels with errors.Is.
type APIError = httpapi.Error

// ErrAlreadyPrinted is the relay's answer to a retried print.
var ErrAlreadyPrinted = errors.New("jlis: already printed")

func (c *Client) api() *httpapi.Client {
	return &httpapi.Client{Service: "jlis", BaseURL: c.BaseURL, HTTP: c.HTTP, Auth: httpapi.Bearer(c.Key), Rules: Rules, MaxBody: maxPDF}
}

// post sends in; idempotent calls (reads, and an order under its request
// key) are sent again after a lost answer.
func (c *Client) post(ctx context.Context, path string, in, out any, idempotent bool) (*httpapi.Response, error) {
	return c.api().DoJSON(ctx, httpapi.Request{Method: http.MethodPost, Path: path, JSON: in, Idempotent: idempotent}, out)
}

// Menu asks what the holder of assertion can have.
func (c *Client) Menu(ctx context.Context, assertion string) (*Menu, error) {
	var m Menu
	_, err := c.post(ctx, "/jlis/v1/menu", assertionBody{Assertion: assertion}, &m, true)
	return &m, err
}

// Order orders a certificate and waits for it to be rendered. The order's
// request key makes it safe to send again.
func (c *Client) Order(ctx context.Context, assertion string, o Order) (*Job, error) {
	var j Job
	_, err := c.post(ctx, "/jlis/v1/jobs", OrderBody{Assertion: assertion, Order: o}, &j, true)
	return &j, err
}

// Print takes the rendered PDF of a job. A retried print is
// ErrAlreadyPrinted.
func (c *Client) Print(ctx context.Context, assertion, jobID string) (*Job, error) {
	resp, err := c.post(ctx, "/jlis/v1/jobs/"+jobID+"/print", assertionBody{Assertion: assertion}, nil, false)
	if err != nil {
		return nil, err
	}
	var j Job
	if err := json.Unmarshal([]byte(resp.Header.Get(JobHeader)), &j); err != nil {
		return nil, fmt.Errorf("jlis: printed job facts: %w", err)
	}
	j.PDF = resp.Body
	return &j, nil
}

// Cancel cancels a job that was not printed.
func (c *Client) Cancel(ctx context.Context, jobID, reason string) error {
	_, err := c.post(ctx, "/jlis/v1/jobs/"+jobID+"/cancel", map[string]string{"reason": reason}, nil, false)
	return err
}

// RegistrationDocument fetches the registration the holder is to sign.
func (c *Client) RegistrationDocument(ctx context.Context, assertion, honseki string) (*RegistrationDocument, error) {
	var d RegistrationDocument
	_, err := c.post(ctx, "/jlis/v1/registrations/document", regDocBody{Assertion: assertion, Honseki: honseki}, &d, true)
	return &d, err
}

// Register files a signed registration.
func (c *Client) Register(ctx context.Context, assertion, honseki string, shownAt time.Time, certDER, sig []byte) (*Registration, error) {
	var r Registration
	_, err := c.post(ctx, "/jlis/v1/registrations", RegisterBody{Assertion: assertion, Honseki: honseki, ShownAt: shownAt,
		Certificate: certDER, Signature: sig}, &r, false)
	return &r, err
}
