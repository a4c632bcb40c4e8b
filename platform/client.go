package platform

import (
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/internal/httpapi"
)

// TerminalClient is a terminal's typed client of the platform API. It signs
// every request with the terminal's key.
type TerminalClient struct {
	BaseURL    string
	TerminalID string
	Key        []byte
	// HTTP sends the calls (httpapi.NewHTTPClient); nil is httpapi's
	// default, with its timeout.
	HTTP *http.Client
	Now  func() time.Time
}

// ErrPlatformUnavailable is httpapi's: the platform did not answer (the
// network, a timeout, a 5xx).
var ErrPlatformUnavailable = httpapi.ErrUnavailable

func (c *TerminalClient) api() *httpapi.Client {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	return &httpapi.Client{Service: "platform", BaseURL: c.BaseURL, HTTP: c.HTTP, Rules: Rules,
		Auth: func(req *http.Request, body []byte) { SignRequest(req, c.TerminalID, c.Key, body, now()) }}
}

// Challenge asks for a challenge.
func (c *TerminalClient) Challenge(ctx context.Context) (*Challenge, error) {
	var ch Challenge
	if _, err := c.api().DoJSON(ctx, httpapi.Request{Method: http.MethodPost, Path: "/platform/challenge", Body: []byte{}, ContentType: "application/json"}, &ch); err != nil {
		return nil, err
	}
	return &ch, nil
}

// isReport tells an authentication's FAILED (403) or INDETERMINATE (503)
// report, which is an answer, from a problem.
func isReport(status int, h http.Header) bool {
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	return mt == "application/json" && (status == http.StatusForbidden || status == http.StatusServiceUnavailable)
}

// Authenticate sends the card's answer. A FAILED or INDETERMINATE result is
// not an error: it comes back in the report.
func (c *TerminalClient) Authenticate(ctx context.Context, req AuthRequest) (*AuthResponse, error) {
	return c.auth(ctx, "/platform/auth", req)
}

// AuthenticateDeferred sends an offline answer (see AuthenticateDeferred on
// the platform). Sending the same answer again is safe.
func (c *TerminalClient) AuthenticateDeferred(ctx context.Context, req DeferredAuthRequest) (*AuthResponse, error) {
	return c.auth(ctx, "/platform/deferred-auth", req)
}

func (c *TerminalClient) auth(ctx context.Context, path string, req any) (*AuthResponse, error) {
	var ar AuthResponse
	if _, err := c.api().DoJSON(ctx, httpapi.Request{Method: http.MethodPost, Path: path, JSON: req, Answer: isReport}, &ar); err != nil {
		return nil, err
	}
	if ar.Report == nil {
		return nil, fmt.Errorf("%w: platform %s: an answer without a report", httpapi.ErrUnavailable, path)
	}
	return &ar, nil
}

// AuditPage is the answer of GET /platform/audit.
type AuditPage struct {
	PlatformID string       `json:"platform_id"`
	Entries    []AuditEntry `json:"entries"`
}

// FetchAudit asks the platform who checked the holder of an assertion. An
// assertion the platform does not accept is ErrBadAssertion.
func FetchAudit(ctx context.Context, hc *http.Client, baseURL, assertion string) (*AuditPage, error) {
	c := &httpapi.Client{Service: "platform", BaseURL: baseURL, HTTP: hc, Rules: Rules, Auth: httpapi.Bearer(assertion)}
	var page AuditPage
	if _, err := c.DoJSON(ctx, httpapi.Request{Method: http.MethodGet, Path: "/platform/audit"}, &page); err != nil {
		return nil, err
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
