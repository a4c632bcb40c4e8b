package delegation

import (
	"crypto/x509"
	"encoding/base64"
	"errors"
	"net/http"
	"time"

	"github.com/mynaplat/mynaplat/corpreg"
	"github.com/mynaplat/mynaplat/internal/apijson"
)

// The register's HTTP API. The signatures in the bodies are what
// authorizes a registration or a revocation, so nothing else does. Power
// IDs are random (NewID) and a record names the agent: treat an ID as
// something to give only to whoever is to check the power.
//
//	POST /delegation/v1/powers              {"cms": base64}        → 201 Record
//	GET  /delegation/v1/powers/{id}                                → 200 Record
//	POST /delegation/v1/powers/{id}/revoke  {"cms": base64}        → 200 Record
//	POST /delegation/v1/check               CheckRequest           → 200 Result

// maxCMS bounds a signed power or revocation (a few certificates and a
// small JSON); maxBody a request carrying one in base64.
const (
	maxCMS  = 256 << 10
	maxBody = maxCMS/3*4 + 16<<10
)

// Routes registers the register's handlers on mux.
func (s *Service) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /delegation/v1/powers", s.serveRegister)
	mux.HandleFunc("GET /delegation/v1/powers/{id}", s.serveGet)
	mux.HandleFunc("POST /delegation/v1/powers/{id}/revoke", s.serveRevoke)
	mux.HandleFunc("POST /delegation/v1/check", s.serveCheck)
}

// SignedRequest is the body of register and revoke.
type SignedRequest struct {
	// CMS is the signed power or revocation, DER in standard base64.
	CMS string `json:"cms"`
}

// CheckRequest is the body of POST /delegation/v1/check: a Query with the
// signed power and the signer's certificate (DER) in standard base64.
type CheckRequest struct {
	Power           string    `json:"power"`
	CorporateNumber string    `json:"corporate_number"`
	DocType         string    `json:"doc_type"`
	Signer          string    `json:"signer"`
	At              time.Time `json:"at"`
}

func badRequest(w http.ResponseWriter, ja, en string) {
	apijson.WriteProblem(w, http.StatusBadRequest, "bad_request", ja, en)
}

// decodeBase64 reads one base64 field; ok is false when it answered 400.
// An empty power is let through to Check, which calls it forged, as the
// Service does.
func decodeBase64(w http.ResponseWriter, field, s string, mayBeEmpty bool) ([]byte, bool) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) == 0 && !mayBeEmpty || len(b) > maxCMS {
		badRequest(w, field+" は標準のbase64で表したDERにしてください（256 KiBまで）。",
			field+" must be DER in standard base64 (at most 256 KiB).")
		return nil, false
	}
	return b, true
}

// readSigned reads a SignedRequest; ok is false when it answered 400.
func readSigned(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	var in SignedRequest
	if err := apijson.Decode(http.MaxBytesReader(w, r.Body, maxBody), &in, maxBody); err != nil {
		badRequest(w, `本文は {"cms": "（署名済みCMSのbase64）"} のJSONにしてください。`,
			`The body must be JSON {"cms": "(the signed CMS in base64)"}.`)
		return nil, false
	}
	return decodeBase64(w, "cms", in.CMS, false)
}

