package town

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/mynaplat/mynaplat/community/tvlogin"
	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/internal/refusal"
)

// The towns' HTTP API for the TV portal (docs/community-tv.md §5.3); the
// bearer of every call is the person's card login at their TV
// (community/tvlogin), and the town is the one the person lives in:
//
//	GET  /town/v1/checkups                            the person's checkups by year
//	GET  /town/v1/facilities                          the town's facilities and their slots to come
//	GET  /town/v1/bookings                            the person's live bookings
//	POST /town/v1/towns/{town}/slots/{id}/book        book a seat of a slot
//	POST /town/v1/towns/{town}/bookings/{id}/cancel   cancel one's booking (idempotent)

// ErrAssertion is tvlogin's: the bearer is not a card login at a TV.
var ErrAssertion = tvlogin.ErrAssertion

// errID is an ID in the path that is not a number.
var errID = errors.New("town: not an ID")

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

// Routes registers the API, believing logins as cfg says.
func (s *Service) Routes(mux *http.ServeMux, cfg tvlogin.Config) {
	mux.HandleFunc("GET /town/v1/checkups", s.withViewer(cfg, func(w http.ResponseWriter, r *http.Request, v tvlogin.Viewer) {
		c, err := s.Checkups(r.Context(), v)
		s.answer(w, r, c, err)
	}))
	mux.HandleFunc("GET /town/v1/facilities", s.withViewer(cfg, func(w http.ResponseWriter, r *http.Request, v tvlogin.Viewer) {
		f, err := s.Facilities(r.Context(), v)
		s.answer(w, r, f, err)
	}))
	mux.HandleFunc("GET /town/v1/bookings", s.withViewer(cfg, func(w http.ResponseWriter, r *http.Request, v tvlogin.Viewer) {
		bs, err := s.Bookings(r.Context(), v)
		s.answer(w, r, append([]Booking{}, bs...), err)
	}))
	mux.HandleFunc("POST /town/v1/towns/{town}/slots/{id}/book", s.withViewer(cfg, func(w http.ResponseWriter, r *http.Request, v tvlogin.Viewer) {
		id, err := pathID(r)
		if err != nil {
			s.writeErr(w, r, err)
			return
		}
		b, err := s.Town(r.PathValue("town")).Book(r.Context(), v, id)
		s.answer(w, r, b, err)
	}))
	mux.HandleFunc("POST /town/v1/towns/{town}/bookings/{id}/cancel", s.withViewer(cfg, func(w http.ResponseWriter, r *http.Request, v tvlogin.Viewer) {
		id, err := pathID(r)
		if err != nil {
			s.writeErr(w, r, err)
			return
		}
		b, err := s.Town(r.PathValue("town")).Cancel(r.Context(), v, id)
		s.answer(w, r, b, err)
	}))
}

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, errID
	}
	return id, nil
}

func (s *Service) withViewer(cfg tvlogin.Config, h func(w http.ResponseWriter, r *http.Request, v tvlogin.Viewer)) http.HandlerFunc {
	return cfg.Handler(s.now, s.writeErr, h)
}

func (s *Service) answer(w http.ResponseWriter, r *http.Request, v any, err error) {
	refusal.Answer[Reason](w, r, Rules, s.logger, v, err)
}

func (s *Service) writeErr(w http.ResponseWriter, r *http.Request, err error) {
	refusal.Write[Reason](w, r, Rules, s.logger, err)
}
