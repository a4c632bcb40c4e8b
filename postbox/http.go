package postbox

import (
	"errors"
	"net/http"
	"strings"

	"github.com/mynaplat/mynaplat/internal/apijson"
)

// API routes, for the parties (Authorization: Bearer <party key>):
//
//	POST /postbox/v1/deliveries      deliver a document into a consenting person's box
//	GET  /postbox/v1/sends/{id}      a send to this party and its delivery log
func (s *Service) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /postbox/v1/deliveries", s.partyOnly(s.serveDeliver))
	mux.HandleFunc("GET /postbox/v1/sends/{id}", s.partyOnly(s.serveSend))
}

func (s *Service) partyOnly(h func(http.ResponseWriter, *http.Request, *Party)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		p, err := s.PartyByKey(r.Context(), key)
		if !ok || err != nil {
			if err != nil && !errors.Is(err, ErrBadKey) {
				s.log.Error("postbox: party key", "err", err)
			}
			apijson.WriteProblem(w, http.StatusUnauthorized, "bad_key",
				"事業者の認証に失敗しました。", "The party key is not valid.")
			return
		}
		h(w, r, p)
	}
}

// DeliveryResult is the answer to a delivery.
type DeliveryResult struct {
	DocumentID string `json:"document_id"`
}

func (s *Service) serveDeliver(w http.ResponseWriter, r *http.Request, p *Party) {
	var d Delivery
	if err := apijson.Decode(r.Body, &d, 3*MaxDocument); err != nil {
		apijson.WriteProblem(w, http.StatusBadRequest, "bad_body", "リクエストの形式が正しくありません。", "The request body is malformed: "+err.Error())
		return
	}
	id, err := s.Deliver(r.Context(), p, d)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	apijson.Write(w, http.StatusOK, DeliveryResult{DocumentID: id})
}

// SendView is a send as its receiver sees it.
type SendView struct {
	ID       string     `json:"id"`
	Kind     string     `json:"kind"`
	State    string     `json:"state"`
	Attempts int        `json:"attempts"`
	Receipt  string     `json:"receipt,omitempty"`
	Log      []LogEntry `json:"log"`
}

func (s *Service) serveSend(w http.ResponseWriter, r *http.Request, p *Party) {
	sd, err := s.SendFor(r.Context(), p, r.PathValue("id"))
	if err != nil {
		s.writeErr(w, err)
		return
	}
	apijson.Write(w, http.StatusOK, SendView{ID: sd.ID, Kind: sd.Kind, State: sd.State, Attempts: sd.Attempts, Receipt: sd.Receipt, Log: sd.Log})
}

// writeErr maps the post box's errors to API answers.
func (s *Service) writeErr(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrInvalid):
		apijson.WriteProblem(w, http.StatusBadRequest, "invalid", "リクエストの内容が正しくありません。", err.Error())
	case errors.Is(err, ErrNoConsent):
		// The same answer whether or not the number exists anywhere: a
		// party learns nothing about who has a box.
		apijson.WriteProblem(w, http.StatusNotFound, "no_recipient",
			"このお客さま番号で受け取りに同意した私書箱はありません。",
			"No post box has consented to deliveries under this customer number.")
	case errors.Is(err, ErrDuplicate):
		apijson.WriteProblem(w, http.StatusConflict, "delivery_id_reused",
			"この配達IDは、別のお客さまへの配達にすでに使われています。",
			"This delivery_id was already used for a delivery to another customer.")
	case errors.Is(err, ErrRole):
		apijson.WriteProblem(w, http.StatusForbidden, "not_allowed", "この操作は契約に含まれていません。", "Your agreement does not cover this.")
	case errors.Is(err, ErrNotFound):
		apijson.WriteProblem(w, http.StatusNotFound, "not_found", "見つかりません。", "Not found.")
	default:
		s.log.Error("postbox: API", "err", err)
		apijson.WriteProblem(w, http.StatusInternalServerError, "internal", "処理できませんでした。", "The request could not be processed.")
	}
}