// writeError answers an error of Register, Revoke or Get.
func (s *Service) writeError(w http.ResponseWriter, err error) {
	type answer struct {
		status   int
		code     string
		ja, en   string
		sentinel error
	}
	for _, a := range []answer{
		{http.StatusUnprocessableEntity, "invalid", "委任状または撤回の内容が正しい形式ではありません。",
			"The power of attorney or revocation is not in the expected form.", ErrInvalid},
		{http.StatusUnprocessableEntity, string(Forged), "電子署名を検証できません。改ざんされたか、署名が正しくありません。",
			"The signature does not verify: the data was altered or the signature is broken.", ErrForged},
		{http.StatusNotFound, string(UnknownPower), "この委任状（またはその元の委任状）は登録されていません。",
			"This power of attorney (or the one it derives from) is not registered.", ErrNotFound},
		{http.StatusConflict, "duplicate", "このIDの別の委任状がすでに登録されています。",
			"Another power of attorney is already registered under this ID.", ErrDuplicate},
		{http.StatusUnprocessableEntity, string(UnknownCorporation), "委任者の法人は、法人の登記にありません。",
			"The principal corporation is not in the corporate register.", ErrUnknownCorporation},
		{http.StatusUnprocessableEntity, string(CorporationClosed), "委任者の法人は閉鎖されています。",
			"The principal corporation has been closed.", ErrClosed},
		{http.StatusForbidden, string(NotRepresentative), "署名者は、署名の時点のこの法人の代表者（または復代理をした受任者）ではありません。",
			"The signer was not the corporation's representative (or the agent who sub-delegated) when signing.", ErrNotRepresentative},
		{http.StatusUnprocessableEntity, string(SubDelegationNotAllowed), "この復代理（再委任）は認められていないか、元の委任の範囲を超えています。",
			"This sub-delegation is not allowed by the original power of attorney, or goes beyond it.", ErrSubDelegation},
		{http.StatusConflict, string(Revoked), "この委任状（またはその元の委任状）は撤回されています。",
			"This power of attorney (or the one it derives from) has been revoked.", ErrRevoked},
	} {
		if errors.Is(err, a.sentinel) {
			apijson.WriteProblem(w, a.status, a.code, a.ja, a.en)
			return
		}
	}
	if errors.Is(err, corpreg.ErrUnavailable) {
		s.logger.Warn("delegation: corporate registry unavailable", "err", err)
		apijson.WriteProblem(w, http.StatusServiceUnavailable, "unavailable", "法人の登記を照会できません。しばらくしてからもう一度お試しください。",
			"The corporate register cannot be reached. Please try again later.")
		return
	}
	s.logger.Error("delegation: request failed", "err", err)
	apijson.WriteProblem(w, http.StatusInternalServerError, "internal", "ただいま処理できません。しばらくしてからもう一度お試しください。",
		"The request cannot be processed right now. Please try again later.")
}

func (s *Service) serveRegister(w http.ResponseWriter, r *http.Request) {
	der, ok := readSigned(w, r)
	if !ok {
		return
	}
	rec, err := s.Register(r.Context(), der)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			// The missing power is the parent: the request itself is fine.
			apijson.WriteProblem(w, http.StatusUnprocessableEntity, string(UnknownPower), "元の委任状（親）が登録されていません。",
				"The parent power of attorney is not registered.")
			return
		}
		s.writeError(w, err)
		return
	}
	apijson.Write(w, http.StatusCreated, rec)
}

func (s *Service) serveGet(w http.ResponseWriter, r *http.Request) {
	rec, err := s.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, err)
		return
	}
	apijson.Write(w, http.StatusOK, rec)
}

func (s *Service) serveRevoke(w http.ResponseWriter, r *http.Request) {
	der, ok := readSigned(w, r)
	if !ok {
		return
	}
	rec, err := s.Revoke(r.Context(), r.PathValue("id"), der)
	if err != nil {
		s.writeError(w, err)
		return
	}
	apijson.Write(w, http.StatusOK, rec)
}

func (s *Service) serveCheck(w http.ResponseWriter, r *http.Request) {
	var in CheckRequest
	if err := apijson.Decode(http.MaxBytesReader(w, r.Body, maxBody), &in, maxBody); err != nil {
		badRequest(w, `本文は {"power", "corporate_number", "doc_type", "signer", "at"} のJSONにしてください。`,
			`The body must be JSON {"power", "corporate_number", "doc_type", "signer", "at"}.`)
		return
	}
	power, ok := decodeBase64(w, "power", in.Power, true)
	if !ok {
		return
	}
	signerDER, ok := decodeBase64(w, "signer", in.Signer, false)
	if !ok {
		return
	}
	signer, err := x509.ParseCertificate(signerDER)
	if err != nil {
		badRequest(w, "signer を証明書として読み取れません。", "signer cannot be parsed as an X.509 certificate.")
		return
	}
	if in.At.IsZero() {
		badRequest(w, "at（書類の署名時刻）を指定してください。", "at (the document's signing time) is required.")
		return
	}
	res, err := s.Check(r.Context(), Query{Power: power, CorporateNumber: in.CorporateNumber, DocType: in.DocType, Signer: signer, At: in.At})
	if err != nil {
		s.writeError(w, err)
		return
	}
	apijson.Write(w, http.StatusOK, res)
}
