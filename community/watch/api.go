package watch

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/mynaplat/mynaplat/community/tvlogin"
	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/internal/refusal"
)

// The health centre's API for the TV portal (docs/community-tv.md §5.4):
//
//	GET  /watch/v1/today    the person's day: watched, answered, flagged (bearer: their card login at the TV)
//	POST /watch/v1/inputs   today's answer {"feeling":1–3,"bp":1–3,"choice":1–3} (same bearer)
//
// The bearer is the platform's assertion of a card login made at a TV
// terminal, for no other purpose, as at the CATV operators' API: the
// person is its subject, the box its terminal.

// ErrAssertion is tvlogin's: the bearer is not a card login at a TV.
var ErrAssertion = tvlogin.ErrAssertion

var errBody = errors.New("watch: the answer is not JSON")

// The API's problem codes besides the refusals' (whose code is the Reason).
const (
	CodeLogin                   = tvlogin.CodeLogin
	CodeBadRequest httpapi.Code = "bad_request"
)

// Rules answers the API's errors. A *Refusal is answered by itself.
var Rules = httpapi.Rules{
	tvlogin.Rule(),
	{Err: errBody, Status: http.StatusBadRequest, Code: CodeBadRequest,
		JA: "答えの形式が正しくありません。", EN: "The answer is malformed."},
	httpapi.InternalRule("内部エラーが発生しました。しばらくしてからもう一度お試しください。", "An internal error occurred. Try again later."),
}

// APIConfig is what the API needs to believe a card login at a TV: the
// community services' one check (community/tvlogin).
type APIConfig = tvlogin.Config

// Routes registers the API.
func (s *Service) Routes(mux *http.ServeMux, cfg APIConfig) {
	mux.HandleFunc("GET /watch/v1/today", cfg.Handler(s.now, s.writeErr, func(w http.ResponseWriter, r *http.Request, v tvlogin.Viewer) {
		t, err := s.Today(r.Context(), v.PlatformID, v.Terminal)
		s.answer(w, r, t, err)
	}))
	mux.HandleFunc("POST /watch/v1/inputs", cfg.Handler(s.now, s.writeErr, func(w http.ResponseWriter, r *http.Request, v tvlogin.Viewer) {
		var a Answer
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&a); err != nil {
			s.writeErr(w, r, errBody)
			return
		}
		t, err := s.Input(r.Context(), v.PlatformID, v.Terminal, a)
		s.answer(w, r, t, err)
	}))
}

func (s *Service) answer(w http.ResponseWriter, r *http.Request, t Today, err error) {
	refusal.Answer[Reason](w, r, Rules, s.logger, t, err)
}

func (s *Service) writeErr(w http.ResponseWriter, r *http.Request, err error) {
	refusal.Write[Reason](w, r, Rules, s.logger, err)
}

// Client is the typed client of the API: the TV portal asks and answers
// with the person's card login. Refusals come back as *Refusal.
type Client struct {
	BaseURL string
	// HTTP sends the calls (httpapi.NewHTTPClient); nil is httpapi's
	// default, with its timeout.
	HTTP *http.Client
}

// ErrUnavailable is httpapi's: the health centre did not answer.
var ErrUnavailable = httpapi.ErrUnavailable

func (c *Client) do(ctx context.Context, rq httpapi.Request, out any) error {
	return refusal.Call[Reason](ctx, &httpapi.Client{Service: "watch", BaseURL: c.BaseURL, HTTP: c.HTTP, Rules: Rules, MaxBody: 64 << 10}, rq, out)
}

// Today is the person's day.
func (c *Client) Today(ctx context.Context, assertion string) (Today, error) {
	var t Today
	err := c.do(ctx, httpapi.Request{Method: http.MethodGet, Path: "/watch/v1/today",
		Header: tvlogin.Header(assertion)}, &t)
	return t, err
}

// Input sends today's answer; sending it again replaces it, so it is
// retried.
func (c *Client) Input(ctx context.Context, assertion string, a Answer) (Today, error) {
	var t Today
	err := c.do(ctx, httpapi.Request{Method: http.MethodPost, Path: "/watch/v1/inputs", JSON: a,
		Header: tvlogin.Header(assertion), Idempotent: true}, &t)
	return t, err
}
