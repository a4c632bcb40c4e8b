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
	"github.com/mynaplat/mynaplat/terminal"
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
	return c.doWith(ctx, method, path, nil, in, out)
}

func (c *FacilityClient) doWith(ctx context.Context, method, path string, hdr http.Header, in, out any) (int, error) {
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
	for k, v := range hdr {
		req.Header[k] = v
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

// Charge has the patient's co-payment charged to the card linked to their
// platform ID. idemKey makes it safe to send again: a retry with the same
// key is never charged twice.
func (c *FacilityClient) Charge(ctx context.Context, checkID string, amount int64, idemKey string) (*Payment, error) {
	var p Payment
	hdr := http.Header{"Idempotency-Key": {idemKey}}
	body := map[string]any{"check_id": checkID, "amount": amount}
	if _, err := c.doWith(ctx, http.MethodPost, "/eligibility/v1/payments", hdr, body, &p); err != nil {
		return nil, err
	}
	return &p, nil
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

// modeNames are the ways of checking as a person reads them.
var modeNames = map[string][2]string{
	ModeCard:    {"マイナンバーカードで資格確認", "Eligibility check with the card"},
	ModeOffline: {"マイナンバーカードで資格確認（オフライン、後で確定）", "Eligibility check with the card (offline, confirmed later)"},
	ModePaper:   {"資格確認書で資格確認", "Eligibility check by the 資格確認書"},
	ModeBatch:   {"予約の一括照会", "Batch pre-check of a reservation"},
}

// consentNames are the consent choices as a person reads them.
var consentNames = map[string][2]string{
	"medical": {"診療情報", "medical information"}, "drug": {"薬剤情報", "prescriptions"},
	"checkup": {"特定健診情報", "checkups"}, "limit": {"限度額適用区分", "ceiling category"},
}

// History is the eligibility checks of a card holder for the audit page
// (terminal.PagesConfig.History), fetched from the service's API.
func History(baseURL string, hc *http.Client) terminal.History {
	return terminal.History{TitleJA: "健康保険の資格確認", TitleEN: "Health-insurance eligibility checks",
		Fetch: func(ctx context.Context, assertion string) ([]terminal.HistoryEntry, error) {
			checks, err := MyChecks(ctx, hc, baseURL, assertion)
			if err != nil {
				return nil, err
			}
			out := make([]terminal.HistoryEntry, 0, len(checks))
			for _, c := range checks {
				n, ok := modeNames[c.Mode]
				if !ok {
					n = [2]string{c.Mode, c.Mode}
				}
				if c.Consent != "none" && c.Consent != "" {
					var ja, en []string
					for _, k := range strings.Split(c.Consent, ",") {
						if name, ok := consentNames[k]; ok {
							ja, en = append(ja, name[0]), append(en, name[1])
						}
					}
					n[0] += "（提供に同意: " + strings.Join(ja, "・") + "）"
					n[1] += " (consented: " + strings.Join(en, ", ") + ")"
				}
				out = append(out, terminal.HistoryEntry{At: c.At, Where: c.Name + "（" + c.Facility + "）", WhatJA: n[0], WhatEN: n[1], Result: c.Validity})
			}
			return out, nil
		}}
}
