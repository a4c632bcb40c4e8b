package corpreg

import (
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/mynaplat/mynaplat/internal/httpapi"
)

// The registry's HTTP API. Nothing here needs a login: it is public data.
//
//	GET  /corpreg/v1/corporations/{number}   the public record (Corporation)
//	POST /corpreg/v1/representative-check    {number, certificate, at} → CheckAnswer
//	GET  /corpreg/ca.crt                     the registry CA's certificate, DER

// maxCheckBody bounds a representative-check request: a certificate in
// base64 and a few short fields.
const maxCheckBody = 64 << 10

// Routes registers the registry's handlers on mux.
func (r *Registry) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /corpreg/v1/corporations/{number}", r.serveCorporation)
	mux.HandleFunc("POST /corpreg/v1/representative-check", r.serveCheck)
	mux.HandleFunc("GET /corpreg/ca.crt", r.serveCA)
}

// CheckRequest is the body of POST /corpreg/v1/representative-check.
type CheckRequest struct {
	Number string `json:"number"`
	// Certificate is the certificate in DER, standard base64.
	Certificate string    `json:"certificate"`
	At          time.Time `json:"at"`
}

// CheckAnswer is the answer of POST /corpreg/v1/representative-check. Reason
// is empty when OK, else "unknown_corporation", "closed" or
// "not_representative".
type CheckAnswer struct {
	OK        bool   `json:"ok"`
	Reason    string `json:"reason,omitempty"`
	MessageJA string `json:"message_ja"`
	MessageEN string `json:"message_en"`
}

// The reasons of a refused check (besides an unknown corporation).
const (
	reasonClosed            = "closed"
	reasonNotRepresentative = "not_representative"
)

// answerOf gives the check answer for RepresentativeAt's result; ok is false
// for an error that is not one of the answers (a failure).
func answerOf(err error) (a CheckAnswer, ok bool) {
	switch {
	case err == nil:
		return CheckAnswer{OK: true, MessageJA: "この証明書は、その時点の代表者の証明書です。",
			MessageEN: "This certificate was the representative's at that time."}, true
	case errors.Is(err, ErrUnknownCorporation):
		return CheckAnswer{Reason: string(CodeUnknownCorporation), MessageJA: "この法人番号の法人は登記されていません。",
			MessageEN: "No corporation with this corporate number is registered."}, true
	case errors.Is(err, ErrClosed):
		return CheckAnswer{Reason: reasonClosed, MessageJA: "この法人はその時点で閉鎖されています。",
			MessageEN: "The corporation was closed at that time."}, true
	case errors.Is(err, ErrNotRepresentative):
		return CheckAnswer{Reason: reasonNotRepresentative, MessageJA: "この証明書は、その時点のこの法人の代表者の証明書ではありません。",
			MessageEN: "This certificate was not the corporation's representative's at that time."}, true
	}
	return CheckAnswer{}, false
}

func (r *Registry) serveCorporation(w http.ResponseWriter, req *http.Request) {
	number := req.PathValue("number")
	if ValidNumber(number) != nil {
		r.writeErr(w, req, errBadNumber)
		return
	}
	c, err := r.Corporation(req.Context(), number)
	if err != nil {
		r.writeErr(w, req, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, c)
}

func (r *Registry) serveCheck(w http.ResponseWriter, req *http.Request) {
	var in CheckRequest
	if err := httpapi.Decode(http.MaxBytesReader(w, req.Body, maxCheckBody), &in, maxCheckBody); err != nil {
		r.writeErr(w, req, fmt.Errorf("%w: %w", errCheckBody, err))
		return
	}
	der, err := base64.StdEncoding.DecodeString(in.Certificate)
	if err != nil || len(der) == 0 {
		r.writeErr(w, req, errCertBase64)
		return
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		r.writeErr(w, req, fmt.Errorf("%w: %w", errCertParse, err))
		return
	}
	if in.At.IsZero() {
		r.writeErr(w, req, errCheckNoTime)
		return
	}
	err = r.RepresentativeAt(req.Context(), in.Number, cert, in.At)
	a, ok := answerOf(err)
	if !ok {
		r.writeErr(w, req, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, a)
}

func (r *Registry) serveCA(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/pkix-cert")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Write(r.ca.Root().Raw)
}

// writeErr answers an error of the registry through Rules.
func (r *Registry) writeErr(w http.ResponseWriter, req *http.Request, err error) {
	Rules.Write(w, req, r.logger, err)
}
