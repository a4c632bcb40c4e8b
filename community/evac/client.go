package evac

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/community/tvlogin"
	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/internal/refusal"
)

// Client is the typed client of the disaster office's API: the TV portal
// calls it with the person's card login. Refusals come back as *Refusal,
// the other errors as the sentinels of Rules (ErrAssertion for a login the
// office no longer believes).
type Client struct {
	BaseURL string
	// HTTP sends the calls (httpapi.NewHTTPClient); nil is httpapi's
	// default, with its timeout.
	HTTP *http.Client
	// StreamHTTP opens the streams: a client without an overall timeout (a
	// stream lasts as long as the TV is on); nil is one with a 15 s bound
	// on the answer's headers only.
	StreamHTTP *http.Client
}

// ErrUnavailable is httpapi's: the office did not answer.
var ErrUnavailable = httpapi.ErrUnavailable

const maxAnswer = 1 << 20

func (c *Client) do(ctx context.Context, assertion, method, path string, idempotent bool, out any) error {
	return refusal.Call[Reason](ctx, &httpapi.Client{Service: "evac", BaseURL: c.BaseURL, HTTP: c.HTTP, Rules: Rules, MaxBody: maxAnswer},
		httpapi.Request{Method: method, Path: path, Header: tvlogin.Header(assertion), Idempotent: idempotent}, out)
}

// Notice is the order in force for the person's area (ReasonNoOrder when
// none), with the event log's position for Stream's after.
func (c *Client) Notice(ctx context.Context, assertion string) (NoticeAnswer, error) {
	var out NoticeAnswer
	err := c.do(ctx, assertion, http.MethodGet, "/evac/v1/notice", true, &out)
	return out, err
}

// Ack acknowledges the order for the person's household (idempotent).
func (c *Client) Ack(ctx context.Context, assertion string, order int64) error {
	return c.do(ctx, assertion, http.MethodPost, "/evac/v1/orders/"+strconv.FormatInt(order, 10)+"/ack", true, nil)
}

// Touch is a card touched at a shelter's terminal, with the card login
// made there: in, or out when in. Not retried: a second try after a lost
// answer would undo the first.
func (c *Client) Touch(ctx context.Context, assertion string) (CheckIn, error) {
	var out CheckIn
	err := c.do(ctx, assertion, http.MethodPost, "/evac/v1/shelter/touch", false, &out)
	return out, err
}

func (c *Client) streamClient() *http.Client {
	if c.StreamHTTP != nil {
		return c.StreamHTTP
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = httpapi.DefaultTimeout
	return &http.Client{Transport: tr}
}

// Stream follows the person's area's orders and lifts after the event
// after, calling fn for each, until ctx ends, the stream ends or fn fails;
// it returns the last event's sequence (for a reconnect) and why it ended.
// The caller reconnects: Stream itself never retries.
func (c *Client) Stream(ctx context.Context, assertion string, after int64, fn func(Event) error) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(c.BaseURL, "/")+"/evac/v1/stream", nil)
	if err != nil {
		return after, err
	}
	req.Header = tvlogin.Header(assertion)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Last-Event-ID", strconv.FormatInt(after, 10))
	resp, err := c.streamClient().Do(req)
	if err != nil {
		return after, fmt.Errorf("%w: evac stream: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var p httpapi.Problem
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
		json.Unmarshal(b, &p)
		switch {
		case resp.StatusCode == refusal.Status && p.Code != "":
			return after, &Refusal{Reason: Reason(p.Code)}
		case resp.StatusCode == http.StatusUnauthorized:
			return after, ErrAssertion
		}
		return after, fmt.Errorf("%w: evac stream: %s", ErrUnavailable, resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	var data string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if data == "" {
				continue
			}
			var e Event
			if err := json.Unmarshal([]byte(data), &e); err != nil {
				return after, fmt.Errorf("%w: evac stream: malformed event: %w", ErrUnavailable, err)
			}
			data = ""
			after = e.Seq
			if err := fn(e); err != nil {
				return after, err
			}
		case strings.HasPrefix(line, "data:"):
			data += strings.TrimSpace(strings.TrimPrefix(line, "data:"))
		}
	}
	if err := ctx.Err(); err != nil {
		return after, err
	}
	if err := sc.Err(); err != nil {
		return after, fmt.Errorf("%w: evac stream: %w", ErrUnavailable, err)
	}
	return after, fmt.Errorf("%w: evac stream ended", ErrUnavailable)
}

// Reconnect is how long a relay waits before opening a stream again.
const Reconnect = 2 * time.Second
