package jpki

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Client is a relying party's or platform operator's typed client of the
// centre's HTTP API. Token is the operator's bearer token, needed for
// Linkage and Revocations only.
type Client struct {
	BaseURL string
	Token   string
	HTTP    *http.Client
}

// ErrUnavailable wraps failures to reach the centre (network errors, 5xx).
var ErrUnavailable = errors.New("jpki: centre unavailable")

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// maxBody bounds what the client reads from the centre.
const maxBody = 64 << 20

func (c *Client) do(req *http.Request, auth bool) (*http.Response, []byte, error) {
	if auth {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: read %s: %w", ErrUnavailable, req.URL.Path, err)
	}
	switch {
	case resp.StatusCode >= 500:
		return nil, nil, fmt.Errorf("%w: %s %s", ErrUnavailable, req.URL.Path, resp.Status)
	case resp.StatusCode == http.StatusUnauthorized:
		return nil, nil, fmt.Errorf("%w (%s)", ErrUnauthorized, req.URL.Path)
	case resp.StatusCode == http.StatusNotFound:
		return nil, nil, fmt.Errorf("%w: %s", ErrNotFound, req.URL.Path)
	case resp.StatusCode >= 400:
		var ae APIError
		json.Unmarshal(body, &ae)
		return nil, nil, fmt.Errorf("%w: %s: %s", ErrInvalid, resp.Status, ae.MessageEN)
	}
	return resp, body, nil
}

func (c *Client) get(ctx context.Context, path string, auth bool, hdr http.Header) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(c.BaseURL, "/")+path, nil)
	if err != nil {
		return nil, nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	return c.do(req, auth)
}

// CACertificate fetches and parses the certificate of one CA.
func (c *Client) CACertificate(ctx context.Context, k Kind) (*x509.Certificate, error) {
	_, body, err := c.get(ctx, "/jpki/ca/"+string(k)+".crt", false, nil)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(body)
}

// CRL fetches the newest CRL of one CA. With etag from an earlier answer,
// an unchanged CRL comes back as notModified with no body.
func (c *Client) CRL(ctx context.Context, k Kind, etag string) (der []byte, newETag string, notModified bool, err error) {
	hdr := http.Header{}
	if etag != "" {
		hdr.Set("If-None-Match", etag)
	}
	resp, body, err := c.get(ctx, "/jpki/crl/"+string(k)+".crl", false, hdr)
	if err != nil {
		return nil, "", false, err
	}
	if resp.StatusCode == http.StatusNotModified {
		return nil, etag, true, nil
	}
	return body, resp.Header.Get("ETag"), false, nil
}

// OCSP posts a DER OCSP request and returns the DER response.
func (c *Client) OCSP(ctx context.Context, request []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.BaseURL, "/")+"/jpki/ocsp", bytes.NewReader(request))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/ocsp-request")
	_, body, err := c.do(req, false)
	return body, err
}

// Linkage fetches the linkage record of one certificate.
func (c *Client) Linkage(ctx context.Context, k Kind, serial string) (*Linkage, error) {
	q := url.Values{"kind": {string(k)}, "serial": {serial}}
	_, body, err := c.get(ctx, "/jpki/linkage?"+q.Encode(), true, nil)
	if err != nil {
		return nil, err
	}
	var l Linkage
	if err := json.Unmarshal(body, &l); err != nil {
		return nil, fmt.Errorf("jpki: decode linkage: %w", err)
	}
	return &l, nil
}

// Revocations fetches one page of the revocation feed after the cursor.
func (c *Client) Revocations(ctx context.Context, after int64, limit int) (*FeedPage, error) {
	q := url.Values{"after": {strconv.FormatInt(after, 10)}, "limit": {strconv.Itoa(limit)}}
	_, body, err := c.get(ctx, "/jpki/revocations?"+q.Encode(), true, nil)
	if err != nil {
		return nil, err
	}
	var p FeedPage
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, fmt.Errorf("jpki: decode revocation feed: %w", err)
	}
	return &p, nil
}
