package catv

import (
	"context"
	"net/http"
	"strconv"

	"github.com/mynaplat/mynaplat/community/tvlogin"
	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/internal/refusal"
)

// Client is the typed client of the operators' API: the TV portal reads
// the person's messages with it, with their card login's assertion.
// Refusals come back as *Refusal, the other errors as the sentinels of
// Rules.
type Client struct {
	BaseURL string
	// HTTP sends the calls (httpapi.NewHTTPClient); nil is httpapi's
	// default, with its timeout.
	HTTP *http.Client
}

// ErrUnavailable is httpapi's: the operator did not answer.
var ErrUnavailable = httpapi.ErrUnavailable

const maxAnswer = 1 << 20

func (c *Client) do(ctx context.Context, rq httpapi.Request, out any) error {
	return refusal.Call[Reason](ctx, &httpapi.Client{Service: "catv", BaseURL: c.BaseURL, HTTP: c.HTTP, Rules: Rules, MaxBody: maxAnswer}, rq, out)
}

// Inbox are the messages of the person whose card login at the TV the
// assertion is, the unread first.
func (c *Client) Inbox(ctx context.Context, assertion string) ([]Message, error) {
	var out []Message
	if err := c.do(ctx, httpapi.Request{Method: http.MethodGet, Path: "/catv/v1/messages",
		Header: tvlogin.Header(assertion)}, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Read opens one of the person's messages, marking it read (once).
func (c *Client) Read(ctx context.Context, assertion string, id int64) (Message, error) {
	var m Message
	err := c.do(ctx, httpapi.Request{Method: http.MethodPost, Path: "/catv/v1/messages/" + strconv.FormatInt(id, 10) + "/read",
		Header: tvlogin.Header(assertion), Idempotent: true}, &m)
	return m, err
}

// PowerOn records that the box powered on with the person's login.
func (c *Client) PowerOn(ctx context.Context, assertion string) error {
	return c.do(ctx, httpapi.Request{Method: http.MethodPost, Path: "/catv/v1/poweron",
		Header: tvlogin.Header(assertion)}, nil)
}
