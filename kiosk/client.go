package kiosk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/internal/apijson"
)

// Client is a kiosk's side of the relay API.
type Client struct {
	BaseURL string
	Key     string
	HTTP    *http.Client
}

// APIError is an error answer of the relay, with its messages.
type APIError struct {
	Status int
	apijson.Problem
}

func (e *APIError) Error() string {
	return fmt.Sprintf("kiosk relay: %d %s: %s", e.Status, e.Code, e.MessageEN)
}

// ErrAlreadyPrinted is the relay's answer to a retried print.
var ErrAlreadyPrinted = errors.New("kiosk: already printed")

func (c *Client) post(ctx context.Context, path string, in any) (*http.Response, error) {
	b, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.BaseURL, "/")+path, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.Key)
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		e := &APIError{Status: resp.StatusCode}
		if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&e.Problem); err != nil || e.Code == "" {
			e.Code, e.MessageJA, e.MessageEN = "http_"+fmt.Sprint(resp.StatusCode), "中継サーバが応答しません。", "The relay did not answer."
		}
		if e.Code == "already_printed" {
			return nil, fmt.Errorf("%w: %w", ErrAlreadyPrinted, e)
		}
		return nil, e
	}
	return resp, nil
}

func (c *Client) postJSON(ctx context.Context, path string, in, out any) error {
	resp, err := c.post(ctx, path, in)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(out)
}

// Menu asks what the holder of assertion can have.
func (c *Client) Menu(ctx context.Context, assertion string) (*Menu, error) {
	var m Menu
	return &m, c.postJSON(ctx, "/jlis/v1/menu", assertionBody{Assertion: assertion}, &m)
}

// Order orders a certificate and waits for it to be rendered.
func (c *Client) Order(ctx context.Context, assertion string, o Order) (*Job, error) {
	var j Job
	return &j, c.postJSON(ctx, "/jlis/v1/jobs", OrderBody{Assertion: assertion, Order: o}, &j)
}

// Print takes the rendered PDF of a job. A retried print is
// ErrAlreadyPrinted.
func (c *Client) Print(ctx context.Context, assertion, jobID string) (*Job, error) {
	resp, err := c.post(ctx, "/jlis/v1/jobs/"+jobID+"/print", assertionBody{Assertion: assertion})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var j Job
	if err := json.Unmarshal([]byte(resp.Header.Get(JobHeader)), &j); err != nil {
		return nil, fmt.Errorf("kiosk: printed job facts: %w", err)
	}
	if j.PDF, err = io.ReadAll(io.LimitReader(resp.Body, maxPDF)); err != nil {
		return nil, err
	}
	return &j, nil
}

// Cancel cancels a job that was not printed.
func (c *Client) Cancel(ctx context.Context, jobID, reason string) error {
	return c.postJSON(ctx, "/jlis/v1/jobs/"+jobID+"/cancel", map[string]string{"reason": reason}, nil)
}

// RegistrationDocument fetches the registration the holder is to sign.
func (c *Client) RegistrationDocument(ctx context.Context, assertion, honseki string) (*RegistrationDocument, error) {
	var d RegistrationDocument
	return &d, c.postJSON(ctx, "/jlis/v1/registrations/document", regDocBody{Assertion: assertion, Honseki: honseki}, &d)
}

// Register files a signed registration.
func (c *Client) Register(ctx context.Context, assertion, honseki string, shownAt time.Time, certDER, sig []byte) (*Registration, error) {
	var r Registration
	return &r, c.postJSON(ctx, "/jlis/v1/registrations", RegisterBody{Assertion: assertion, Honseki: honseki, ShownAt: shownAt,
		Certificate: certDER, Signature: sig}, &r)
}
