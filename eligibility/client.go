package eligibility

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/mynaplat/mynaplat/internal/apijson"
)

// FacilityClient is a facility's client of the eligibility service's API.
type FacilityClient struct {
	BaseURL string
	Key     string // the facility key
	HTTP    *http.Client
}

// ErrUnavailable means the eligibility service could not be reached (or
// failed inside): the request may be sent again.
var ErrUnavailable = errors.New("eligibility: the service is unavailable")

// APIError is an answer of the service other than success.
type APIError struct {
	Status  int
	Problem apijson.Problem
}

func (e *APIError) Error() string {
	return fmt.Sprintf("eligibility: %d %s: %s", e.Status, e.Problem.Code, e.Problem.MessageEN)
}

// Unwrap maps the status to the package's sentinels.
func (e *APIError) Unwrap() error {
	switch {
	case e.Problem.Code == "bad_assertion":
		return ErrBadAssertion
	case e.Problem.Code == "foreign_terminal":
		return ErrForeignTerminal
	case e.Status == http.StatusNotFound:
		return ErrNotFound
	case e.Status >= 500:
		return ErrUnavailable
	case e.Status == http.StatusBadRequest:
		return ErrInvalid
	}
	return nil
}

func (c *FacilityClient) do(ctx context.Context, method, path string, in, out any) (int, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.BaseURL, "/")+path, body)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Key)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if resp.StatusCode >= 300 {
		e := &APIError{Status: resp.StatusCode}
		json.Unmarshal(b, &e.Problem)
		return resp.StatusCode, e
	}
	if err := json.Unmarshal(b, out); err != nil {
		return resp.StatusCode, fmt.Errorf("%w: bad answer: %w", ErrUnavailable, err)
	}
	return resp.StatusCode, nil
}

// Check asks for a card holder's eligibility with a platform assertion.
func (c *FacilityClient) Check(ctx context.Context, req CardCheckRequest) (*CheckResult, error) {
	var res CheckResult
	if _, err := c.do(ctx, http.MethodPost, "/eligibility/v1/checks", req, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// Paper checks by the 資格確認書.
func (c *FacilityClient) Paper(ctx context.Context, req PaperCheckRequest) (*CheckResult, error) {
	var res CheckResult
	if _, err := c.do(ctx, http.MethodPost, "/eligibility/v1/paper-checks", req, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// MyChecks are the checks of the holder of an assertion.
func MyChecks(ctx context.Context, hc *http.Client, baseURL, assertion string) ([]CheckEntry, error) {
	c := &FacilityClient{BaseURL: baseURL, Key: assertion, HTTP: hc}
	var out struct {
		Checks []CheckEntry `json:"checks"`
	}
	if _, err := c.do(ctx, http.MethodGet, "/eligibility/v1/my-checks", nil, &out); err != nil {
		return nil, err
	}
	return out.Checks, nil
}
