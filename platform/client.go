package platform

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
)

// TerminalClient is a terminal's typed client of the platform API. It signs
// every request with the terminal's key.
type TerminalClient struct {
	BaseURL    string
	TerminalID string
	Key        []byte
	HTTP       *http.Client
	Now        func() time.Time
}

// ErrPlatformUnavailable wraps failures to reach the platform.
var ErrPlatformUnavailable = errors.New("platform: unavailable")

func (c *TerminalClient) post(ctx context.Context, path string, in any) (*http.Response, []byte, error) {
	body := []byte{}
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return nil, nil, err
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.BaseURL, "/")+path, bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	SignRequest(req, c.TerminalID, c.Key, body, now())
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrPlatformUnavailable, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrPlatformUnavailable, err)
	}
	return resp, out, nil
}

func problemErr(resp *http.Response, body []byte) error {
	var p Problem
	json.Unmarshal(body, &p)
	base := ErrInvalid
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		base = ErrUnknownTerminal
	case p.Code == "terminal_disabled":
		base = ErrTerminalDisabled
	case resp.StatusCode >= 500:
		base = ErrPlatformUnavailable
	}
	return fmt.Errorf("%w: %s %s", base, resp.Status, p.MessageEN)
}

// Challenge asks for a challenge.
func (c *TerminalClient) Challenge(ctx context.Context) (*Challenge, error) {
	resp, body, err := c.post(ctx, "/platform/challenge", nil)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusCreated {
		return nil, problemErr(resp, body)
	}
	var ch Challenge
	if err := json.Unmarshal(body, &ch); err != nil {
		return nil, fmt.Errorf("platform: decode challenge: %w", err)
	}
	return &ch, nil
}

// Authenticate sends the card's answer. A FAILED or INDETERMINATE result is
// not an error: it comes back in the report.
func (c *TerminalClient) Authenticate(ctx context.Context, req AuthRequest) (*AuthResponse, error) {
	resp, body, err := c.post(ctx, "/platform/auth", req)
	if err != nil {
		return nil, err
	}
	var ar AuthResponse
	if json.Unmarshal(body, &ar) != nil || ar.Report == nil {
		return nil, problemErr(resp, body)
	}
	return &ar, nil
}

// AuthenticateDeferred sends an offline answer (see AuthenticateDeferred on
// the platform). Sending the same answer again is safe.
func (c *TerminalClient) AuthenticateDeferred(ctx context.Context, req DeferredAuthRequest) (*AuthResponse, error) {
	resp, body, err := c.post(ctx, "/platform/deferred-auth", req)
	if err != nil {
		return nil, err
	}
	var ar AuthResponse
	if json.Unmarshal(body, &ar) != nil || ar.Report == nil {
		return nil, problemErr(resp, body)
	}
	return &ar, nil
}

// AuditPage is the answer of GET /platform/audit.
type AuditPage struct {
	PlatformID string       `json:"platform_id"`
	Entries    []AuditEntry `json:"entries"`
}

// FetchAudit asks the platform who checked the holder of an assertion.
func FetchAudit(ctx context.Context, hc *http.Client, baseURL, assertion string) (*AuditPage, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(baseURL, "/")+"/platform/audit", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+assertion)
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPlatformUnavailable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPlatformUnavailable, err)
	}
	if resp.StatusCode == http.StatusUnauthorized {
		return nil, fmt.Errorf("%w: %s", ErrBadAssertion, resp.Status)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, problemErr(resp, body)
	}
	var page AuditPage
	if err := json.Unmarshal(body, &page); err != nil {
		return nil, fmt.Errorf("platform: decode audit: %w", err)
	}
	return &page, nil
}

// PresignedAuth is an authentication request built and signed ahead of time
// (a load generator's, so that its own work stays out of the measurement).
type PresignedAuth struct {
	URL    string
	Body   []byte
	Header http.Header
}

// Presign builds and signs the request of Authenticate without sending it.
// It stays valid while the terminal's timestamp is within the allowed skew.
func (c *TerminalClient) Presign(req AuthRequest) (*PresignedAuth, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	r, err := http.NewRequest(http.MethodPost, strings.TrimRight(c.BaseURL, "/")+"/platform/auth", nil)
	if err != nil {
		return nil, err
	}
	r.Header.Set("Content-Type", "application/json")
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	SignRequest(r, c.TerminalID, c.Key, body, now())
	return &PresignedAuth{URL: r.URL.String(), Body: body, Header: r.Header}, nil
}
