package jpki

import (
	"context"
	"crypto/x509"
	"net/http"
	"net/url"
	"strconv"

	"github.com/mynaplat/mynaplat/internal/httpapi"
)

// Client is a relying party's or platform operator's typed client of the
// centre's HTTP API. Token is the operator's bearer token, needed for
// Linkage, Revocations and Attributes only.
type Client struct {
	BaseURL string
	Token   string
	// HTTP sends the calls (httpapi.NewHTTPClient); nil is httpapi's
	// default, with its timeout.
	HTTP *http.Client
}

// ErrUnavailable is httpapi's: the centre did not answer (the network, a
// timeout, a 5xx).
var ErrUnavailable = httpapi.ErrUnavailable

// maxBody bounds what the client reads from the centre (a CRL of a large
// population).
const maxBody = 64 << 20

// api is the client core; auth sends the operator token.
func (c *Client) api(auth bool) *httpapi.Client {
	a := &httpapi.Client{Service: "jpki", BaseURL: c.BaseURL, HTTP: c.HTTP, Rules: Rules, MaxBody: maxBody}
	if auth {
		a.Auth = httpapi.Bearer(c.Token)
	}
	return a
}

// CACertificate fetches and parses the certificate of one CA.
func (c *Client) CACertificate(ctx context.Context, k Kind) (*x509.Certificate, error) {
	resp, err := c.api(false).Do(ctx, httpapi.Request{Method: http.MethodGet, Path: "/jpki/ca/" + string(k) + ".crt"})
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(resp.Body)
}

// CRL fetches the newest CRL of one CA. With etag from an earlier answer,
// an unchanged CRL comes back as notModified with no body.
func (c *Client) CRL(ctx context.Context, k Kind, etag string) (der []byte, newETag string, notModified bool, err error) {
	hdr := http.Header{}
	if etag != "" {
		hdr.Set("If-None-Match", etag)
	}
	resp, err := c.api(false).Do(ctx, httpapi.Request{Method: http.MethodGet, Path: "/jpki/crl/" + string(k) + ".crl", Header: hdr,
		Answer: func(status int, _ http.Header) bool { return status == http.StatusNotModified }})
	if err != nil {
		return nil, "", false, err
	}
	if resp.Status == http.StatusNotModified {
		return nil, etag, true, nil
	}
	return resp.Body, resp.Header.Get("ETag"), false, nil
}

// OCSP posts a DER OCSP request and returns the DER response. Asking
// again is harmless, so a lost answer is asked for again.
func (c *Client) OCSP(ctx context.Context, request []byte) ([]byte, error) {
	resp, err := c.api(false).Do(ctx, httpapi.Request{Method: http.MethodPost, Path: "/jpki/ocsp", Body: request,
		ContentType: "application/ocsp-request", Idempotent: true})
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// Linkage fetches the linkage record of one certificate.
func (c *Client) Linkage(ctx context.Context, k Kind, serial string) (*Linkage, error) {
	q := url.Values{"kind": {string(k)}, "serial": {serial}}
	var l Linkage
	if _, err := c.api(true).DoJSON(ctx, httpapi.Request{Method: http.MethodGet, Path: "/jpki/linkage?" + q.Encode()}, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// Revocations fetches one page of the revocation feed after the cursor.
func (c *Client) Revocations(ctx context.Context, after int64, limit int) (*FeedPage, error) {
	q := url.Values{"after": {strconv.FormatInt(after, 10)}, "limit": {strconv.Itoa(limit)}}
	var p FeedPage
	if _, err := c.api(true).DoJSON(ctx, httpapi.Request{Method: http.MethodGet, Path: "/jpki/revocations?" + q.Encode()}, &p); err != nil {
		return nil, err
	}
	return &p, nil
}
