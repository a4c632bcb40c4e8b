package municipal

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/wareki"
)

// The issuance API of each municipality (証明発行サーバ), called by the
// J-LIS relay with the relay key the municipality issued to it:
//
//	POST /municipal/{code}/v1/certificates   JSON Request → the PDF
//	GET  /municipal/{code}/v1/catalogue      the catalogue (JSON)
//
// A certificate comes back as application/pdf with its facts (number, type,
// pages, fee …) as JSON in the header X-Certificate. Every error is a JSON
// problem (internal/httpapi) with a machine code and Japanese and English
// messages; refusals use the codes of Refusal.

// CertificateHeader is the response header with the certificate's facts.
const CertificateHeader = "X-Certificate"

// maxRequestBytes bounds a request body.
const maxRequestBytes = 4 << 10

// DecodeRequest reads an issuance request: one JSON object, no unknown
// fields, nothing after it.
func DecodeRequest(r io.Reader) (Request, error) {
	var req Request
	if err := httpapi.Decode(r, &req, maxRequestBytes); err != nil {
		return Request{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if err := req.validate(); err != nil {
		return Request{}, err
	}
	return req, nil
}

func (p *Pages) apiRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /municipal/{code}/v1/certificates", p.issue)
	mux.HandleFunc("GET /municipal/{code}/v1/catalogue", p.catalogue)
	mux.HandleFunc("POST /municipal/{code}/v1/koseki-match", p.kosekiMatch)
}

// KosekiMatchRequest asks the 本籍地 to compare a holder with its 戸籍.
type KosekiMatchRequest struct {
	Name      string   `json:"name"`
	BirthDate string   `json:"birth_date"` // YYYY-MM-DD
	Sex       jpki.Sex `json:"sex"`
}

// KosekiMatchAnswer lists the fields that differ (none: an exact match).
type KosekiMatchAnswer struct {
	Mismatches []string `json:"mismatches"`
}

func (p *Pages) kosekiMatch(w http.ResponseWriter, r *http.Request) {
	code, label, ok := p.relay(w, r)
	if !ok {
		return
	}
	var req KosekiMatchRequest
	if err := httpapi.Decode(r.Body, &req, maxRequestBytes); err != nil {
		p.apiError(w, r, fmt.Errorf("%w: %w", ErrInvalid, err))
		return
	}
	birth, err := time.ParseInLocation(time.DateOnly, req.BirthDate, wareki.JST())
	if err != nil || req.Name == "" {
		p.apiError(w, r, fmt.Errorf("%w: name and birth date", ErrInvalid))
		return
	}
	mm, err := p.s.MatchKoseki(r.Context(), code, req.Name, birth, req.Sex)
	if err != nil {
		p.apiError(w, r, err)
		return
	}
	p.logger.InfoContext(r.Context(), "koseki compared for a registration", "municipality", code, "relay", label, "mismatches", len(mm))
	if mm == nil {
		mm = []string{}
	}
	httpapi.WriteJSON(w, http.StatusOK, KosekiMatchAnswer{Mismatches: mm})
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
		p.apiError(w, r, errMediaType)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes+1))
	if err != nil || len(body) > maxRequestBytes {
		p.apiError(w, r, errTooLarge)
		return
	}
	req, err := DecodeRequest(bytes.NewReader(body))
	if err != nil {
		p.apiError(w, r, err)
		return
	}
	var c *Certificate
	if p.af == nil {
		c, err = p.s.Issue(r.Context(), code, "relay:"+label, req)
	} else {
		c, err = p.s.IssueProtected(r.Context(), code, "relay:"+label, req, p.af)
	}
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
	httpapi.WriteJSON(w, http.StatusOK, offers)
}

// apiError answers an error of the service through Rules; a refusal is
// logged as one.
func (p *Pages) apiError(w http.ResponseWriter, r *http.Request, err error) {
	if ri, ok := Refusal(err); ok {
		p.logger.InfoContext(r.Context(), "certificate refused", "municipality", r.PathValue("code"), "code", ri.Code)
	}
	Rules.Write(w, r, p.logger.With("municipality", r.PathValue("code")), err)
}
