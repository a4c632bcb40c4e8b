package procure

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/mynaplat/mynaplat/corpreg"
	"github.com/mynaplat/mynaplat/internal/httpapi"
)

// Client is the typed client of the register's API: the procuring bodies
// read qualifications with it, and the agent's terminal files
// applications. Refusals come back as *Refusal, the other errors as the
// sentinels of Rules.
type Client struct {
	BaseURL string
	// HTTP sends the calls (httpapi.NewHTTPClient); nil is httpapi's
	// default, with its timeout.
	HTTP *http.Client
}

// ErrUnavailable is httpapi's: the register did not answer.
var ErrUnavailable = httpapi.ErrUnavailable

const maxAnswer = 4 << 20

func (c *Client) do(ctx context.Context, rq httpapi.Request, out any) error {
	api := &httpapi.Client{Service: "procure", BaseURL: c.BaseURL, HTTP: c.HTTP, Rules: Rules, MaxBody: maxAnswer}
	_, err := api.DoJSON(ctx, rq, out)
	if e, ok := errors.AsType[*httpapi.Error](err); ok && e.Status == refusalStatus {
		return &Refusal{Reason: Reason(e.Code), MessageJA: e.MessageJA, MessageEN: e.MessageEN}
	}
	return err
}

// QualificationAt is the business's qualification valid at at, or
// ErrNotFound.
func (c *Client) QualificationAt(ctx context.Context, number string, at time.Time) (*Qualification, error) {
	if err := corpreg.ValidNumber(number); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	var q Qualification
	path := "/procure/v1/qualifications/" + url.PathEscape(number) + "?at=" + url.QueryEscape(at.UTC().Format(time.RFC3339))
	if err := c.do(ctx, httpapi.Request{Method: http.MethodGet, Path: path}, &q); err != nil {
		return nil, err
	}
	return &q, nil
}

// Qualification is the business's qualification valid now.
func (c *Client) Qualification(ctx context.Context, number string) (*Qualification, error) {
	if err := corpreg.ValidNumber(number); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	var q Qualification
	if err := c.do(ctx, httpapi.Request{Method: http.MethodGet, Path: "/procure/v1/qualifications/" + url.PathEscape(number)}, &q); err != nil {
		return nil, err
	}
	return &q, nil
}

// List reads the public list.
func (c *Client) List(ctx context.Context) ([]*Qualification, error) {
	var out []*Qualification
	if err := c.do(ctx, httpapi.Request{Method: http.MethodGet, Path: "/procure/list.json"}, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Apply files a signed application for the agent whose card login
// assertion is given.
func (c *Client) Apply(ctx context.Context, assertion string, signed []byte) (*Filed, error) {
	var f Filed
	if err := c.do(ctx, httpapi.Request{Method: http.MethodPost, Path: "/procure/v1/applications",
		Header: http.Header{"Authorization": {"Bearer " + assertion}},
		JSON:   ApplyBody{CMS: base64.StdEncoding.EncodeToString(signed)}}, &f); err != nil {
		return nil, err
	}
	return &f, nil
}

// AgentApplications lists the agent's applications.
func (c *Client) AgentApplications(ctx context.Context, assertion string) ([]ApplicationSummary, error) {
	var out []ApplicationSummary
	if err := c.do(ctx, httpapi.Request{Method: http.MethodGet, Path: "/procure/v1/agent/applications",
		Header: http.Header{"Authorization": {"Bearer " + assertion}}}, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// AgentApplication reads one of the agent's applications.
func (c *Client) AgentApplication(ctx context.Context, assertion, id string) (*ApplicationDetail, error) {
	var d ApplicationDetail
	if err := c.do(ctx, httpapi.Request{Method: http.MethodGet, Path: "/procure/v1/agent/applications/" + url.PathEscape(id),
		Header: http.Header{"Authorization": {"Bearer " + assertion}}}, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// Notices reads the corporation's notices of new agents, newest first,
// with the representative's signed request (SignNoticesRequest).
func (c *Client) Notices(ctx context.Context, signed []byte) ([]Notice, error) {
	var out []Notice
	if err := c.do(ctx, httpapi.Request{Method: http.MethodPost, Path: "/procure/v1/notices",
		JSON: ApplyBody{CMS: base64.StdEncoding.EncodeToString(signed)}}, &out); err != nil {
		return nil, err
	}
	return out, nil
}
