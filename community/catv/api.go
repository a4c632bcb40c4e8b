package catv

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/mynaplat/mynaplat/community/tvlogin"
	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/internal/refusal"
	"github.com/mynaplat/mynaplat/store"
)

// The operators' HTTP API for the TV portal (docs/community-tv.md §5.2):
//
//	GET  /catv/v1/messages            the person's messages, unread first (bearer: their card login at the TV)
//	POST /catv/v1/messages/{id}/read  open one: marks it read once, answers it (same bearer)
//	POST /catv/v1/poweron             the box powered on with the person's login: a sign of life (same bearer)
//
// The bearer is the platform's assertion of a card login made at a TV
// terminal, for no other purpose; the TV is the one the assertion names,
// so a login at one box never reads another box's subscriber. The
// operator is the one whose subscriber that box is: a set-top box is its
// operator's equipment.

// ErrAssertion is a bearer that is not the platform's assertion of a card
// login at a TV (tvlogin's, shared with the towns' API).
var ErrAssertion = tvlogin.ErrAssertion

// errID is a message ID that is not a number.
var errID = errors.New("catv: not a message ID")

// The API's problem codes besides the refusals' (whose code is the Reason).
const (
	CodeLogin                   = tvlogin.CodeLogin
	CodeBadRequest httpapi.Code = "bad_request"
)

// Rules answers the API's errors. A *Refusal is answered by itself, with
// its reason as the code.
var Rules = httpapi.Rules{
	tvlogin.Rule(),
	{Err: errID, Status: http.StatusBadRequest, Code: CodeBadRequest,
		JA: "お知らせの番号が正しくありません。", EN: "The message number is malformed."},
	httpapi.InternalRule("内部エラーが発生しました。しばらくしてからもう一度お試しください。", "An internal error occurred. Try again later."),
}

// Service is the operators one role hosts, over one database: each
// operator's rows stay its own (keyed by operator).
type Service struct {
	db     *store.DB
	now    func() time.Time
	logger *slog.Logger
}

// NewService migrates the tables and returns the service.
func NewService(ctx context.Context, db *store.DB, now func() time.Time, logger *slog.Logger) (*Service, error) {
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if db == nil {
		return nil, errors.New("catv: no database")
	}
	if err := migrate(ctx, db); err != nil {
		return nil, err
	}
	return &Service{db: db, now: now, logger: logger}, nil
}

// Operator is the operator id of the service.
func (s *Service) Operator(id string) *Operator { return &Operator{db: s.db, id: id, now: s.now} }

// operatorOf is the operator whose subscribers' box terminal is, or the
// NotSubscriber refusal (its audit row under no operator).
func (s *Service) operatorOf(ctx context.Context, platformID, terminal, action string, id int64) (*Operator, error) {
	var op string
	err := s.db.QueryRowContext(ctx, `SELECT operator FROM catv_subscribers WHERE terminal = $1 ORDER BY operator LIMIT 1`, terminal).Scan(&op)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, s.Operator("").refused(ctx, platformID, terminal, action, id, ReasonNotSubscriber)
	}
	if err != nil {
		return nil, err
	}
	return s.Operator(op), nil
}

// APIConfig is what the API needs to believe a card login at a TV: the
// platform's assertion keys and issuer.
type APIConfig = tvlogin.Config

// viewer is the person and the TV of a verified login.
type viewer = tvlogin.Viewer

// Routes registers the API, believing logins as cfg says (without Keys it
// refuses every login).
func (s *Service) Routes(mux *http.ServeMux, cfg APIConfig) {
	mux.HandleFunc("GET /catv/v1/messages", s.withViewer(cfg, s.inbox))
	mux.HandleFunc("POST /catv/v1/messages/{id}/read", s.withViewer(cfg, s.read))
	mux.HandleFunc("POST /catv/v1/poweron", s.withViewer(cfg, s.powerOn))
}

func (s *Service) writeErr(w http.ResponseWriter, r *http.Request, err error) {
	refusal.Write[Reason](w, r, Rules, s.logger, err)
}

func (s *Service) withViewer(cfg APIConfig, h func(w http.ResponseWriter, r *http.Request, v viewer)) http.HandlerFunc {
	return cfg.Handler(s.now, s.writeErr, h)
}

func (s *Service) inbox(w http.ResponseWriter, r *http.Request, v viewer) {
	o, err := s.operatorOf(r.Context(), v.PlatformID, v.Terminal, "inbox", 0)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	ms, err := o.Inbox(r.Context(), v.PlatformID, v.Terminal)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, append([]Message{}, ms...))
}

func (s *Service) read(w http.ResponseWriter, r *http.Request, v viewer) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.writeErr(w, r, errID)
		return
	}
	o, err := s.operatorOf(r.Context(), v.PlatformID, v.Terminal, "read", id)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	m, err := o.Read(r.Context(), v.PlatformID, v.Terminal, id)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, m)
}

func (s *Service) powerOn(w http.ResponseWriter, r *http.Request, v viewer) {
	o, err := s.operatorOf(r.Context(), v.PlatformID, v.Terminal, "poweron", 0)
	if err == nil {
		err = o.PowerOn(r.Context(), v.PlatformID, v.Terminal)
	}
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
