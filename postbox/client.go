package postbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/mynaplat/mynaplat/internal/apijson"
)

// Client is a party's client of the post box API.
type Client struct {
	BaseURL string
	// Key is the party's key (AddParty's answer).
	Key  string
	HTTP *http.Client
}

// APIError is the post box's refusal.
type APIError struct {
	Status int
	apijson.Problem
}

func (e *APIError) Error() string {
	return fmt.Sprintf("postbox: HTTP %d %s: %s", e.Status, e.Code, e.MessageEN)
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.Key)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("postbox: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("postbox: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		e := &APIError{Status: resp.StatusCode}
		json.Unmarshal(b, &e.Problem)
		return e
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("postbox: decode answer: %w", err)
	}
	return nil
}

// Deliver delivers a document into the box that consented under
// d.CustomerRef.
func (c *Client) Deliver(ctx context.Context, d Delivery) (string, error) {
	var res DeliveryResult
	if err := c.do(ctx, http.MethodPost, "/postbox/v1/deliveries", d, &res); err != nil {
		return "", err
	}
	return res.DocumentID, nil
}

// Send reads a send to this party with its delivery log.
func (c *Client) Send(ctx context.Context, id string) (*SendView, error) {
	var v SendView
	if err := c.do(ctx, http.MethodGet, "/postbox/v1/sends/"+id, nil, &v); err != nil {
		return nil, err
	}
	return &v, nil
}
