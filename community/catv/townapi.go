package catv

import (
	"context"
	"net/http"
	"strings"

	"github.com/mynaplat/mynaplat/internal/callerkey"
	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/internal/refusal"
)

// The operators' machine API for a town's systems (docs/community-tv.md
// §5.2, §5.3), under the town role's caller key:
//
//	POST /catv/v1/town-messages   a message from the town to one person, on their TV at the next power-on
//
// A town system (the booking's reminder) knows the person by platform ID
// and the town by its name, not the person's operator or box: every
// operator serving that town (catv_operators.town) at which the person
// subscribes takes it. The message's Ref makes the post idempotent: a
// sender that posts again after a lost answer sends it once.

// TownMessage is a town's message to one person.
type TownMessage struct {
	// Town is the town's name as its operators know it (須坂市).
	Town       string
	PlatformID string
	TitleJA    string
	TitleEN    string
	BodyJA     string
	BodyEN     string
	// Ref is the town's reference of the message, required: one message
	// per reference and operator.
	Ref string
}

// TownSent is a message an operator took.
type TownSent struct {
	Operator string
	ID       int64
}

// errBody is a request that is not a town message.
var errBody = httpapi.ErrBody

// TownRules answers the machine API's errors besides the refusals.
var TownRules = httpapi.Rules{
	{Err: errBody, Status: http.StatusBadRequest, Code: CodeBadRequest,
		JA: "お知らせの形式が正しくありません。", EN: "The message is not in the expected form."},
	httpapi.InternalRule("内部エラーが発生しました。しばらくしてからもう一度お試しください。", "An internal error occurred. Try again later."),
}

// SendForTown gives m to every operator serving m.Town at which the person
// subscribes. A person who subscribes at none is the NoRecipient refusal,
// with its audit row.
func (s *Service) SendForTown(ctx context.Context, m TownMessage) ([]TownSent, error) {
	if strings.TrimSpace(m.Town) == "" || strings.TrimSpace(m.Ref) == "" || m.PlatformID == "" {
		return nil, s.Operator("").refused(ctx, "", "", "send", 0, ReasonBadMessage)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT o.operator FROM catv_operators o
		JOIN catv_subscribers s ON s.operator = o.operator WHERE o.town = $1 AND s.platform_id = $2 ORDER BY o.operator`, m.Town, m.PlatformID)
	if err != nil {
		return nil, err
	}
	var ops []string
	for rows.Next() {
		var op string
		if err := rows.Scan(&op); err != nil {
			rows.Close()
			return nil, err
		}
		ops = append(ops, op)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(ops) == 0 {
		return nil, s.Operator("").refused(ctx, "", "", "send", 0, ReasonNoRecipient)
	}
	var out []TownSent
	for _, op := range ops {
		id, err := s.Operator(op).Send(ctx, Message{Sender: m.Town, SenderKind: FromTown, Scope: ToPerson, PlatformID: m.PlatformID,
			TitleJA: m.TitleJA, TitleEN: m.TitleEN, BodyJA: m.BodyJA, BodyEN: m.BodyEN, Ref: m.Ref})
		if err != nil {
			return out, err
		}
		out = append(out, TownSent{Operator: op, ID: id})
	}
	return out, nil
}

// TownRoutes registers the machine API for the callers with a key.
func (s *Service) TownRoutes(mux *http.ServeMux, callers callerkey.Keys) {
	mux.HandleFunc("POST /catv/v1/town-messages", callers.Only(s.townMessage))
}

func (s *Service) townMessage(w http.ResponseWriter, r *http.Request, _ string) {
	var m TownMessage
	if err := httpapi.Decode(r.Body, &m, 64<<10); err != nil {
		TownRules.Write(w, r, s.logger, err)
		return
	}
	sent, err := s.SendForTown(r.Context(), m)
	refusal.Answer[Reason](w, r, TownRules, s.logger, sent, err)
}

// TownClient is a town system's client of the machine API.
type TownClient struct {
	BaseURL string
	// Key is the town role's caller key at the operators.
	Key string
	// HTTP sends the calls (httpapi.NewHTTPClient); nil is httpapi's
	// default, with its timeout.
	HTTP *http.Client
}

// Send gives the message to the person's operators; it is idempotent by
// m.Ref, so it is retried.
func (c *TownClient) Send(ctx context.Context, m TownMessage) ([]TownSent, error) {
	api := &httpapi.Client{Service: "catv", BaseURL: c.BaseURL, HTTP: c.HTTP, Rules: TownRules, MaxBody: maxAnswer, Auth: httpapi.Bearer(c.Key)}
	var out []TownSent
	err := refusal.Call[Reason](ctx, api, httpapi.Request{Method: http.MethodPost, Path: "/catv/v1/town-messages", JSON: m, Idempotent: true}, &out)
	return out, err
}
