package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/internal/trace"
)

// DefaultTimeout bounds one call between roles when the caller gives no
// client of its own: long enough for a town's issuance server to render a
// certificate under load, short enough that a kiosk gives up while the
// person still stands there.
const DefaultTimeout = 15 * time.Second

// NewHTTPClient is an HTTP client for calls between roles: a timeout on
// every call, and idle connections kept per host for a role that calls
// another hundreds of times a second.
func NewHTTPClient(timeout time.Duration) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 256
	tr.MaxIdleConnsPerHost = 64
	return &http.Client{Timeout: timeout, Transport: tr}
}

// ErrUnavailable wraps every failure to get an answer: the network, a
// timeout, a 5xx, an answer that cannot be read. A caller may try again
// later; a 4xx problem is not this.
var ErrUnavailable = errors.New("httpapi: the service did not answer")

// Error is a problem answer from another role.
type Error struct {
	Problem
	// Service names the role that answered ("jlis", "platform").
	Service string
	// Err is the sentinel of the callee's rule for the code (Client.Rules),
	// so that a caller matches the same sentinels in process and over HTTP.
	Err error
	// Bare is an answer that was not a problem (a proxy's page, an empty
	// 502): its code was made from the status ("http_502").
	Bare bool
	// Header is the answer's (Retry-After, WWW-Authenticate).
	Header http.Header
}

// Unwrap is the sentinel the code stands for, if any.
func (e *Error) Unwrap() error { return e.Err }

func (e *Error) Error() string {
	return fmt.Sprintf("%s: HTTP %d %s: %s", e.Service, e.Status, e.Code, e.MessageEN)
}

// Is matches the code, and ErrUnavailable for a 5xx.
func (e *Error) Is(target error) bool {
	if target == ErrUnavailable {
		return e.Status >= 500
	}
	return e.Problem.Is(target)
}

// Client is the core of a role's typed client: where the role is, how the
// caller proves who it is, and how calls are sent.
type Client struct {
	// Service names the role called, in errors.
	Service string
	BaseURL string
	// HTTP sends the calls (NewHTTPClient); nil is http.DefaultTransport
	// with DefaultTimeout. A client without a timeout gets DefaultTimeout
	// per call through the context, so no call waits for ever.
	HTTP *http.Client
	// Auth sets the caller's credential on a request with its body
	// (a bearer key, or a signature over the body).
	Auth func(req *http.Request, body []byte)
	// Retries is how many more times an idempotent call is sent after a
	// network error, a gateway's 502/503/504 or a 5xx that asks for it with
	// Retry-After (default 2; -1 never).
	Retries int
	// MaxBody bounds what is read of an answer (default 8 MiB).
	MaxBody int64
	// Rules is the callee's table (the package's Rules): a problem whose
	// code a rule names matches that rule's sentinel too (Error.Err).
	Rules Rules
}

// Bearer is an Auth that sends key as a bearer token.
func Bearer(key string) func(*http.Request, []byte) {
	return func(r *http.Request, _ []byte) { r.Header.Set("Authorization", "Bearer "+key) }
}

// Request is one call.
type Request struct {
	Method, Path string
	// JSON is marshalled as the body; Body is sent as it is with
	// ContentType. At most one of them.
	JSON        any
	Body        []byte
	ContentType string
	Header      http.Header
	// Idempotent allows retries of a POST that the server de-duplicates
	// (an Idempotency-Key, a client-chosen ID). GET, HEAD, PUT and
	// DELETE are idempotent anyway.
	Idempotent bool
	// Answer reports whether a non-2xx answer is the call's answer rather
	// than a problem (an authentication's FAILED report, a time-stamping
	// authority's rejection); Do then returns it as a Response.
	Answer func(status int, h http.Header) bool
}

