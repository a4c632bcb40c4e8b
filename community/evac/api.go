package evac

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/mynaplat/mynaplat/community/tvlogin"
	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/internal/refusal"
	"github.com/mynaplat/mynaplat/platform"
)

// The disaster office's HTTP API for the TV portal (docs/community-tv.md
// §5.6, §7); the bearer of every call is the person's card login at their
// TV (community/tvlogin), and the area is their household's:
//
//	GET  /evac/v1/notice            the order in force for the household's area (or no_order)
//	POST /evac/v1/orders/{id}/ack   the household acknowledges the order (idempotent)
//	GET  /evac/v1/stream            server-sent events: the area's orders and lifts as they come
//	POST /evac/v1/shelter/touch     a card at a shelter's terminal: check in, or out when in (bearer:
//	                                the card login at that terminal, a shelter's)
//
// The stream's event ids are the event log's sequence numbers: a client
// reconnecting with Last-Event-ID (EventSource does so by itself) is sent
// what it missed from the database; a first connection starts after
// ?after= (the Seq of the notice it showed) or else now.

// ErrAssertion is tvlogin's: the bearer is not a card login at a TV.
var ErrAssertion = tvlogin.ErrAssertion

// errID is an ID in the path that is not a number.
var errID = errors.New("evac: not an ID")

// The API's problem codes besides the refusals' (whose code is the Reason).
const (
	CodeLogin                   = tvlogin.CodeLogin
	CodeBadRequest httpapi.Code = "bad_request"
)

// Rules answers the API's errors; a *Refusal is answered by itself, with
// its reason as the code.
var Rules = httpapi.Rules{
	tvlogin.Rule(),
	{Err: errID, Status: http.StatusBadRequest, Code: CodeBadRequest,
		JA: "番号が正しくありません。", EN: "The number is malformed."},
	httpapi.InternalRule("内部エラーが発生しました。しばらくしてからもう一度お試しください。", "An internal error occurred. Try again later."),
}

// keepAlive is how often an idle stream sends a comment, so that proxies
// keep it open and a dead TV is noticed.
const keepAlive = 25 * time.Second

// NoticeAnswer is the notice with the event log's position it was read at
// (the stream's ?after=).
type NoticeAnswer struct {
	Notice
	Seq int64
}

// Routes registers the API, believing logins as cfg says; hub feeds the
// streams (run it with Hub.Run).
func (s *Service) Routes(mux *http.ServeMux, cfg tvlogin.Config, hub *Hub) {
	mux.HandleFunc("GET /evac/v1/notice", s.withViewer(cfg, func(w http.ResponseWriter, r *http.Request, v Actor) {
		seq, err := s.LastEvent(r.Context())
		if err != nil {
			s.writeErr(w, r, err)
			return
		}
		n, err := s.Notice(r.Context(), v)
		s.answer(w, r, NoticeAnswer{Notice: n, Seq: seq}, err)
	}))
	mux.HandleFunc("POST /evac/v1/orders/{id}/ack", s.withViewer(cfg, func(w http.ResponseWriter, r *http.Request, v Actor) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil || id <= 0 {
			s.writeErr(w, r, errID)
			return
		}
		s.answer(w, r, struct{}{}, s.Ack(r.Context(), v, id))
	}))
	mux.HandleFunc("GET /evac/v1/stream", s.withViewer(cfg, func(w http.ResponseWriter, r *http.Request, v Actor) {
		s.stream(w, r, v, hub)
	}))
	shelter := cfg
	shelter.Kind = platform.Shelter
	mux.HandleFunc("POST /evac/v1/shelter/touch", s.withViewer(shelter, func(w http.ResponseWriter, r *http.Request, v Actor) {
		c, err := s.Touch(r.Context(), v)
		s.answer(w, r, c, err)
	}))
}

func (s *Service) withViewer(cfg tvlogin.Config, h func(w http.ResponseWriter, r *http.Request, v Actor)) http.HandlerFunc {
	return cfg.Handler(s.now, s.writeErr, func(w http.ResponseWriter, r *http.Request, tv tvlogin.Viewer) {
		h(w, r, Actor{ID: tv.PlatformID, Terminal: tv.Terminal})
	})
}

// stream serves the person's area's orders and lifts as server-sent
// events until the client goes or the hub stops.
func (s *Service) stream(w http.ResponseWriter, r *http.Request, v Actor, hub *Hub) {
	ctx := r.Context()
	h, err := s.householdOf(ctx, v.ID)
	if err != nil {
		s.writeErr(w, r, s.refused(ctx, v, "stream", "", err))
		return
	}
	if err := s.audit(ctx, v, "stream", h.Area, "ok"); err != nil {
		s.writeErr(w, r, err)
		return
	}
	want := func(e Event) bool { return e.Kind.ForTV() && e.Area == h.Area }
	// From Last-Event-ID, else ?after=, else now; replayed from the
	// database after the subscription, so nothing falls in between.
	var sent int64
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		sent, err = strconv.ParseInt(id, 10, 64)
	} else if a := r.URL.Query().Get("after"); a != "" {
		sent, err = strconv.ParseInt(a, 10, 64)
	} else {
		sent, err = s.LastEvent(ctx)
	}
	if err != nil {
		s.writeErr(w, r, errID)
		return
	}
	s.serveEvents(w, r, hub, want, sent, true)
}

func (s *Service) answer(w http.ResponseWriter, r *http.Request, v any, err error) {
	refusal.Answer[Reason](w, r, Rules, s.logger, v, err)
}

func (s *Service) writeErr(w http.ResponseWriter, r *http.Request, err error) {
	refusal.Write[Reason](w, r, Rules, s.logger, err)
}
