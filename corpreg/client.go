package corpreg

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/internal/apijson"
)

// Client is another role's typed client of the registry's HTTP API. Its
// Corporation and RepresentativeAt answer as the Registry's do, so a caller
// can take either.
type Client struct {
	BaseURL string
	HTTP    *http.Client
}

// ErrUnavailable wraps failures to reach the registry (network errors, 5xx,
// answers that are not the API's).
var ErrUnavailable = errors.New("corpreg: registry unavailable")

// maxAnswer bounds what the client reads: a corporation with a long history
// of representatives stays far below it.
const maxAnswer = 4 << 20

func (c *Client) do(ctx context.Context, method, path string, body any) (*http.Response, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.BaseURL, "/")+path, rd)
	if err != nil {
		return nil, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: read %s: %w", ErrUnavailable, path, err)
	}
	if resp.StatusCode >= 500 {
		return nil, nil, fmt.Errorf("%w: %s %s", ErrUnavailable, path, resp.Status)
	}
	return resp, out, nil
}

// problem turns an error answer into an error wrapping this package's
// sentinels.
func problem(resp *http.Response, body []byte) error {
	var p apijson.Problem
	json.Unmarshal(body, &p)
	base := ErrInvalid
	switch p.Code {
	case "unknown_corporation":
		base = ErrUnknownCorporation
	case "invalid_number":
		return fmt.Errorf("%w: %w: %s", ErrUnknownCorporation, ErrInvalidNumber, p.MessageEN)
	}
	return fmt.Errorf("%w: %s %s", base, resp.Status, p.MessageEN)
}

// Corporation fetches a corporation's public record.
func (c *Client) Corporation(ctx context.Context, number string) (*Corporation, error) {
	if err := ValidNumber(number); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnknownCorporation, err)
	}
	resp, body, err := c.do(ctx, http.MethodGet, "/corpreg/v1/corporations/"+url.PathEscape(number), nil)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, problem(resp, body)
	}
	var corp Corporation
	if err := json.Unmarshal(body, &corp); err != nil {
		return nil, fmt.Errorf("%w: decode the corporation: %w", ErrUnavailable, err)
	}
	return &corp, nil
}

// RepresentativeAt asks the registry whether cert was the corporation's
// representative's at at, with the errors of Registry.RepresentativeAt.
func (c *Client) RepresentativeAt(ctx context.Context, number string, cert *x509.Certificate, at time.Time) error {
	if cert == nil {
		return fmt.Errorf("%w: no certificate", ErrNotRepresentative)
	}
	resp, body, err := c.do(ctx, http.MethodPost, "/corpreg/v1/representative-check",
		CheckRequest{Number: number, Certificate: base64.StdEncoding.EncodeToString(cert.Raw), At: at})
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return problem(resp, body)
	}
	var a CheckAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return fmt.Errorf("%w: decode the answer: %w", ErrUnavailable, err)
	}
	switch {
	case a.OK:
		return nil
	case a.Reason == "unknown_corporation":
		return fmt.Errorf("%w: %s", ErrUnknownCorporation, a.MessageEN)
	case a.Reason == "closed":
		return fmt.Errorf("%w: %s", ErrClosed, a.MessageEN)
	case a.Reason == "not_representative":
		return fmt.Errorf("%w: %s", ErrNotRepresentative, a.MessageEN)
	}
	return fmt.Errorf("%w: unknown answer %q", ErrUnavailable, a.Reason)
}

// CA fetches the certificate of the registry's CA.
func (c *Client) CA(ctx context.Context) (*x509.Certificate, error) {
	resp, body, err := c.do(ctx, http.MethodGet, "/corpreg/ca.crt", nil)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, problem(resp, body)
	}
	cert, err := x509.ParseCertificate(body)
	if err != nil {
		return nil, fmt.Errorf("%w: the CA certificate: %w", ErrUnavailable, err)
	}
	return cert, nil
}
