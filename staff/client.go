package staff

import (
	"context"
	"errors"
	"net/http"

	"github.com/mynaplat/mynaplat/internal/httpapi"
)

// Client is an office's typed client of the directory's API. Its methods
// have the shape of the Directory's, errors included, so an office takes
// either as its Checker.
type Client struct {
	API httpapi.Client
}

// NewClient is a client of the directory at baseURL under the office
// role's caller key.
func NewClient(baseURL, key string, hc *http.Client) *Client {
	return &Client{API: httpapi.Client{Service: "staff", BaseURL: baseURL, HTTP: hc, Auth: httpapi.Bearer(key), Rules: apiRules}}
}

// Check asks for the person's grant at office, valid now.
func (c *Client) Check(ctx context.Context, platformID, office string) (Grant, error) {
	var g Grant
	// A check is a read: sending it again is harmless.
	_, err := c.API.DoJSON(ctx, httpapi.Request{Method: http.MethodPost, Path: "/staff/v1/checks",
		JSON: CheckRequest{PlatformID: platformID, Office: office}, Idempotent: true}, &g)
	return g, err
}

// Login asks the directory to open a session for a card login.
func (c *Client) Login(ctx context.Context, req LoginRequest) (Grant, error) {
	var g Grant
	_, err := c.API.DoJSON(ctx, httpapi.Request{Method: http.MethodPost, Path: "/staff/v1/logins", JSON: req}, &g)
	return g, err
}

// Refused records an office's own refusal.
func (c *Client) Refused(ctx context.Context, platformID, office string, why error, detail string) error {
	code := httpapi.Code("")
	for _, r := range apiRules {
		if errors.Is(why, r.Err) {
			code = r.Code
			break
		}
	}
	_, err := c.API.Do(ctx, httpapi.Request{Method: http.MethodPost, Path: "/staff/v1/refusals",
		JSON: RefusalRequest{PlatformID: platformID, Office: office, Code: code, Detail: detail}})
	return err
}
