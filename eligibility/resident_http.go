package eligibility

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/mynaplat/mynaplat/internal/httpapi"
)

// The card holder's payment-link API (Authorization: Bearer <platform
// assertion>, as GET /eligibility/v1/my-checks), for the payment page on
// the holder's phone or a terminal of the hospital (package payenrol):
//
//	GET    /eligibility/v1/my-payment-link  → MyPaymentLink; 404 no_payment_link
//	POST   /eligibility/v1/my-payment-link  PaymentLinkRequest → MyPaymentLink (201; 200, replayed and Idempotent-Replayed when the same signed consent linked it before)
//	DELETE /eligibility/v1/my-payment-link  204; 404 no_payment_link
//
// The platform ID is the assertion's: a holder reads and changes only
// their own link. Every request is audited (elig_pay_audit) with the
// assertion's terminal. Answers never carry the card-company token.

// maxPaymentLinkBody bounds a link request: a JPKI signing certificate of
// about 2 KB and a 2048-bit signature, in base64, with room to spare.
const maxPaymentLinkBody = 16 << 10

// PaymentLinkRequest links a card-company token to the holder's platform
// ID: the consent document as it was shown (ConsentDoc, whose platform ID
// is the assertion's) and the card's signature over its text.
type PaymentLinkRequest struct {
	Token string `json:"token"`
	Last4 string `json:"last4"`
	// ShownAt is when the consent was shown, to the second (ConsentDoc.At).
	ShownAt time.Time `json:"shown_at"`
	// Certificate is the card's signing certificate (DER) and Signature
	// its RSASSA-PKCS1-v1_5 signature over ConsentDoc.Text.
	Certificate []byte `json:"certificate"`
	Signature   []byte `json:"signature"`
}

// Consent is the document of the request, for platformID.
func (q PaymentLinkRequest) Consent(platformID string) ConsentDoc {
	return ConsentDoc{PlatformID: platformID, Token: q.Token, Last4: q.Last4, At: q.ShownAt}
}

// MyPaymentLink is a holder's own payment link as they see it: the card's
// last four digits and when, never the token.
type MyPaymentLink struct {
	ID         string    `json:"id"`
	Last4      string    `json:"last4"`
	CertSerial string    `json:"cert_serial"`
	LinkedAt   time.Time `json:"linked_at"`
	// Replayed is set on the answer to a link sent again: nothing was
	// linked twice.
	Replayed bool `json:"replayed,omitempty"`
}

func myLink(l *PaymentLink) MyPaymentLink {
	return MyPaymentLink{ID: l.ID, Last4: l.Last4, CertSerial: l.CertSerial, LinkedAt: l.LinkedAt, Replayed: l.Replayed}
}

// Errors of the holder's payment-link API only.
var (
	// errMyNoPaymentLink is ErrNoPaymentLink in the holder's words.
	errMyNoPaymentLink = fmt.Errorf("%w (the holder's own)", ErrNoPaymentLink)
	errPayLinkBody     = fmt.Errorf("%w: malformed payment link", ErrInvalid)
)

// ResidentRoutes registers the card holder's payment-link API.
func (s *Service) ResidentRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /eligibility/v1/my-payment-link", s.holderOnly(s.serveMyPaymentLink))
	mux.HandleFunc("POST /eligibility/v1/my-payment-link", s.holderOnly(s.serveLinkPayment))
	mux.HandleFunc("DELETE /eligibility/v1/my-payment-link", s.holderOnly(s.serveUnlinkPayment))
}

// holderOnly verifies the bearer platform assertion (the card holder's
// APIs: my-checks, my-payment-link) and hands the handler the holder it
// names.
func (s *Service) holderOnly(h func(http.ResponseWriter, *http.Request, Resident)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := s.verify(r.Context(), bearer(r))
		if err != nil {
			s.writeErr(w, r, fmt.Errorf("%w: %w", errNoCard, err))
			return
		}
		h(w, r, Resident{PlatformID: c.Subject, Terminal: c.Terminal})
	}
}

// writeLinkErr answers an error of the holder's API: no link in the
// holder's words.
func (s *Service) writeLinkErr(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, ErrNoPaymentLink) {
		err = fmt.Errorf("%w: %w", errMyNoPaymentLink, err)
	}
	if p := Rules.Problem(err); p.Status < 500 {
		s.logger.InfoContext(r.Context(), "payment link refused", "code", p.Code)
	}
	s.writeErr(w, r, err)
}

func (s *Service) serveMyPaymentLink(w http.ResponseWriter, r *http.Request, who Resident) {
	l, err := s.MyPaymentLink(r.Context(), who)
	if err != nil {
		s.writeLinkErr(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, myLink(l))
}

func (s *Service) serveLinkPayment(w http.ResponseWriter, r *http.Request, who Resident) {
	var req PaymentLinkRequest
	if err := httpapi.Decode(r.Body, &req, maxPaymentLinkBody); err != nil {
		s.writeLinkErr(w, r, fmt.Errorf("%w: %w", errPayLinkBody, err))
		return
	}
	if len(req.Certificate) == 0 || len(req.Signature) == 0 {
		s.writeLinkErr(w, r, fmt.Errorf("%w: the certificate and the signature are required", errPayLinkBody))
		return
	}
	l, err := s.LinkPayment(r.Context(), who, req.Consent(who.PlatformID), req.Certificate, req.Signature)
	if err != nil {
		s.writeLinkErr(w, r, err)
		return
	}
	writeReplayable(w, l.Replayed, myLink(l))
}

func (s *Service) serveUnlinkPayment(w http.ResponseWriter, r *http.Request, who Resident) {
	if err := s.UnlinkPayment(r.Context(), who); err != nil {
		s.writeLinkErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
