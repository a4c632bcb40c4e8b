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
	"github.com/mynaplat/mynaplat/procure/contract"
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

// The contract API (contracthttp.go), for the winning bid's agent: each
// call carries the agent's card login (the register's assertion).

func bearer(assertion string) http.Header {
	return http.Header{"Authorization": {"Bearer " + assertion}}
}

// Contract reads the contract.
func (c *Client) Contract(ctx context.Context, assertion, body, id string) (*Contract, error) {
	var out Contract
	if _, err := c.do(ctx, httpapi.Request{Method: http.MethodGet, Path: path(body, "v1", "contracts", id), Header: bearer(assertion)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ContractOf reads the contract of a tender (a tender has one contract,
// numbered after it): the agent knows the tenders their company won, not
// the body's contract numbers. ErrNotFound before the body prepared it.
func (c *Client) ContractOf(ctx context.Context, assertion, body, tender string) (*Contract, error) {
	return c.Contract(ctx, assertion, body, contractID(tender))
}

// ContractPDF reads the contract's current PDF, to sign.
func (c *Client) ContractPDF(ctx context.Context, assertion, body, id string) ([]byte, error) {
	return c.raw(ctx, assertion, path(body, "v1", "contracts", id, "pdf"))
}

// ContractBundle reads the contract's timeline as the ZIP `mynaplat
// verify` checks.
func (c *Client) ContractBundle(ctx context.Context, assertion, body, id string) ([]byte, error) {
	return c.raw(ctx, assertion, path(body, "v1", "contracts", id, "bundle"))
}

func (c *Client) raw(ctx context.Context, assertion, p string) ([]byte, error) {
	api := &httpapi.Client{Service: "bodies", BaseURL: c.BaseURL, HTTP: c.HTTP, Rules: Rules, MaxBody: maxAnswer}
	resp, err := api.Do(ctx, httpapi.Request{Method: http.MethodGet, Path: p, Header: bearer(assertion)})
	if e, ok := errors.AsType[*httpapi.Error](err); ok && e.Status == refusalStatus {
		return nil, &Refusal{Reason: Reason(e.Code), MessageJA: e.MessageJA, MessageEN: e.MessageEN}
	}
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// SignContract sends the agent-signed PDF.
func (c *Client) SignContract(ctx context.Context, assertion, body, id string, pdf []byte) (*Contract, error) {
	var out Contract
	rq := httpapi.Request{Method: http.MethodPost, Path: path(body, "v1", "contracts", id, "signature"), Header: bearer(assertion),
		JSON: SignatureBody{PDF: base64.StdEncoding.EncodeToString(pdf)}}
	if _, err := c.do(ctx, rq, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ContractStep sends the agent's signed acceptance or invoice.
func (c *Client) ContractStep(ctx context.Context, assertion, body, id string, signed []byte) (*Contract, error) {
	var out Contract
	rq := httpapi.Request{Method: http.MethodPost, Path: path(body, "v1", "contracts", id, "steps"), Header: bearer(assertion),
		JSON: StepBody{CMS: base64.StdEncoding.EncodeToString(signed)}}
	if _, err := c.do(ctx, rq, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ContractTimeline reads the timeline's report.
func (c *Client) ContractTimeline(ctx context.Context, assertion, body, id string) (*contract.Report, error) {
	var out contract.Report
	if _, err := c.do(ctx, httpapi.Request{Method: http.MethodGet, Path: path(body, "v1", "contracts", id, "timeline"), Header: bearer(assertion)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
