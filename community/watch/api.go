package watch

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/mynaplat/mynaplat/community/tvlogin"
	"github.com/mynaplat/mynaplat/internal/httpapi"
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
	CodeLogin      httpapi.Code = "login"
	CodeBadRequest httpapi.Code = "bad_request"
)

// Rules answers the API's errors. A *Refusal is answered by itself.
var Rules = httpapi.Rules{
	{Err: ErrAssertion, Status: http.StatusUnauthorized, Code: CodeLogin,
		JA: "カードでのログインを確認できません。もう一度カードでログインしてください。", EN: "The card login could not be verified: log in with your card again."},
	{Err: errBody, Status: http.StatusBadRequest, Code: CodeBadRequest,
		JA: "答えの形式が正しくありません。", EN: "The answer is malformed."},
	httpapi.InternalRule("内部エラーが発生しました。しばらくしてからもう一度お試しください。", "An internal error occurred. Try again later."),
}

const refusalStatus = http.StatusUnprocessableEntity

// APIConfig is what the API needs to believe a card login at a TV: the
// community services' one check (community/tvlogin).
type APIConfig = tvlogin.Config

func (s *Service) viewer(cfg APIConfig, r *http.Request) (pid, terminal string, err error) {
	v, err := cfg.Request(r, s.now())
	return v.PlatformID, v.Terminal, err
}

// Routes registers the API.
func (s *Service) Routes(mux *http.ServeMux, cfg APIConfig) {
	mux.HandleFunc("GET /watch/v1/today", func(w http.ResponseWriter, r *http.Request) {
		pid, term, err := s.viewer(cfg, r)
		var t Today
		if err == nil {
			t, err = s.Today(r.Context(), pid, term)
		}
		s.answer(w, r, t, err)
	})
	mux.HandleFunc("POST /watch/v1/inputs", func(w http.ResponseWriter, r *http.Request) {
		pid, term, err := s.viewer(cfg, r)
		var t Today
		if err == nil {
			var a Answer
			if jerr := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&a); jerr != nil {
				err = errBody
			} else {
				t, err = s.Input(r.Context(), pid, term, a)
			}
		}
		s.answer(w, r, t, err)
	})
}

func (s *Service) answer(w http.ResponseWriter, r *http.Request, t Today, err error) {
	if ref, ok := errors.AsType[*Refusal](err); ok {
		ja, en := ref.Reason.Messages()
		httpapi.Write(w, httpapi.New(refusalStatus, httpapi.Code(ref.Reason), ja, en))
		return
	}
	if err != nil {
		Rules.Write(w, r, s.logger, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, t)
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
	api := &httpapi.Client{Service: "watch", BaseURL: c.BaseURL, HTTP: c.HTTP, Rules: Rules, MaxBody: 64 << 10}
	_, err := api.DoJSON(ctx, rq, out)
	if e, ok := errors.AsType[*httpapi.Error](err); ok && e.Status == refusalStatus {
		return &Refusal{Reason: Reason(e.Code)}
	}
	return err
}

// Today is the person's day.
func (c *Client) Today(ctx context.Context, assertion string) (Today, error) {
	var t Today
	err := c.do(ctx, httpapi.Request{Method: http.MethodGet, Path: "/watch/v1/today",
		Header: http.Header{"Authorization": {"Bearer " + assertion}}}, &t)
	return t, err
}

// Input sends today's answer; sending it again replaces it, so it is
// retried.
func (c *Client) Input(ctx context.Context, assertion string, a Answer) (Today, error) {
	var t Today
	err := c.do(ctx, httpapi.Request{Method: http.MethodPost, Path: "/watch/v1/inputs", JSON: a,
		Header: http.Header{"Authorization": {"Bearer " + assertion}}, Idempotent: true}, &t)
	return t, err
}
