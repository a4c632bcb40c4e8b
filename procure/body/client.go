package body

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/mynaplat/mynaplat/internal/httpapi"
)

// Client is the typed client of a body's API: the company desk reads a
// tender and posts sealed bids with it. Refusals come back as *Refusal,
// the other errors as the sentinels of Rules.
type Client struct {
	// BaseURL is where the bodies role answers (without /bodies/…).
	BaseURL string
	// HTTP sends the calls (httpapi.NewHTTPClient); nil is httpapi's
	// default, with its timeout.
	HTTP *http.Client
}

// ErrUnavailable is httpapi's: the body did not answer.
var ErrUnavailable = httpapi.ErrUnavailable

const maxAnswer = 4 << 20

func (c *Client) do(ctx context.Context, rq httpapi.Request, out any) (*httpapi.Response, error) {
	api := &httpapi.Client{Service: "bodies", BaseURL: c.BaseURL, HTTP: c.HTTP, Rules: Rules, MaxBody: maxAnswer}
	resp, err := api.DoJSON(ctx, rq, out)
	if e, ok := errors.AsType[*httpapi.Error](err); ok && (e.Status == refusalStatus || e.Status == http.StatusRequestEntityTooLarge ||
		e.Code == httpapi.Code(ReasonNoTender)) {
		return nil, &Refusal{Reason: Reason(e.Code), MessageJA: e.MessageJA, MessageEN: e.MessageEN}
	}
	return resp, err
}

func path(body string, rest ...string) string {
	p := "/bodies/" + url.PathEscape(body)
	for _, r := range rest {
		p += "/" + url.PathEscape(r)
	}
	return p
}

// Tender reads a tender with its opening certificate. The caller checks
// Fingerprint(t.Certificate) against the one on the tender's public page
// before sealing to it.
func (c *Client) Tender(ctx context.Context, body, tender string) (*Tender, error) {
	var t Tender
	if _, err := c.do(ctx, httpapi.Request{Method: http.MethodGet, Path: path(body, "v1", "tenders", tender)}, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// Tenders lists a body's tenders.
func (c *Client) Tenders(ctx context.Context, body string) ([]*Tender, error) {
	var ts []*Tender
	if _, err := c.do(ctx, httpapi.Request{Method: http.MethodGet, Path: path(body, "v1", "tenders")}, &ts); err != nil {
		return nil, err
	}
	return ts, nil
}

// Bid posts a sealed bid and returns the receipt.
func (c *Client) Bid(ctx context.Context, body, tender, corp string, envelope []byte) (*Receipt, error) {
	var out ReceiptJSON
	rq := httpapi.Request{Method: http.MethodPost, Path: path(body, "v1", "tenders", tender, "bids"),
		JSON: BidBody{CorporateNumber: corp, Envelope: base64.StdEncoding.EncodeToString(envelope)}}
	if _, err := c.do(ctx, rq, &out); err != nil {
		return nil, err
	}
	der, err := base64.StdEncoding.DecodeString(out.Receipt)
	if err != nil {
		return nil, fmt.Errorf("body: receipt is not base64: %w", err)
	}
	return &Receipt{BidID: out.BidID, ReceivedAt: out.ReceivedAt, Receipt: der, Replaced: out.Replaced}, nil
}

// CA reads the body's receipt CA certificate.
func (c *Client) CA(ctx context.Context, body string) (*x509.Certificate, error) {
	api := &httpapi.Client{Service: "bodies", BaseURL: c.BaseURL, HTTP: c.HTTP, Rules: Rules, MaxBody: 64 << 10}
	resp, err := api.Do(ctx, httpapi.Request{Method: http.MethodGet, Path: path(body, "ca.crt")})
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(resp.Body)
}
