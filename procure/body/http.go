package body

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/internal/ratelimit"
	"github.com/mynaplat/mynaplat/procure"
)

// The bodies' API (docs/procurement.md §5.5, §6):
//
//	GET  /bodies/{body}/ca.crt                         the body's receipt CA (DER)
//	GET  /bodies/{body}/v1/tenders                     its tenders (JSON)
//	GET  /bodies/{body}/v1/tenders/{tender}            one, with its opening certificate: for the company desk
//	POST /bodies/{body}/v1/tenders/{tender}/bids       {corporate_number, envelope} → 201 {bid_id, received_at, receipt}
//
// The bid intake is public like a mailbox (the bidder's identity is the
// signature inside, checked at the opening), limited per address.

// The API's problem codes besides the refusals' (whose code is the Reason).
const (
	CodeBadRequest httpapi.Code = "bad_request"
	CodeNotFound   httpapi.Code = "not_found"
	CodeNoBody     httpapi.Code = "no_body"
	CodeLogin      httpapi.Code = "login"
)

// refusalStatus is the status of a refusal.
const refusalStatus = http.StatusUnprocessableEntity

var errBody = fmt.Errorf("%w: the body is not {\"corporate_number\": …, \"envelope\": …}", ErrInvalid)

// Rules answers the bodies' errors on the API; a *Refusal is answered by
// itself with its reason as the code.
var Rules = httpapi.Rules{
	ratelimit.Rule,
	{Err: procure.ErrAssertion, Status: http.StatusUnauthorized, Code: CodeLogin,
		JA: "カードでのログインを確認できません。もう一度ログインしてください。", EN: "The card login could not be verified: log in again."},
	{Err: ErrNoBody, Status: http.StatusNotFound, Code: CodeNoBody,
		JA: "その調達機関はありません。", EN: "No such procuring body."},
	{Err: ErrNotFound, Status: http.StatusNotFound, Code: CodeNotFound,
		JA: "その案件はありません。", EN: "No such tender."},
	{Err: ErrInvalid, Status: http.StatusBadRequest, Code: CodeBadRequest, Detail: true,
		JA: "要求の形式が正しくありません。", EN: "The request is malformed."},
	httpapi.InternalRule("内部エラーが発生しました。入札書は受け付けていません。しばらくしてからもう一度お送りください。",
		"An internal error occurred; the bid was not received. Send it again later."),
}

// APIConfig is how the API limits senders.
type APIConfig struct {
	// BidLimit bounds the bids one address may send; the zero Limit
	// limits nothing (tests).
	BidLimit ratelimit.Limit
	// Login believes the agent's card login for the contract API: the
	// register's own check (procure.APIConfig.Agent), the assertion as
	// bearer. Without its Keys every contract call is refused.
	Login procure.APIConfig
}

// DefaultBidLimit lets one address send 30 bids at once, then one every
// two seconds: an office sending for several businesses in the last
// minute gets through, a flood does not.
func DefaultBidLimit() ratelimit.Limit { return ratelimit.Limit{Burst: 30, Every: 2 * time.Second} }

// BidBody is the body of POST …/bids.
type BidBody struct {
	CorporateNumber string `json:"corporate_number"`
	// Envelope is the sealed bid, DER CMS EnvelopedData in standard base64.
	Envelope string `json:"envelope"`
}

// ReceiptJSON is the answer to a bid received.
type ReceiptJSON struct {
	BidID      string    `json:"bid_id"`
	ReceivedAt time.Time `json:"received_at"`
	// Receipt is the CMS SignedData in standard base64.
	Receipt  string `json:"receipt"`
	Replaced string `json:"replaced,omitempty"`
}

// maxBidBody bounds the request: the envelope in base64 and the number.
const maxBidBody = MaxEnvelope*4/3 + 1024

type api struct {
	s     *Service
	lim   *ratelimit.Limiter
	login procure.APIConfig
}

// Routes registers the API.
func (s *Service) Routes(mux *http.ServeMux, cfg APIConfig) {
	a := &api{s: s, lim: ratelimit.New(cfg.BidLimit, ratelimit.Options{Now: s.now}), login: cfg.Login}
	mux.HandleFunc("GET /bodies/{body}/ca.crt", a.ca)
	mux.HandleFunc("GET /bodies/{body}/v1/tenders", a.tenders)
	mux.HandleFunc("GET /bodies/{body}/v1/tenders/{tender}", a.tender)
	mux.HandleFunc(bidPattern, a.bid)
	a.contractRoutes(mux)
}

const bidPattern = "POST /bodies/{body}/v1/tenders/{tender}/bids"

func (s *Service) writeErr(w http.ResponseWriter, r *http.Request, err error) {
	if ref, ok := errors.AsType[*Refusal](err); ok {
		status := refusalStatus
		switch ref.Reason {
		case ReasonTooLarge:
			status = http.StatusRequestEntityTooLarge
		case ReasonNoTender:
			status = http.StatusNotFound
		}
		httpapi.Write(w, httpapi.New(status, httpapi.Code(ref.Reason), ref.MessageJA, ref.MessageEN))
		return
	}
	Rules.Write(w, r, s.logger, err)
}

func (a *api) ca(w http.ResponseWriter, r *http.Request) {
	c, err := a.s.CA(r.PathValue("body"))
	if err != nil {
		a.s.writeErr(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/pkix-cert")
	w.Write(c.Raw)
}

func (a *api) tenders(w http.ResponseWriter, r *http.Request) {
	ts, err := a.s.Tenders(r.Context(), r.PathValue("body"))
	if err != nil {
		a.s.writeErr(w, r, err)
		return
	}
	if ts == nil {
		ts = []*Tender{}
	}
	httpapi.WriteJSON(w, http.StatusOK, ts)
}

func (a *api) tender(w http.ResponseWriter, r *http.Request) {
	t, err := a.s.Tender(r.Context(), r.PathValue("body"), r.PathValue("tender"))
	if err != nil {
		a.s.writeErr(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, t)
}

func (a *api) bid(w http.ResponseWriter, r *http.Request) {
	from := ratelimit.Source(r)
	if wait, ok := a.lim.Allow(from, 1); !ok {
		a.s.writeErr(w, r, ratelimit.Refuse(wait))
		return
	}
	body, tender := r.PathValue("body"), r.PathValue("tender")
	if _, err := a.s.body(body); err != nil {
		a.s.writeErr(w, r, err)
		return
	}
	var in BidBody
	err := httpapi.Decode(http.MaxBytesReader(w, r.Body, maxBidBody), &in, maxBidBody)
	if _, big := errors.AsType[*http.MaxBytesError](err); big {
		a.s.writeErr(w, r, a.s.refused(r.Context(), body, "bidder:"+from, "bid", tender, refuse(ReasonTooLarge, "request body")))
		return
	}
	if err != nil {
		a.s.writeErr(w, r, fmt.Errorf("%w: %w", errBody, err))
		return
	}
	env, err := base64.StdEncoding.DecodeString(in.Envelope)
	if err != nil || len(env) == 0 {
		a.s.writeErr(w, r, a.s.refused(r.Context(), body, "bidder:"+from, "bid", tender, refuse(ReasonBadEnvelope, "not base64")))
		return
	}
	rc, err := a.s.Submit(r.Context(), body, tender, in.CorporateNumber, env, from)
	if err != nil {
		a.s.writeErr(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusCreated, ReceiptJSON{BidID: rc.BidID, ReceivedAt: rc.ReceivedAt,
		Receipt: base64.StdEncoding.EncodeToString(rc.Receipt), Replaced: rc.Replaced})
}
