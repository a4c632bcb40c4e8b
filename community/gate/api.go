package gate

import (
	"context"
	"net/http"
	"net/url"

	"github.com/mynaplat/mynaplat/community/tvlogin"
	"github.com/mynaplat/mynaplat/internal/callerkey"
	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/internal/refusal"
)

// A body's API (docs/community-tv.md §5.5), under its own path:
//
//	POST /gate/{body}/v1/touches  {"certificate": DER, "terminal": ID} → Event: a card held to the gate's reader (caller key: the terminals)
//	GET  /gate/{body}/v1/history  → [Child]: the parent's children's events (bearer: the parent's card login at their TV)
//	GET  /gate/{body}/v1/linked   → {"linked": bool}: whether the parent is linked to a child here (same bearer)
//
// The gate terminals' role is a caller with its own key and names the gate
// that read the card: a presence read is no login, so the terminal side
// proves itself, not the child. The history's bearer is the platform's assertion
// of a card login made at a TV for no other purpose (community/tvlogin).

// ErrAssertion is tvlogin's: the bearer is not a card login at a TV.
var ErrAssertion = tvlogin.ErrAssertion

// The API's problem codes besides the refusals' (whose code is the Reason).
const (
	CodeLogin                   = tvlogin.CodeLogin
	CodeBadRequest httpapi.Code = "bad_request"
)

// Rules answers the API's errors. A *Refusal is answered by itself.
var Rules = append(httpapi.Rules{
	tvlogin.Rule(),
	{Err: httpapi.ErrBody, Status: http.StatusBadRequest, Code: CodeBadRequest,
		JA: "要求の形式が正しくありません。", EN: "The request is malformed."},
	httpapi.InternalRule("内部エラーが発生しました。しばらくしてからもう一度お試しください。", "An internal error occurred. Try again later."),
}, callerkey.Rules...)

// APIConfig is what the API needs: the parents' TV logins (tvlogin) and
// the body's gate terminals' keys.
type APIConfig struct {
	Login tvlogin.Config
	Gates callerkey.Keys
}

// TouchRequest is the body of a touch.
type TouchRequest struct {
	Certificate []byte `json:"certificate"`
	Terminal    string `json:"terminal"`
}

// LinkedAnswer is the answer of GET linked.
type LinkedAnswer struct {
	Linked bool `json:"linked"`
}

// APIPath is the body's API root.
func APIPath(body string) string { return "/gate/" + url.PathEscape(body) + "/v1/" }

// Routes registers the body's API.
func (s *Service) Routes(mux *http.ServeMux, cfg APIConfig) {
	root := APIPath(s.body.ID)
	mux.HandleFunc("POST "+root+"touches", cfg.Gates.Only(func(w http.ResponseWriter, r *http.Request, _ string) {
		var req TouchRequest
		var ev Event
		err := httpapi.Decode(r.Body, &req, 64<<10)
		if err == nil && req.Terminal == "" {
			err = httpapi.ErrBody
		}
		if err == nil {
			ev, err = s.Touch(r.Context(), req.Terminal, req.Certificate)
		}
		s.answer(w, r, ev, err)
	}))
	mux.HandleFunc("GET "+root+"linked", cfg.Login.Handler(s.now, s.writeErr, func(w http.ResponseWriter, r *http.Request, v tvlogin.Viewer) {
		linked, err := s.Linked(r.Context(), v.PlatformID)
		s.answer(w, r, LinkedAnswer{Linked: linked}, err)
	}))
	mux.HandleFunc("GET "+root+"history", cfg.Login.Handler(s.now, s.writeErr, func(w http.ResponseWriter, r *http.Request, v tvlogin.Viewer) {
		kids, err := s.History(r.Context(), v.PlatformID, v.Terminal)
		s.answer(w, r, kids, err)
	}))
}

func (s *Service) answer(w http.ResponseWriter, r *http.Request, v any, err error) {
	refusal.Answer[Reason](w, r, Rules, s.logger, v, err)
}

func (s *Service) writeErr(w http.ResponseWriter, r *http.Request, err error) {
	refusal.Write[Reason](w, r, Rules, s.logger, err)
}

// Client is the typed client of one body's API: a gate terminal touches
// (with Key), the TV portal reads a parent's history (with the parent's
// card login). Refusals come back as *Refusal.
type Client struct {
	BaseURL, Body string
	// Key is the terminals' caller key (touches only).
	Key string
	// HTTP sends the calls (httpapi.NewHTTPClient); nil is httpapi's
	// default, with its timeout.
	HTTP *http.Client
}

// ErrUnavailable is httpapi's: the body did not answer.
var ErrUnavailable = httpapi.ErrUnavailable

func (c *Client) do(ctx context.Context, rq httpapi.Request, out any) error {
	return refusal.Call[Reason](ctx, &httpapi.Client{Service: "gate", BaseURL: c.BaseURL, HTTP: c.HTTP, Rules: Rules, MaxBody: 256 << 10}, rq, out)
}

// Touch sends the certificate read from a card at the gate terminal. Not retried:
// a touch answered but lost would be sent again as the next event (the
// debounce makes it the same one within a minute, but a lost answer is
// rare and the child touches again).
func (c *Client) Touch(ctx context.Context, terminal string, der []byte) (Event, error) {
	var ev Event
	err := c.do(ctx, httpapi.Request{Method: http.MethodPost, Path: APIPath(c.Body) + "touches", JSON: TouchRequest{Certificate: der, Terminal: terminal},
		Header: http.Header{"Authorization": {"Bearer " + c.Key}}}, &ev)
	return ev, err
}

// History is the parent's children's events at the body (NotLinked: none
// linked here).
func (c *Client) History(ctx context.Context, assertion string) ([]Child, error) {
	var out []Child
	err := c.do(ctx, httpapi.Request{Method: http.MethodGet, Path: APIPath(c.Body) + "history", Header: tvlogin.Header(assertion), Idempotent: true}, &out)
	return out, err
}

// Linked reports whether the parent is linked to a child at the body.
func (c *Client) Linked(ctx context.Context, assertion string) (bool, error) {
	var a LinkedAnswer
	err := c.do(ctx, httpapi.Request{Method: http.MethodGet, Path: APIPath(c.Body) + "linked", Header: tvlogin.Header(assertion), Idempotent: true}, &a)
	return a.Linked, err
}
