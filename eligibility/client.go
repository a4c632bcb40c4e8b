package eligibility

import (
	"context"
	"net/http"

	"github.com/mynaplat/mynaplat/internal/httpapi"
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

// ResidentClient is a card holder's client of the service's payment-link
// API, under the platform assertion of their card login: what the payment
// page (package payenrol) uses, whether the service runs in the same
// process or not.
type ResidentClient struct {
	BaseURL string
	// HTTP sends the calls (httpapi.NewHTTPClient); nil is httpapi's
	// default, with its timeout.
	HTTP *http.Client
}

func (c *ResidentClient) do(ctx context.Context, assertion string, rq httpapi.Request, out any) error {
	api := &httpapi.Client{Service: "eligibility", BaseURL: c.BaseURL, HTTP: c.HTTP, Auth: httpapi.Bearer(assertion), Rules: Rules}
	_, err := api.DoJSON(ctx, rq, out)
	return err
}

// PaymentLink is the holder's active payment link, or an error matching
// ErrNoPaymentLink.
func (c *ResidentClient) PaymentLink(ctx context.Context, assertion string) (*MyPaymentLink, error) {
	var l MyPaymentLink
	if err := c.do(ctx, assertion, httpapi.Request{Method: http.MethodGet, Path: "/eligibility/v1/my-payment-link"}, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// LinkPayment links a card-company token with the signed consent. It is
// sent again after a lost answer: the service knows the same signed
// consent (its text names the second it was shown) and answers the link it
// made, Replayed, so a retry never links twice.
func (c *ResidentClient) LinkPayment(ctx context.Context, assertion string, req PaymentLinkRequest) (*MyPaymentLink, error) {
	var l MyPaymentLink
	rq := httpapi.Request{Method: http.MethodPost, Path: "/eligibility/v1/my-payment-link", JSON: req, Idempotent: true}
	if err := c.do(ctx, assertion, rq, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// UnlinkPayment ends the holder's payment link; with none, an error
// matching ErrNoPaymentLink.
func (c *ResidentClient) UnlinkPayment(ctx context.Context, assertion string) error {
	return c.do(ctx, assertion, httpapi.Request{Method: http.MethodDelete, Path: "/eligibility/v1/my-payment-link"}, nil)
}
