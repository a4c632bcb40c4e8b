package postbox

import (
	"context"
	"net/http"
	"net/url"

	"github.com/mynaplat/mynaplat/internal/httpapi"
)

// Client is a party's client of the post box API.
type Client struct {
	BaseURL string
	// Key is the party's key (AddParty's answer).
	Key string
	// HTTP sends the calls (httpapi.NewHTTPClient); nil is httpapi's
	// default, with its timeout.
	HTTP *http.Client
}

// APIError is the post box's refusal; it matches the post box's codes
// (CodeNoRecipient …) and sentinels with errors.Is.
type APIError = httpapi.Error

func (c *Client) do(ctx context.Context, rq httpapi.Request, out any) error {
	api := &httpapi.Client{Service: "postbox", BaseURL: c.BaseURL, HTTP: c.HTTP, Auth: httpapi.Bearer(c.Key), Rules: Rules, MaxBody: 1 << 20}
	_, err := api.DoJSON(ctx, rq, out)
	return err
}

// Deliver delivers a document into the box that consented under
// d.CustomerRef. The delivery's ID is the party's, so a lost answer is
// sent again.
func (c *Client) Deliver(ctx context.Context, d Delivery) (string, error) {
	var res DeliveryResult
	if err := c.do(ctx, httpapi.Request{Method: http.MethodPost, Path: "/postbox/v1/deliveries", JSON: d, Idempotent: true}, &res); err != nil {
		return "", err
	}
	return res.DocumentID, nil
}

// Send reads a send to this party with its delivery log.
func (c *Client) Send(ctx context.Context, id string) (*SendView, error) {
	var v SendView
	if err := c.do(ctx, httpapi.Request{Method: http.MethodGet, Path: "/postbox/v1/sends/" + id}, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// BoxClient is the owner's terminal's client of the resident API: the
// pages of package mybox reach the box through it only. Reads and the
// calls the post box de-duplicates (a send under its client ID, a consent,
// a withdrawal) are sent again after a network failure; opening a session
// is not.
type BoxClient struct {
	BaseURL string
	// Token is a box session token (OpenSession's) or the platform's
	// assertion of the owner.
	Token string
	// HTTP sends the calls (httpapi.NewHTTPClient); nil is httpapi's
	// default, with its timeout.
	HTTP *http.Client
}

// maxAnswer bounds a resident API answer: a document with its power of
// attorney, in base64, and its report.
const maxAnswer = 4 * MaxDocument

func (c *BoxClient) do(ctx context.Context, rq httpapi.Request, out any) error {
	api := &httpapi.Client{Service: "postbox", BaseURL: c.BaseURL, HTTP: c.HTTP, Auth: httpapi.Bearer(c.Token), Rules: Rules, MaxBody: maxAnswer}
	_, err := api.DoJSON(ctx, rq, out)
	return err
}

// OpenSession exchanges the platform's assertion of a box's owner for a
// box session (ErrAssertion if the post box does not take it).
func OpenSession(ctx context.Context, hc *http.Client, baseURL, assertion string) (*Session, error) {
	var ss Session
	c := &BoxClient{BaseURL: baseURL, Token: assertion, HTTP: hc}
	if err := c.do(ctx, httpapi.Request{Method: http.MethodPost, Path: "/postbox/v1/sessions"}, &ss); err != nil {
		return nil, err
	}
	return &ss, nil
}

// EndSession ends the client's box session.
func (c *BoxClient) EndSession(ctx context.Context) error {
	return c.do(ctx, httpapi.Request{Method: http.MethodDelete, Path: "/postbox/v1/session"}, nil)
}

// Box reads the box: documents, change notices, sends, consents, parties.
func (c *BoxClient) Box(ctx context.Context) (*BoxView, error) {
	var v BoxView
	if err := c.do(ctx, httpapi.Request{Method: http.MethodGet, Path: "/postbox/v1/box"}, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// Parties reads the parties, by ID.
func (c *BoxClient) Parties(ctx context.Context) ([]*Party, error) {
	var v PartiesView
	if err := c.do(ctx, httpapi.Request{Method: http.MethodGet, Path: "/postbox/v1/box/parties"}, &v); err != nil {
		return nil, err
	}
	return v.Parties, nil
}

// Document reads a document of the box with the check of its signature.
func (c *BoxClient) Document(ctx context.Context, id string) (*DocumentView, error) {
	var v DocumentView
	if err := c.do(ctx, httpapi.Request{Method: http.MethodGet, Path: "/postbox/v1/box/documents/" + url.PathEscape(id)}, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// Compose reads what an application is written from.
func (c *BoxClient) Compose(ctx context.Context) (*ComposeView, error) {
	var v ComposeView
	if err := c.do(ctx, httpapi.Request{Method: http.MethodGet, Path: "/postbox/v1/box/compose"}, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// NewClientID is a fresh client ID for a send.
func NewClientID() string { return newID("c") }

// Submit sends a signed application with documents of the box. A request
// without a client ID gets one, so that a retry sends once.
func (c *BoxClient) Submit(ctx context.Context, q SubmitRequest) (*Send, error) {
	if q.ClientID == "" {
		q.ClientID = NewClientID()
	}
	var sd Send
	if err := c.do(ctx, httpapi.Request{Method: http.MethodPost, Path: "/postbox/v1/box/submissions", JSON: q, Idempotent: true}, &sd); err != nil {
		return nil, err
	}
	return &sd, nil
}

// Consents reads the consents and the parties.
func (c *BoxClient) Consents(ctx context.Context) (*ConsentsView, error) {
	var v ConsentsView
	if err := c.do(ctx, httpapi.Request{Method: http.MethodGet, Path: "/postbox/v1/box/consents"}, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// Consent records a signed consent.
func (c *BoxClient) Consent(ctx context.Context, q ConsentRequest) error {
	return c.do(ctx, httpapi.Request{Method: http.MethodPost, Path: "/postbox/v1/box/consents", JSON: q, Idempotent: true}, nil)
}

// Withdraw withdraws the consent to a party.
func (c *BoxClient) Withdraw(ctx context.Context, partyID string) error {
	return c.do(ctx, httpapi.Request{Method: http.MethodDelete, Path: "/postbox/v1/box/consents/" + url.PathEscape(partyID)}, nil)
}

// Notice reads a change notice with the businesses one may tell.
func (c *BoxClient) Notice(ctx context.Context, id string) (*NoticeView, error) {
	var v NoticeView
	if err := c.do(ctx, httpapi.Request{Method: http.MethodGet, Path: "/postbox/v1/box/notices/" + url.PathEscape(id)}, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// Notify answers a change notice with signed address notices. A request
// without a client ID gets one, so that a retry sends once.
func (c *BoxClient) Notify(ctx context.Context, noticeID string, q NotifyRequest) ([]*Send, error) {
	if q.ClientID == "" {
		q.ClientID = NewClientID()
	}
	var v SendsView
	if err := c.do(ctx, httpapi.Request{Method: http.MethodPost, Path: "/postbox/v1/box/notices/" + url.PathEscape(noticeID) + "/sends",
		JSON: q, Idempotent: true}, &v); err != nil {
		return nil, err
	}
	return v.Sends, nil
}

// Audit reads the box's audit trail, newest first.
func (c *BoxClient) Audit(ctx context.Context) ([]AuditEntry, error) {
	var v AuditView
	if err := c.do(ctx, httpapi.Request{Method: http.MethodGet, Path: "/postbox/v1/box/audit"}, &v); err != nil {
		return nil, err
	}
	return v.Entries, nil
}
