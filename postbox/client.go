package postbox

import (
	"context"
	"net/http"

	"github.com/mynaplat/mynaplat/internal/httpapi"
)

// Client is a party's client of the post box API.
type Client struct {
	BaseURL string
	// Key is the party's key (AddParty's answer).
	Key string
	// HTTP sends the calls (httpapi.NewHTTPClient); nil is httpapi's
	// default, with its timeout.
	HTTP *http.Client
}

// APIError is the post box's refusal; it matches the post box's codes
// (CodeNoRecipient …) and sentinels with errors.Is.
type APIError = httpapi.Error

func (c *Client) do(ctx context.Context, rq httpapi.Request, out any) error {
	api := &httpapi.Client{Service: "postbox", BaseURL: c.BaseURL, HTTP: c.HTTP, Auth: httpapi.Bearer(c.Key), Rules: Rules, MaxBody: 1 << 20}
	_, err := api.DoJSON(ctx, rq, out)
	return err
}

// Deliver delivers a document into the box that consented under
// d.CustomerRef. The delivery's ID is the party's, so a lost answer is
// sent again.
func (c *Client) Deliver(ctx context.Context, d Delivery) (string, error) {
	var res DeliveryResult
	if err := c.do(ctx, httpapi.Request{Method: http.MethodPost, Path: "/postbox/v1/deliveries", JSON: d, Idempotent: true}, &res); err != nil {
		return "", err
	}
	return res.DocumentID, nil
}

// Send reads a send to this party with its delivery log.
func (c *Client) Send(ctx context.Context, id string) (*SendView, error) {
	var v SendView
	if err := c.do(ctx, httpapi.Request{Method: http.MethodGet, Path: "/postbox/v1/sends/" + id}, &v); err != nil {
		return nil, err
	}
	return &v, nil
}
