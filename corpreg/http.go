package corpreg

import (
	"crypto/x509"
	"encoding/base64"
	"errors"
	"net/http"
	"time"

	"github.com/mynaplat/mynaplat/internal/apijson"
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

// answerOf gives the check answer for RepresentativeAt's result; ok is false
// for an error that is not one of the answers (a failure).
func answerOf(err error) (a CheckAnswer, ok bool) {
	switch {
	case err == nil:
		return CheckAnswer{OK: true, MessageJA: "この証明書は、その時点の代表者の証明書です。",
			MessageEN: "This certificate was the representative's at that time."}, true
	case errors.Is(err, ErrUnknownCorporation):
		return CheckAnswer{Reason: "unknown_corporation", MessageJA: "この法人番号の法人は登記されていません。",
			MessageEN: "No corporation with this corporate number is registered."}, true
	case errors.Is(err, ErrClosed):
		return CheckAnswer{Reason: "closed", MessageJA: "この法人はその時点で閉鎖されています。",
			MessageEN: "The corporation was closed at that time."}, true
	case errors.Is(err, ErrNotRepresentative):
		return CheckAnswer{Reason: "not_representative", MessageJA: "この証明書は、その時点のこの法人の代表者の証明書ではありません。",
			MessageEN: "This certificate was not the corporation's representative's at that time."}, true
	}
	return CheckAnswer{}, false
}

func (r *Registry) serveCorporation(w http.ResponseWriter, req *http.Request) {
	number := req.PathValue("number")
	if ValidNumber(number) != nil {
		apijson.WriteProblem(w, http.StatusBadRequest, "invalid_number",
			"法人番号は13桁の数字で、先頭の検査用数字が正しいものを指定してください。",
			"A corporate number is 13 digits whose first digit is a valid check digit.")
		return
	}
	c, err := r.Corporation(req.Context(), number)
	switch {
	case errors.Is(err, ErrUnknownCorporation):
		apijson.WriteProblem(w, http.StatusNotFound, "unknown_corporation", "この法人番号の法人は登記されていません。",
			"No corporation with this corporate number is registered.")
	case err != nil:
		r.logger.Error("corpreg: read a corporation", "number", number, "err", err)
		apijson.WriteProblem(w, http.StatusInternalServerError, "internal", "ただいま照会できません。しばらくしてからもう一度お試しください。",
			"The register cannot be read right now. Please try again later.")
	default:
		apijson.Write(w, http.StatusOK, c)
	}
}

func (r *Registry) serveCheck(w http.ResponseWriter, req *http.Request) {
	var in CheckRequest
	if err := apijson.Decode(http.MaxBytesReader(w, req.Body, maxCheckBody), &in, maxCheckBody); err != nil {
		apijson.WriteProblem(w, http.StatusBadRequest, "bad_request",
			`本文は {"number": "…", "certificate": "（DERのbase64）", "at": "RFC 3339の時刻"} のJSONにしてください。`,
			`The body must be JSON {"number": "…", "certificate": "(DER in base64)", "at": "RFC 3339 time"}.`)
		return
	}
	der, err := base64.StdEncoding.DecodeString(in.Certificate)
	if err != nil || len(der) == 0 {
		apijson.WriteProblem(w, http.StatusBadRequest, "bad_certificate",
			"certificate は証明書（DER）を標準のbase64で表したものにしてください。",
			"certificate must be the certificate (DER) in standard base64.")
		return
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		apijson.WriteProblem(w, http.StatusBadRequest, "bad_certificate", "certificate を証明書として読み取れません。",
			"certificate cannot be parsed as an X.509 certificate.")
		return
	}
	if in.At.IsZero() {
		apijson.WriteProblem(w, http.StatusBadRequest, "bad_request", "at（確認する時刻）を指定してください。",
			"at (the time to check at) is required.")
		return
	}
	err = r.RepresentativeAt(req.Context(), in.Number, cert, in.At)
	a, ok := answerOf(err)
	if !ok {
		r.logger.Error("corpreg: representative check", "number", in.Number, "err", err)
		apijson.WriteProblem(w, http.StatusInternalServerError, "internal", "ただいま確認できません。しばらくしてからもう一度お試しください。",
			"The check cannot be made right now. Please try again later.")
		return
	}
	apijson.Write(w, http.StatusOK, a)
}

func (r *Registry) serveCA(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/pkix-cert")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Write(r.ca.Root().Raw)
}
