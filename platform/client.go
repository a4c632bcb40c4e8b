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
