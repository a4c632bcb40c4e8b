package delegation

import (
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/mynaplat/mynaplat/corpreg"
	"github.com/mynaplat/mynaplat/internal/httpapi"
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
//	GET  /delegation/v1/agents/{platform_id}/powers (caller key)   → 200 []Record (byagent.go)

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

// decodeBase64 reads one base64 field as fieldErr describes it; an empty
// power is let through to Check, which calls it forged, as the Service does.
func decodeBase64(fieldErr error, s string, mayBeEmpty bool) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) == 0 && !mayBeEmpty || len(b) > maxCMS {
		return nil, fieldErr
	}
	return b, nil
}

// readSigned reads a SignedRequest.
func readSigned(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	var in SignedRequest
	if err := httpapi.Decode(http.MaxBytesReader(w, r.Body, maxBody), &in, maxBody); err != nil {
		return nil, fmt.Errorf("%w: %w", errSignedBody, err)
	}
	return decodeBase64(errCMS, in.CMS, false)
}

// writeError answers an error through Rules.
func (s *Service) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, corpreg.ErrUnavailable) {
		s.logger.WarnContext(r.Context(), "delegation: corporate registry unavailable", "err", err)
	}
	Rules.Write(w, r, s.logger, err)
}

func (s *Service) serveRegister(w http.ResponseWriter, r *http.Request) {
	der, err := readSigned(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rec, fresh, err := s.register(r.Context(), der)
	if errors.Is(err, ErrNotFound) {
		// The missing power is the parent: the request itself is fine.
		err = fmt.Errorf("%w: %w", errNoParent, err)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status := http.StatusCreated
	if !fresh {
		status = http.StatusOK // registered before: nothing created
	}
	httpapi.WriteJSON(w, status, rec)
}

func (s *Service) serveGet(w http.ResponseWriter, r *http.Request) {
	rec, err := s.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, rec)
}

func (s *Service) serveRevoke(w http.ResponseWriter, r *http.Request) {
	der, err := readSigned(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rec, err := s.Revoke(r.Context(), r.PathValue("id"), der)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, rec)
}

func (s *Service) serveCheck(w http.ResponseWriter, r *http.Request) {
	var in CheckRequest
	if err := httpapi.Decode(http.MaxBytesReader(w, r.Body, maxBody), &in, maxBody); err != nil {
		s.writeError(w, r, fmt.Errorf("%w: %w", errCheckBody, err))
		return
	}
	power, err := decodeBase64(errPower, in.Power, true)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	signerDER, err := decodeBase64(errSigner, in.Signer, false)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	signer, err := x509.ParseCertificate(signerDER)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("%w: %w", errSignerCert, err))
		return
	}
	if in.At.IsZero() {
		s.writeError(w, r, errNoAt)
		return
	}
	res, err := s.Check(r.Context(), Query{Power: power, CorporateNumber: in.CorporateNumber, DocType: in.DocType, Signer: signer, At: in.At})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, res)
}
