package ratelimit

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/mynaplat/mynaplat/internal/httpapi"
)

// ErrLimited is a try refused by a limit. Every role's Rules table maps it
// to Code, so that its client matches it with errors.Is.
var ErrLimited = errors.New("ratelimit: too many tries")

// Code is the problem code of a refusal: 429 rate_limited.
const Code httpapi.Code = "rate_limited"

// The generic texts of a refusal, for a Rules table (the answer itself
// says the seconds: Refusal).
const (
	TextJA = "試行の回数が多すぎます。しばらくしてからもう一度お試しください。"
	TextEN = "Too many tries. Try again later."
)

// Rule is the Rules entry that every API limited here adds to its table.
var Rule = httpapi.Rule{Err: ErrLimited, Status: http.StatusTooManyRequests, Code: Code, JA: TextJA, EN: TextEN}

// Refusal is a try refused for RetryAfter. It is ErrLimited, and it
// carries its own problem (with the seconds) and Retry-After header, which
// httpapi.Rules.Write answers with.
type Refusal struct {
	RetryAfter time.Duration
}

// Refuse is the refusal for d.
func Refuse(d time.Duration) *Refusal { return &Refusal{RetryAfter: d} }

func (r *Refusal) Error() string {
	return fmt.Sprintf("ratelimit: too many tries, retry after %ds", Seconds(r.RetryAfter))
}

// Unwrap is ErrLimited and the problem to answer.
func (r *Refusal) Unwrap() []error { return []error{ErrLimited, r.Problem()} }

// Problem is the RFC 9457 answer: 429, the code, the seconds in both
// languages, and retry_after (seconds) as an extension member.
func (r *Refusal) Problem() httpapi.Problem {
	ja, en := Texts(r.RetryAfter)
	return httpapi.New(http.StatusTooManyRequests, Code, ja, en).With("retry_after", Seconds(r.RetryAfter))
}

// ProblemHeader is Retry-After in seconds (RFC 9110 §10.2.3).
func (r *Refusal) ProblemHeader() http.Header {
	return http.Header{"Retry-After": {strconv.Itoa(Seconds(r.RetryAfter))}}
}

// Texts say a refusal for d to a person, in Japanese and English.
func Texts(d time.Duration) (ja, en string) {
	n := Seconds(d)
	unit := "seconds"
	if n == 1 {
		unit = "second"
	}
	return fmt.Sprintf("試行の回数が多すぎるため、受け付けを一時停止しています。%d秒後にもう一度お試しください。", n),
		fmt.Sprintf("Too many tries, so tries are paused. Try again in %d %s.", n, unit)
}

// Seconds is d in whole seconds, rounded up and at least 1: a client told
// 0 would come straight back and be refused again.
func Seconds(d time.Duration) int {
	return max(1, int((d+time.Second-1)/time.Second))
}

// After is how long a refusal asks to wait: from a Refusal, or from the
// Retry-After of another role's 429 answer (*httpapi.Error). False when
// err is not a refusal.
func After(err error) (time.Duration, bool) {
	if r, ok := errors.AsType[*Refusal](err); ok {
		return r.RetryAfter, true
	}
	if e, ok := errors.AsType[*httpapi.Error](err); ok && e.Code == Code {
		n, perr := strconv.Atoi(e.Header.Get("Retry-After"))
		if perr != nil || n < 1 {
			var p int
			if e.Field("retry_after", &p) && p > 0 {
				n = p
			} else {
				n = 1
			}
		}
		return time.Duration(n) * time.Second, true
	}
	return 0, false
}

// Source is the address a request came from: RemoteAddr without the port.
// No forwarding header is believed: none of them can be trusted unless a
// proxy in front sets it, and mynaplat is not told of one; behind a proxy
// the limits are the proxy's address's (stricter, never looser).
func Source(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}
