package town

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/mynaplat/mynaplat/community/tvlogin"
	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/internal/refusal"
)

// Client is the typed client of the towns' API: the TV portal calls it
// with the person's card login. Refusals come back as *Refusal, the other
// errors as the sentinels of Rules (ErrAssertion for a login the town no
// longer believes).
type Client struct {
	BaseURL string
	// HTTP sends the calls (httpapi.NewHTTPClient); nil is httpapi's
	// default, with its timeout.
	HTTP *http.Client
}

// ErrUnavailable is httpapi's: the town did not answer.
var ErrUnavailable = httpapi.ErrUnavailable

const maxAnswer = 1 << 20

func (c *Client) do(ctx context.Context, assertion, method, path string, idempotent bool, out any) error {
	return refusal.Call[Reason](ctx, &httpapi.Client{Service: "town", BaseURL: c.BaseURL, HTTP: c.HTTP, Rules: Rules, MaxBody: maxAnswer},
		httpapi.Request{Method: method, Path: path, Header: tvlogin.Header(assertion), Idempotent: idempotent}, out)
}

// Checkups are the person's checkups by year, the newest first.
func (c *Client) Checkups(ctx context.Context, assertion string) (Checkups, error) {
	var out Checkups
	err := c.do(ctx, assertion, http.MethodGet, "/town/v1/checkups", true, &out)
	return out, err
}

// Facilities are the person's town's facilities and their slots to come.
func (c *Client) Facilities(ctx context.Context, assertion string) (Facilities, error) {
	var out Facilities
	err := c.do(ctx, assertion, http.MethodGet, "/town/v1/facilities", true, &out)
	return out, err
}

// Bookings are the person's live bookings, the soonest first.
func (c *Client) Bookings(ctx context.Context, assertion string) ([]Booking, error) {
	var out []Booking
	err := c.do(ctx, assertion, http.MethodGet, "/town/v1/bookings", true, &out)
	return out, err
}

// Book books a seat of a slot of town. It is not retried: a second try
// after a lost answer would be AlreadyBooked.
func (c *Client) Book(ctx context.Context, assertion, town string, slot int64) (Booking, error) {
	var out Booking
	err := c.do(ctx, assertion, http.MethodPost, "/town/v1/towns/"+url.PathEscape(town)+"/slots/"+strconv.FormatInt(slot, 10)+"/book", false, &out)
	return out, err
}

// Cancel cancels one of the person's bookings (idempotent).
func (c *Client) Cancel(ctx context.Context, assertion, town string, id int64) (Booking, error) {
	var out Booking
	err := c.do(ctx, assertion, http.MethodPost, "/town/v1/towns/"+url.PathEscape(town)+"/bookings/"+strconv.FormatInt(id, 10)+"/cancel", true, &out)
	return out, err
}