// Response is a 2xx answer, read whole.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do sends rq and reads the answer. A 2xx is a Response; a problem is an
// *Error; anything else wraps ErrUnavailable (or is the context's error).
func (c *Client) Do(ctx context.Context, rq Request) (*Response, error) {
	body := rq.Body
	ctype := rq.ContentType
	if rq.JSON != nil {
		b, err := json.Marshal(rq.JSON)
		if err != nil {
			return nil, fmt.Errorf("%s: encode request: %w", c.Service, err)
		}
		body, ctype = b, "application/json"
	}
	hc := c.HTTP
	if hc == nil {
		// Over the shared default transport, so connections are reused.
		hc = &http.Client{Timeout: DefaultTimeout}
	}
	if hc.Timeout == 0 {
		if _, ok := ctx.Deadline(); !ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
			defer cancel()
		}
	}
	retries := c.Retries
	switch {
	case retries < 0 || !(rq.Idempotent || idempotentMethod(rq.Method)):
		retries = 0
	case retries == 0:
		retries = 2
	}
	for attempt := 0; ; attempt++ {
		resp, err := c.once(ctx, hc, rq, body, ctype)
		if err == nil || attempt >= retries || !retryable(err) || ctx.Err() != nil {
			return resp, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(backoff(attempt)):
		}
	}
}

func idempotentMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

// retryable is a failure that a second try may not see: the network, a
// gateway's bare 502/503/504, or a 5xx problem that asks to be sent again
// (Retry-After: a request cancelled whole, an internal error after which
// nothing was kept). A problem of the callee's own without it (a 502 "bad
// answer" from behind it, a cancelled job) is its final word and is not
// sent again.
func retryable(err error) bool {
	if e, ok := errors.AsType[*Error](err); ok {
		if e.Status >= 500 && e.Header.Get("Retry-After") != "" {
			return true
		}
		switch e.Status {
		case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return e.Bare
		}
		return false
	}
	return errors.Is(err, ErrUnavailable)
}

// maxBackoff bounds one pause, for a client that retries many times while
// a role restarts.
const maxBackoff = 2 * time.Second

// backoff is 100 ms, 200 ms, 400 ms … up to maxBackoff, each with up to a
// quarter more at random, so that clients that failed together do not all
// come back together.
func backoff(attempt int) time.Duration {
	d := maxBackoff
	if attempt < 5 {
		d = min(100*time.Millisecond<<attempt, maxBackoff)
	}
	return d + rand.N(d/4)
}

func (c *Client) once(ctx context.Context, hc *http.Client, rq Request, body []byte, ctype string) (*Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, rq.Method, strings.TrimRight(c.BaseURL, "/")+rq.Path, rd)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.Service, err)
	}
	for k, v := range rq.Header {
		req.Header[k] = v
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json, "+ContentType)
	}
	trace.Inject(ctx, req.Header)
	if c.Auth != nil {
		c.Auth(req, body)
	}
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w: %s %s: %w", ErrUnavailable, c.Service, rq.Path, ctx.Err())
		}
		return nil, fmt.Errorf("%w: %s %s: %w", ErrUnavailable, c.Service, rq.Path, err)
	}
	defer resp.Body.Close()
	max := c.MaxBody
	if max <= 0 {
		max = 8 << 20
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s %s: read answer: %w", ErrUnavailable, c.Service, rq.Path, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%w: %s %s: answer over %d bytes", ErrUnavailable, c.Service, rq.Path, max)
	}
	if resp.StatusCode/100 == 2 || rq.Answer != nil && rq.Answer(resp.StatusCode, resp.Header) {
		return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
	}
	return nil, c.problem(resp, b)
}

// problem decodes a non-2xx answer. An answer that is not a problem (a
// proxy's HTML page) still becomes an *Error with a code from its status.
func (c *Client) problem(resp *http.Response, b []byte) error {
	e := &Error{Service: c.Service, Header: resp.Header}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt == ContentType || mt == "application/json" {
		json.Unmarshal(b, &e.Problem)
	}
	e.Status = resp.StatusCode
	if e.Code == "" {
		e.Bare = true
		e.Code = Code(fmt.Sprintf("http_%d", resp.StatusCode))
		e.MessageJA = "相手のサービスから想定外の応答がありました（" + resp.Status + "）。"
		e.MessageEN = "Unexpected answer from " + c.Service + ": " + resp.Status
	}
	e.Err = c.Rules.Sentinel(e.Code)
	return e
}

// DoJSON sends rq and decodes a 2xx answer's JSON into out (when not nil).
func (c *Client) DoJSON(ctx context.Context, rq Request, out any) (*Response, error) {
	resp, err := c.Do(ctx, rq)
	if err != nil || out == nil {
		return resp, err
	}
	if err := json.Unmarshal(resp.Body, out); err != nil {
		return resp, fmt.Errorf("%w: %s %s: malformed answer: %w", ErrUnavailable, c.Service, rq.Path, err)
	}
	return resp, nil
}

// IsTimeout reports whether err is a call that ran out of time.
func IsTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
