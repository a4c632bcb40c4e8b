// Package httpapi is the wire between mynaplat's roles: the one error shape
// every API answers with — RFC 9457 problem details (application/problem+json)
// with a stable code and the text in Japanese and English — and the one
// client core every role's typed client is built on (a timeout on every
// call, bounded retries of idempotent calls, the W3C traceparent carried
// on, problems decoded into *Error).
//
// A role defines its refusals once, as a Rules table next to its
// sentinels; its handlers write any error through that table, and its
// client gets the same codes back as errors that match with errors.Is.
package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
)

// ContentType is the media type of a problem (RFC 9457 §3).
const ContentType = "application/problem+json"

// Code is a stable, machine-readable problem code ("job_gone"). A Code is
// an error too, so that a client's caller can match a refusal with
// errors.Is(err, jlis.CodeJobGone) whatever status it came with.
type Code string

func (c Code) Error() string { return string(c) }

// typePrefix makes a problem's type URI from its code (RFC 9457 §3.1.1
// allows a URN; a URN never tempts anyone to fetch it).
const typePrefix = "urn:mynaplat:problem:"

// Problem is the body of every API error: RFC 9457's members, and the code
// and the Japanese and English text as extension members.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Code is the stable code the type URI ends with.
	Code Code `json:"code"`
	// MessageJA and MessageEN are what to show a person.
	MessageJA string `json:"message_ja"`
	MessageEN string `json:"message_en"`
	// Fields carries a problem's own extension members (for example the
	// tries left), kept as raw JSON.
	Fields map[string]json.RawMessage `json:"-"`
}

// New is the problem with status, code and the two texts.
func New(status int, code Code, ja, en string) Problem {
	return Problem{Type: typePrefix + string(code), Title: http.StatusText(status), Status: status,
		Code: code, MessageJA: ja, MessageEN: en, Detail: en}
}

// With is p with an extension member added; v must marshal to JSON.
func (p Problem) With(name string, v any) Problem {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("httpapi: extension %s: %v", name, err))
	}
	f := make(map[string]json.RawMessage, len(p.Fields)+1)
	for k, v := range p.Fields {
		f[k] = v
	}
	f[name] = b
	p.Fields = f
	return p
}

// Field decodes the extension member name into v; false when it is absent
// or of another shape.
func (p Problem) Field(name string, v any) bool {
	b, ok := p.Fields[name]
	return ok && json.Unmarshal(b, v) == nil
}

