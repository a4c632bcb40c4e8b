package delegation

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"

	"github.com/mynaplat/mynaplat/internal/httpapi"
)

// Client is another role's typed client of the register's HTTP API, with
// the methods and errors of the Service.
type Client struct {
	BaseURL string
	// HTTP sends the calls (httpapi.NewHTTPClient); nil is httpapi's
	// default, with its timeout.
	HTTP *http.Client
	// Key is the caller key for the calls a role makes on a person's
	// behalf (AgentPowers); the others need none.
	Key string
}

// ErrUnavailable is httpapi's: the register did not answer (the network, a
// timeout, a 5xx, an answer that is not the API's).
var ErrUnavailable = httpapi.ErrUnavailable

// maxAnswer bounds what the client reads.
const maxAnswer = 4 << 20

func (c *Client) do(ctx context.Context, rq httpapi.Request, out any) error {
	api := &httpapi.Client{Service: "delegation", BaseURL: c.BaseURL, HTTP: c.HTTP, Rules: Rules, MaxBody: maxAnswer}
	_, err := api.DoJSON(ctx, rq, out)
	return err
}

// Register sends a signed power to the register. The same power sent again
// is answered with its record (its ID is the power's), so a lost answer is
// asked for again.
func (c *Client) Register(ctx context.Context, signedCMS []byte) (*Record, error) {
	var rec Record
	if err := c.do(ctx, httpapi.Request{Method: http.MethodPost, Path: "/delegation/v1/powers", Idempotent: true,
		JSON: SignedRequest{CMS: base64.StdEncoding.EncodeToString(signedCMS)}}, &rec); err != nil {
		return nil, err
	}
	return &rec, nil
}

// Get fetches a registered power.
func (c *Client) Get(ctx context.Context, id string) (*Record, error) {
	var rec Record
	if err := c.do(ctx, httpapi.Request{Method: http.MethodGet, Path: "/delegation/v1/powers/" + url.PathEscape(id)}, &rec); err != nil {
		return nil, err
	}
	return &rec, nil
}

// Revoke sends a signed revocation of the power id.
func (c *Client) Revoke(ctx context.Context, id string, signedCMS []byte) (*Record, error) {
	var rec Record
	if err := c.do(ctx, httpapi.Request{Method: http.MethodPost, Path: "/delegation/v1/powers/" + url.PathEscape(id) + "/revoke",
		JSON: SignedRequest{CMS: base64.StdEncoding.EncodeToString(signedCMS)}}, &rec); err != nil {
		return nil, err
	}
	return &rec, nil
}

// Check asks the register to check a power for a document; asking changes
// nothing, so a lost answer is asked for again.
func (c *Client) Check(ctx context.Context, q Query) (Result, error) {
	if q.Signer == nil {
		return Result{}, fmt.Errorf("%w: the query has no signer", ErrInvalid)
	}
	var res Result
	err := c.do(ctx, httpapi.Request{Method: http.MethodPost, Path: "/delegation/v1/check", Idempotent: true, JSON: CheckRequest{
		Power: base64.StdEncoding.EncodeToString(q.Power), CorporateNumber: q.CorporateNumber, DocType: q.DocType,
		Signer: base64.StdEncoding.EncodeToString(q.Signer.Raw), At: q.At}}, &res)
	return res, err
}
