package delegation

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/mynaplat/mynaplat/internal/apijson"
)

// Client is another role's typed client of the register's HTTP API, with
// the methods and errors of the Service.
type Client struct {
	BaseURL string
	HTTP    *http.Client
}

// ErrUnavailable wraps failures to reach the register (network errors,
// 5xx, answers that are not the API's).
var ErrUnavailable = errors.New("delegation: register unavailable")

// maxAnswer bounds what the client reads.
const maxAnswer = 4 << 20

func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.BaseURL, "/")+path, rd)
	if err != nil {
		return err
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
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("%w: read %s: %w", ErrUnavailable, path, err)
	}
	if resp.StatusCode >= 300 {
		return problemError(resp, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%w: decode %s: %w", ErrUnavailable, path, err)
	}
	return nil
}

// problemError maps an error answer back to the Service's errors.
func problemError(resp *http.Response, body []byte) error {
	var p apijson.Problem
	json.Unmarshal(body, &p)
	base := ErrUnavailable
	switch {
	case p.Code == "invalid" || p.Code == "bad_request":
		base = ErrInvalid
	case p.Code == "duplicate":
		base = ErrDuplicate
	case resp.StatusCode < 500 && Reason(p.Code).sentinel() != ErrInvalid:
		base = Reason(p.Code).sentinel()
	}
	return fmt.Errorf("%w: %s %s", base, resp.Status, p.MessageEN)
}

// Register sends a signed power to the register.
func (c *Client) Register(ctx context.Context, signedCMS []byte) (*Record, error) {
	var rec Record
	if err := c.do(ctx, http.MethodPost, "/delegation/v1/powers", SignedRequest{CMS: base64.StdEncoding.EncodeToString(signedCMS)}, &rec); err != nil {
		return nil, err
	}
	return &rec, nil
}

// Get fetches a registered power.
func (c *Client) Get(ctx context.Context, id string) (*Record, error) {
	var rec Record
	if err := c.do(ctx, http.MethodGet, "/delegation/v1/powers/"+url.PathEscape(id), nil, &rec); err != nil {
		return nil, err
	}
	return &rec, nil
}

// Revoke sends a signed revocation of the power id.
func (c *Client) Revoke(ctx context.Context, id string, signedCMS []byte) (*Record, error) {
	var rec Record
	if err := c.do(ctx, http.MethodPost, "/delegation/v1/powers/"+url.PathEscape(id)+"/revoke",
		SignedRequest{CMS: base64.StdEncoding.EncodeToString(signedCMS)}, &rec); err != nil {
		return nil, err
	}
	return &rec, nil
}

// Check asks the register to check a power for a document.
func (c *Client) Check(ctx context.Context, q Query) (Result, error) {
	if q.Signer == nil {
		return Result{}, fmt.Errorf("%w: the query has no signer", ErrInvalid)
	}
	var res Result
	err := c.do(ctx, http.MethodPost, "/delegation/v1/check", CheckRequest{
		Power: base64.StdEncoding.EncodeToString(q.Power), CorporateNumber: q.CorporateNumber, DocType: q.DocType,
		Signer: base64.StdEncoding.EncodeToString(q.Signer.Raw), At: q.At}, &res)
	return res, err
}
