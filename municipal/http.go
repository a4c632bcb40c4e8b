package municipal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/mynaplat/mynaplat/internal/apijson"
)

// The issuance API of each municipality (証明発行サーバ), called by the
// J-LIS relay with the relay key the municipality issued to it:
//
//	POST /municipal/{code}/v1/certificates   JSON Request → the PDF
//	GET  /municipal/{code}/v1/catalogue      the catalogue (JSON)
//
// A certificate comes back as application/pdf with its facts (number, type,
// pages, fee …) as JSON in the header X-Certificate. Every error is a JSON
// problem (internal/apijson) with a machine code and Japanese and English
// messages; refusals use the codes of Refusal.

// CertificateHeader is the response header with the certificate's facts.
const CertificateHeader = "X-Certificate"

// maxRequestBytes bounds a request body.
const maxRequestBytes = 4 << 10

// DecodeRequest reads an issuance request: one JSON object, no unknown
// fields, nothing after it.
func DecodeRequest(r io.Reader) (Request, error) {
	var req Request
	dec := json.NewDecoder(io.LimitReader(r, maxRequestBytes+1))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return Request{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if dec.More() {
		return Request{}, fmt.Errorf("%w: data after the request", ErrInvalid)
	}
	if err := req.validate(); err != nil {
		return Request{}, err
	}
	return req, nil
}

func (p *Pages) apiRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /municipal/{code}/v1/certificates", p.issue)
	mux.HandleFunc("GET /municipal/{code}/v1/catalogue", p.catalogue)
}

// relay authenticates the relay's bearer key for the path's municipality.
func (p *Pages) relay(w http.ResponseWriter, r *http.Request) (code, label string, ok bool) {
	code = r.PathValue("code")
	key, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !found {
		key = ""
	}
	label, err := p.s.checkKey(r.Context(), code, keyRelay, key)
	if err != nil {
		p.apiError(w, r, err)
		return "", "", false
	}
	return code, label, true
}

func (p *Pages) issue(w http.ResponseWriter, r *http.Request) {
	code, label, ok := p.relay(w, r)
	if !ok {
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		apijson.WriteProblem(w, http.StatusUnsupportedMediaType, "unsupported_media_type",
			"JSON（application/json）で送信してください。", "Send the request as application/json.")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes+1))
	if err != nil || len(body) > maxRequestBytes {
		apijson.WriteProblem(w, http.StatusRequestEntityTooLarge, "too_large", "要求が大きすぎます。", "The request is too large.")
		return
	}
	req, err := DecodeRequest(bytes.NewReader(body))
	if err != nil {
		p.apiError(w, r, err)
		return
	}
	c, err := p.s.Issue(r.Context(), code, "relay:"+label, req)
	if err != nil {
		p.apiError(w, r, err)
		return
	}
	facts, _ := json.Marshal(c) // a struct of plain fields always marshals
	h := w.Header()
	h.Set("Content-Type", "application/pdf")
	h.Set("Cache-Control", "no-store")
	h.Set(CertificateHeader, string(facts))
	h.Set("Content-Disposition", `inline; filename="`+c.Number+`.pdf"`)
	w.WriteHeader(http.StatusOK)
	w.Write(c.PDF)
}

func (p *Pages) catalogue(w http.ResponseWriter, r *http.Request) {
	code, _, ok := p.relay(w, r)
	if !ok {
		return
	}
	offers, err := p.s.Catalogue(r.Context(), code)
	if err != nil {
		p.apiError(w, r, err)
		return
	}
	if offers == nil {
		offers = []Offer{}
	}
	apijson.Write(w, http.StatusOK, offers)
}

// apiError maps an error of the service to its HTTP answer.
func (p *Pages) apiError(w http.ResponseWriter, r *http.Request, err error) {
	if ri, ok := Refusal(err); ok {
		p.logger.Info("certificate refused", "municipality", r.PathValue("code"), "code", ri.Code)
		apijson.WriteProblem(w, ri.Status, ri.Code, ri.MessageJA, ri.MessageEN)
		return
	}
	switch {
	case errors.Is(err, ErrUnauthorized):
		w.Header().Set("WWW-Authenticate", `Bearer realm="municipal"`)
		apijson.WriteProblem(w, http.StatusUnauthorized, "unauthorized",
			"この市区町村が発行した中継キーが必要です。", "A relay key issued by this municipality is required.")
	case errors.Is(err, ErrInvalid):
		apijson.WriteProblem(w, http.StatusBadRequest, "invalid_request",
			"要求の形式が正しくありません。", "The request is not in the expected form.")
	case errors.Is(err, ErrNotFound):
		apijson.WriteProblem(w, http.StatusNotFound, "not_found",
			"該当する住民の記録がありません。", "There is no such record.")
	default:
		p.logger.Error("issuance API", "municipality", r.PathValue("code"), "err", err)
		apijson.WriteProblem(w, http.StatusInternalServerError, "internal",
			"内部エラーのため発行できませんでした。", "The certificate could not be issued because of an internal error.")
	}
}
