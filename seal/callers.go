package seal

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/mynaplat/mynaplat/internal/callerkey"
	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/internal/trace"
)

// The register's API for the issuance servers (the municipal role), each
// caller with its own key (Authorization: Bearer <key>); every call is
// audited in seal_calls under the caller's name:
//
//	POST /seal/v1/certificates   CertificateRequest → 201 Registered: enter a certificate, get its QR
//	POST /seal/v1/sign           SignRequest → SignAnswer: the PDF signed with the municipality's seal
//
// Client is the typed client; jlis.AntiForgery takes either it or the
// Service (both are a jlis.Sealer).

// Problem codes of the caller API.
const (
	CodeInvalid             httpapi.Code = "invalid"
	CodeDuplicate           httpapi.Code = "duplicate_number"
	CodeUnknownMunicipality httpapi.Code = "unknown_municipality"
)

var callerRules = append(httpapi.Rules{
	{Err: ErrDuplicate, Status: http.StatusConflict, Code: CodeDuplicate,
		JA: "この証明書番号はすでに登録されています。", EN: "This certificate number is registered already."},
	{Err: ErrUnknownMunicipality, Status: http.StatusNotFound, Code: CodeUnknownMunicipality,
		JA: "この市区町村の公印がありません。", EN: "There is no seal for this municipality."},
	{Err: ErrInvalid, Status: http.StatusBadRequest, Code: CodeInvalid,
		JA: "要求の内容に誤りがあります。", EN: "Invalid request."},
	{Err: httpapi.ErrBody, Status: http.StatusBadRequest, Code: CodeInvalid,
		JA: "要求の本文が正しい JSON ではありません。", EN: "The body is not the expected JSON."},
}, callerkey.Rules...)

// WireMunicipality is a Municipality on the wire.
type WireMunicipality struct {
	Code   string `json:"code"`
	NameJA string `json:"name_ja"`
	NameEN string `json:"name_en"`
}

// CertificateRequest is the body of POST /seal/v1/certificates.
type CertificateRequest struct {
	Municipality WireMunicipality `json:"municipality"`
	Number       string           `json:"number"`
	Type         string           `json:"type"`
	Content      string           `json:"content"`
}

// Registered is its answer: the QR code to draw on the certificate.
type Registered struct {
	QRText string `json:"qr_text"`
	QRPNG  []byte `json:"qr_png"`
}

// SignRequest is the body of POST /seal/v1/sign.
type SignRequest struct {
	Municipality WireMunicipality `json:"municipality"`
	PDF          []byte           `json:"pdf"`
}

// SignAnswer is its answer.
type SignAnswer struct {
	PDF []byte `json:"pdf"`
}

// maxSignBody bounds a PDF to seal (base64 in JSON).
const maxSignBody = 16 << 20

const (
	qInsertCall = `INSERT INTO seal_calls (at, caller, action, municipality, number, result, trace_id) VALUES ($1, $2, $3, $4, $5, $6, $7)`
	// The audit actions in seal_calls.
	callRegister = "register"
	callSign     = "sign"
)

// CallerRoutes registers the caller API for the callers in keys.
func (s *Service) CallerRoutes(mux *http.ServeMux, keys callerkey.Keys) {
	mux.HandleFunc("POST /seal/v1/certificates", keys.Only(s.serveRegister))
	mux.HandleFunc("POST /seal/v1/sign", keys.Only(s.serveSign))
}

// audited records the call in seal_calls and returns err, or the audit's
// failure.
func (s *Service) audited(ctx context.Context, caller, action, municipality, number string, err error) error {
	return callerkey.Audited(err, func(result string) error {
		_, err := s.db.Write(ctx, qInsertCall, s.now().UnixMilli(), caller, action, municipality, number, result, trace.ID(ctx))
		return err
	})
}

func (s *Service) serveRegister(w http.ResponseWriter, r *http.Request, caller string) {
	var req CertificateRequest
	if err := httpapi.Decode(r.Body, &req, 1<<20); err != nil {
		callerRules.Write(w, r, s.logger, err)
		return
	}
	is, err := s.Issue(r.Context(), IssueRequest{Municipality: Municipality(req.Municipality), Number: req.Number,
		Type: req.Type, Content: req.Content})
	if err = s.audited(r.Context(), caller, callRegister, req.Municipality.Code, req.Number, err); err != nil {
		callerRules.Write(w, r, s.logger, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusCreated, Registered{QRText: is.QRText, QRPNG: is.QRPNG})
}

func (s *Service) serveSign(w http.ResponseWriter, r *http.Request, caller string) {
	var req SignRequest
	if err := httpapi.Decode(r.Body, &req, maxSignBody); err != nil {
		callerRules.Write(w, r, s.logger, err)
		return
	}
	if len(req.PDF) == 0 {
		callerRules.Write(w, r, s.logger, fmt.Errorf("%w: no PDF", ErrInvalid))
		return
	}
	out, err := s.SignPDF(r.Context(), Municipality(req.Municipality), req.PDF)
	if err = s.audited(r.Context(), caller, callSign, req.Municipality.Code, "", err); err != nil {
		callerRules.Write(w, r, s.logger, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, SignAnswer{PDF: out})
}

// Client is an issuance server's typed client of the caller API. Its
// methods have the Service's shape and its errors (ErrDuplicate,
// ErrUnknownMunicipality, ErrInvalid).
type Client struct {
	API httpapi.Client
}

// NewClient is a client of the register at baseURL under the caller's key.
func NewClient(baseURL, key string, hc *http.Client) *Client {
	return &Client{API: httpapi.Client{Service: "seal", BaseURL: baseURL, HTTP: hc, Auth: httpapi.Bearer(key)}}
}

func sentinel(err error) error {
	for _, r := range callerRules {
		if r.Code != callerkey.CodeUnauthorized && errors.Is(err, r.Code) {
			return fmt.Errorf("%w: %w", r.Err, err)
		}
	}
	return err
}

// Issue registers a certificate. The answer carries the QR (QRText,
// QRPNG) only: the seal stays with the register. It is not sent twice: a
// second registration of the number is refused, so a lost answer leaves
// the number used.
func (c *Client) Issue(ctx context.Context, req IssueRequest) (*Issued, error) {
	var out Registered
	if _, err := c.API.DoJSON(ctx, httpapi.Request{Method: http.MethodPost, Path: "/seal/v1/certificates",
		JSON: CertificateRequest{Municipality: WireMunicipality(req.Municipality), Number: req.Number, Type: req.Type, Content: req.Content}}, &out); err != nil {
		return nil, sentinel(err)
	}
	return &Issued{QRText: out.QRText, QRPNG: out.QRPNG}, nil
}

// SignPDF has the PDF sealed; sealing again is harmless, so it is retried.
func (c *Client) SignPDF(ctx context.Context, m Municipality, pdf []byte) ([]byte, error) {
	var out SignAnswer
	if _, err := c.API.DoJSON(ctx, httpapi.Request{Method: http.MethodPost, Path: "/seal/v1/sign",
		JSON: SignRequest{Municipality: WireMunicipality(m), PDF: pdf}, Idempotent: true}, &out); err != nil {
		return nil, sentinel(err)
	}
	return out.PDF, nil
}