// MarshalJSON writes the members and the extensions in one object.
func (p Problem) MarshalJSON() ([]byte, error) {
	type plain Problem
	b, err := json.Marshal(plain(p))
	if err != nil || len(p.Fields) == 0 {
		return b, err
	}
	m := map[string]json.RawMessage{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for k, v := range p.Fields {
		if _, taken := m[k]; !taken {
			m[k] = v
		}
	}
	return json.Marshal(m)
}

// UnmarshalJSON reads the members and keeps the rest as extensions.
func (p *Problem) UnmarshalJSON(b []byte) error {
	type plain Problem
	var q plain
	if err := json.Unmarshal(b, &q); err != nil {
		return err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	for _, k := range []string{"type", "title", "status", "detail", "instance", "code", "message_ja", "message_en"} {
		delete(m, k)
	}
	if len(m) > 0 {
		q.Fields = m
	}
	*p = Problem(q)
	if p.Code == "" {
		p.Code = Code(strings.TrimPrefix(p.Type, typePrefix))
	}
	return nil
}

// Error is a problem as a Go error; it carries the problem itself, so a
// refusal can be answered again unchanged (a relay passing a town's
// refusal on).
func (p Problem) Error() string {
	return fmt.Sprintf("%d %s: %s", p.Status, p.Code, p.MessageEN)
}

// Is matches the problem's code.
func (p Problem) Is(target error) bool {
	c, ok := target.(Code)
	return ok && c == p.Code
}

// Write sends p.
func Write(w http.ResponseWriter, p Problem) {
	if p.Status == 0 {
		p.Status = http.StatusInternalServerError
	}
	if p.Type == "" {
		p.Type = typePrefix + string(p.Code)
	}
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	json.NewEncoder(w).Encode(p)
}

// WriteJSON sends v as JSON with status, not cached unless the handler set
// its own Cache-Control (public data such as a JWK set): answers carry
// personal or security state.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if w.Header().Get("Cache-Control") == "" {
		w.Header().Set("Cache-Control", "no-store")
	}
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// A Rule answers the errors that match Err (errors.Is) with one problem.
type Rule struct {
	Err    error
	Status int
	Code   Code
	JA, EN string
	// Detail puts the error's own text into the problem's detail: for a
	// validation error whose text says what is wrong with the request
	// (never for one that may carry internal details).
	Detail bool
	// Header is set on the answer (WWW-Authenticate, Retry-After).
	Header http.Header
}

// HeaderCarrier is an error that carries header fields of its own answer,
// which a rule's fixed Header cannot say (a Retry-After of so many seconds
// from now); Rules.Write sets them.
type HeaderCarrier interface {
	error
	ProblemHeader() http.Header
}

// Rules is a role's table of refusals, checked in order: the one place
// where that role's errors meet HTTP.
type Rules []Rule

// CodeInternal is the code of an error no rule names.
const CodeInternal Code = "internal"

// internal is the answer to an error no rule names, in a table without an
// internal rule of its own.
var internal = Rule{Status: http.StatusInternalServerError, Code: CodeInternal,
	JA: "内部エラーが発生しました。しばらくしてからもう一度お試しください。",
	EN: "An internal error occurred. Please try again later."}

// ErrInternal is the Err of a table's internal rule (InternalRule): the rule
// that answers, in the table's own words, the errors no other rule names.
// A package whose failures still keep a promise says it there ("nothing
// was charged; send it again with the same key"), rather than losing it
// to the generic text. On the client side a 500 internal of such a table
// matches ErrInternal.
var ErrInternal = errors.New("httpapi: an error no rule names")

// InternalRule is a table's internal rule: status 500, code internal, the
// package's own texts.
func InternalRule(ja, en string) Rule {
	return Rule{Err: ErrInternal, Status: http.StatusInternalServerError, Code: CodeInternal, JA: ja, EN: en}
}

// Problem is the answer to err: a Problem inside err (errors.As) as it is,
// else the first rule that matches (another role's answer matches the
// sentinels its client gave it), else another role's 4xx problem answer
// (*Error) as it is, else an internal error in the table's words (its
// InternalRule) or the generic ones.
func (rs Rules) Problem(err error) Problem {
	p, _ := rs.answer(err)
	return p
}

func (rs Rules) answer(err error) (Problem, *Rule) {
	if p, ok := errors.AsType[Problem](err); ok {
		return p, nil
	}
	for i, r := range rs {
		if errors.Is(err, r.Err) {
			p := New(r.Status, r.Code, r.JA, r.EN)
			if r.Detail {
				p.Detail = err.Error()
			}
			return p, &rs[i]
		}
	}
	// Another role's refusal that this role has no word of its own for.
	if e, ok := errors.AsType[*Error](err); ok && e.Status < 500 {
		return e.Problem, nil
	}
	r := rs.internal()
	return New(r.Status, r.Code, r.JA, r.EN), r
}

// internal is the table's internal rule, or the generic one.
func (rs Rules) internal() *Rule {
	for i, r := range rs {
		if r.Err == ErrInternal {
			return &rs[i]
		}
	}
	return &internal
}

// Write answers err through the table; an error no rule names is logged
// (with the request's context, so with its trace) and answered 500
// without its details.
func (rs Rules) Write(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	p, rule := rs.answer(err)
	if p.Status >= 500 && logger != nil {
		logger.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "code", p.Code, "err", err)
	}
	if rule != nil {
		for k, v := range rule.Header {
			w.Header()[k] = v
		}
	}
	if h, ok := errors.AsType[HeaderCarrier](err); ok {
		for k, v := range h.ProblemHeader() {
			w.Header()[k] = v
		}
	}
	Write(w, p)
}

// Check reports what is wrong with the table: a rule without a sentinel,
// a code or a text in both languages, a status that is not an error, or a
// sentinel answered by an earlier rule's code. Each role's tests call it.
func (rs Rules) Check() error {
	var errs []error
	for i, r := range rs {
		switch {
		case r.Err == nil || r.Code == "":
			errs = append(errs, fmt.Errorf("rule %d (%s): no sentinel or no code", i, r.Code))
		case r.Status < 400 || r.Status > 599:
			errs = append(errs, fmt.Errorf("rule %d (%s): status %d is not an error", i, r.Code, r.Status))
		case r.Err == ErrInternal && r.Status < 500:
			errs = append(errs, fmt.Errorf("rule %d (%s): an internal rule answers 5xx, not %d", i, r.Code, r.Status))
		case strings.TrimSpace(r.JA) == "" || strings.TrimSpace(r.EN) == "":
			errs = append(errs, fmt.Errorf("rule %d (%s): a text is missing", i, r.Code))
		}
		if r.Err == nil {
			continue
		}
		if p := rs.Problem(r.Err); p.Code != r.Code || p.Status != r.Status {
			errs = append(errs, fmt.Errorf("rule %d: %v is answered %d %s, want %d %s", i, r.Err, p.Status, p.Code, r.Status, r.Code))
		}
	}
	return errors.Join(errs...)
}

// Sentinel is the sentinel of the first rule with code, or nil.
func (rs Rules) Sentinel(code Code) error {
	for _, r := range rs {
		if r.Code == code {
			return r.Err
		}
	}
	return nil
}

// ErrBody is a request body that is not one JSON object of the expected
// shape.
var ErrBody = errors.New("httpapi: the body is not the expected JSON")

// Decode reads r as exactly one JSON object into v: at most max bytes, no
// unknown fields, nothing after it. Errors wrap ErrBody.
func Decode(r io.Reader, v any, max int64) error {
	dec := json.NewDecoder(io.LimitReader(r, max+1))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %w", ErrBody, err)
	}
	// More is false before a stray ']' or '}', so read on to the end.
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: data after the object", ErrBody)
	}
	return nil
}
