package eligibility

import (
	"net/http"

	"github.com/mynaplat/mynaplat/internal/httpapi"
)

// The facility payment API (Authorization: Bearer <facility key>); a
// facility sees and charges only its own checks and payments:
//
//	POST /eligibility/v1/payments               Idempotency-Key; {check_id, amount} → Payment (201; 200 on replay)
//	POST /eligibility/v1/payments/{id}/refunds  Idempotency-Key; {amount} → PaymentRefund (201; 200 on replay)
//	GET  /eligibility/v1/payments/{id}          → Payment
//
// A replayed answer carries Idempotent-Replayed: true. Errors are problems
// (Rules). After a 503 (or no answer at all) the same request may be
// sent again with the same Idempotency-Key: it is charged at most once.
// Answers never contain the card-company token or a card number.

// PaymentRoutes registers the facility payment API.
func (s *Service) PaymentRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /eligibility/v1/payments", s.facilityOnly(s.servePay))
	mux.HandleFunc("POST /eligibility/v1/payments/{id}/refunds", s.facilityOnly(s.serveRefund))
	mux.HandleFunc("GET /eligibility/v1/payments/{id}", s.facilityOnly(s.serveGetPayment))
}

// payIdemKey reads the Idempotency-Key header (a structured-field string or
// a plain token).
func payIdemKey(r *http.Request) string {
	k := r.Header.Get("Idempotency-Key")
	if len(k) >= 2 && k[0] == '"' && k[len(k)-1] == '"' {
		k = k[1 : len(k)-1]
	}
	return k
}

func (s *Service) servePay(w http.ResponseWriter, r *http.Request, facility string) {
	var body struct {
		CheckID string `json:"check_id"`
		Amount  int64  `json:"amount"`
	}
	if err := decode(r, &body); err != nil {
		s.writePayErr(w, r, err)
		return
	}
	p, err := s.Charge(r.Context(), facility, body.CheckID, body.Amount, payIdemKey(r))
	if err != nil {
		s.writePayErr(w, r, err)
		return
	}
	writeReplayable(w, p.Replayed, p)
}

func (s *Service) serveRefund(w http.ResponseWriter, r *http.Request, facility string) {
	var body struct {
		Amount int64 `json:"amount"`
	}
	if err := decode(r, &body); err != nil {
		s.writePayErr(w, r, err)
		return
	}
	rf, err := s.Refund(r.Context(), facility, r.PathValue("id"), body.Amount, payIdemKey(r))
	if err != nil {
		s.writePayErr(w, r, err)
		return
	}
	writeReplayable(w, rf.Replayed, rf)
}

func (s *Service) serveGetPayment(w http.ResponseWriter, r *http.Request, facility string) {
	p, err := s.Payment(r.Context(), facility, r.PathValue("id"))
	if err != nil {
		s.writePayErr(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, p)
}

func writeReplayable(w http.ResponseWriter, replayed bool, v any) {
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
		httpapi.WriteJSON(w, http.StatusOK, v)
		return
	}
	httpapi.WriteJSON(w, http.StatusCreated, v)
}

func (s *Service) writePayErr(w http.ResponseWriter, r *http.Request, err error) {
	if p := Rules.Problem(err); p.Status < 500 {
		s.logger.InfoContext(r.Context(), "payment refused", "code", p.Code)
	}
	Rules.Write(w, r, s.logger, err)
}
