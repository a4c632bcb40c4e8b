package postbox

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/mynaplat/mynaplat/internal/httpapi"
)

// Routes registers the API: the parties' (Authorization: Bearer <party
// key>) and the owners' (residentRoutes).
//
//	POST /postbox/v1/deliveries      deliver a document into a consenting person's box
//	GET  /postbox/v1/sends/{id}      a send to this party and its delivery log
func (s *Service) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /postbox/v1/deliveries", s.partyOnly(s.serveDeliver))
	mux.HandleFunc("GET /postbox/v1/sends/{id}", s.partyOnly(s.serveSend))
	s.residentRoutes(mux)
}

func (s *Service) partyOnly(h func(http.ResponseWriter, *http.Request, *Party)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		p, err := s.PartyByKey(r.Context(), key)
		if !ok || err != nil {
			if err != nil && !errors.Is(err, ErrBadKey) {
				s.log.ErrorContext(r.Context(), "postbox: party key", "err", err)
			}
			s.writeErr(w, r, fmt.Errorf("%w: %v", ErrBadKey, err))
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
	if err := httpapi.Decode(r.Body, &d, 3*MaxDocument); err != nil {
		s.writeErr(w, r, fmt.Errorf("%w: %w", errBody, err))
		return
	}
	id, err := s.Deliver(r.Context(), p, d)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, DeliveryResult{DocumentID: id})
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
		s.writeErr(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, SendView{ID: sd.ID, Kind: sd.Kind, State: sd.State, Attempts: sd.Attempts, Receipt: sd.Receipt, Log: sd.Log})
}

// writeErr answers an error of the post box through Rules.
func (s *Service) writeErr(w http.ResponseWriter, r *http.Request, err error) {
	Rules.Write(w, r, s.log, err)
}
