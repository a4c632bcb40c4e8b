package eligibility

import (
	"context"
	"net/http"
	"strings"

	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/terminal"
)

// FacilityClient is a facility's client of the eligibility service's API.
type FacilityClient struct {
	BaseURL string
	Key     string // the facility key
	// HTTP sends the calls (httpapi.NewHTTPClient); nil is httpapi's
	// default, with its timeout.
	HTTP *http.Client
}

// ErrUnavailable is httpapi's: the eligibility service could not be reached
// (or failed inside), and the request may be sent again.
var ErrUnavailable = httpapi.ErrUnavailable

// APIError is an answer of the service other than success; it matches the
// service's codes (CodeBadAssertion …) and sentinels with errors.Is.
type APIError = httpapi.Error

func (c *FacilityClient) do(ctx context.Context, rq httpapi.Request, out any) error {
	api := &httpapi.Client{Service: "eligibility", BaseURL: c.BaseURL, HTTP: c.HTTP, Auth: httpapi.Bearer(c.Key), Rules: Rules}
	_, err := api.DoJSON(ctx, rq, out)
	return err
}

// Check asks for a card holder's eligibility with a platform assertion. A
// check with a client ID is recorded once, so it is sent again after a
// lost answer.
func (c *FacilityClient) Check(ctx context.Context, req CardCheckRequest) (*CheckResult, error) {
	var res CheckResult
	if err := c.do(ctx, httpapi.Request{Method: http.MethodPost, Path: "/eligibility/v1/checks", JSON: req, Idempotent: req.ClientID != ""}, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// Paper checks by the 資格確認書.
func (c *FacilityClient) Paper(ctx context.Context, req PaperCheckRequest) (*CheckResult, error) {
	var res CheckResult
	if err := c.do(ctx, httpapi.Request{Method: http.MethodPost, Path: "/eligibility/v1/paper-checks", JSON: req}, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// Charge has the patient's co-payment charged to the card linked to their
// platform ID. idemKey makes it safe to send again: a retry with the same
// key is never charged twice.
func (c *FacilityClient) Charge(ctx context.Context, checkID string, amount int64, idemKey string) (*Payment, error) {
	var p Payment
	rq := httpapi.Request{Method: http.MethodPost, Path: "/eligibility/v1/payments", Header: http.Header{"Idempotency-Key": {idemKey}},
		JSON: map[string]any{"check_id": checkID, "amount": amount}, Idempotent: true}
	if err := c.do(ctx, rq, &p); err != nil {
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
	if err := c.do(ctx, httpapi.Request{Method: http.MethodGet, Path: "/eligibility/v1/my-checks"}, &out); err != nil {
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
