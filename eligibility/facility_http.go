package eligibility

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/platform"
)

// The facility API (Authorization: Bearer <facility key>):
//
//	POST /eligibility/v1/checks        CardCheckRequest → CheckResult (201; 200 when already recorded)
//	POST /eligibility/v1/paper-checks  PaperCheckRequest → CheckResult (資格確認書)
//	GET  /eligibility/v1/checks        the facility's recorded checks
//
// and for the card holder (Authorization: Bearer <platform assertion>):
//
//	GET  /eligibility/v1/my-checks     who checked my coverage

// CardCheckRequest is a reception's check of a card holder.
type CardCheckRequest struct {
	// Assertion is the platform's assertion of the holder, made at one of
	// the facility's terminals (for an offline check: the assertion of the
	// deferred authentication, whose auth_time is the visit).
	Assertion string  `json:"assertion"`
	Consent   Consent `json:"consent"`
	// ClientID is the terminal's ID of the check (16–64 characters); a check
	// sent again under it is answered from the record. Without it, the
	// assertion's ID serves.
	ClientID string `json:"client_id,omitempty"`
}

// PaperCheckRequest is a check by the 資格確認書.
type PaperCheckRequest struct {
	Terminal  string `json:"terminal"`
	Insurer   string `json:"insurer"`
	Symbol    string `json:"symbol"`
	Number    string `json:"number"`
	Branch    string `json:"branch,omitempty"`
	BirthDate string `json:"birth_date"` // YYYY-MM-DD
}

// FacilityRoutes registers the facility and card-holder API.
func (s *Service) FacilityRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /eligibility/v1/checks", s.facilityOnly(s.serveCardCheck))
	mux.HandleFunc("POST /eligibility/v1/paper-checks", s.facilityOnly(s.servePaperCheck))
	mux.HandleFunc("GET /eligibility/v1/checks", s.facilityOnly(s.serveFacilityChecks))
	mux.HandleFunc("GET /eligibility/v1/my-checks", s.holderOnly(s.serveMyChecks))
}

func bearer(r *http.Request) string {
	k, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return strings.TrimSpace(k)
}

func (s *Service) facilityOnly(h func(http.ResponseWriter, *http.Request, string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		facility, err := s.FacilityByKey(r.Context(), bearer(r))
		if err != nil {
			s.writeErr(w, r, fmt.Errorf("%w: %w", errNoFacility, err))
			return
		}
		h(w, r, facility)
	}
}

// ErrBadAssertion means the platform assertion did not verify.
var ErrBadAssertion = errors.New("eligibility: the platform assertion did not verify")

// verify checks a platform assertion against the platform's keys.
func (s *Service) verify(ctx context.Context, token string) (*platform.Claims, error) {
	if s.keys == nil {
		return nil, fmt.Errorf("%w: no platform keys configured", ErrBadAssertion)
	}
	keys, err := s.keys(ctx)
	if err != nil {
		return nil, fmt.Errorf("eligibility: platform keys: %w", err)
	}
	c, err := platform.VerifyAssertion(token, keys, s.issuer, s.now())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadAssertion, err)
	}
	return c, nil
}

// CheckCard answers a facility's check of the holder of a platform
// assertion made at one of the facility's terminals.
func (s *Service) CheckCard(ctx context.Context, facility string, req CardCheckRequest) (*CheckResult, error) {
	c, err := s.verify(ctx, req.Assertion)
	if err != nil {
		return nil, err
	}
	f, err := s.terminalFacility(ctx, c.Terminal)
	if err != nil {
		return nil, err
	}
	if f != facility {
		return nil, ErrForeignTerminal
	}
	clientID := req.ClientID
	switch {
	case clientID == "":
		clientID = "jti:" + c.ID
	case len(clientID) < 16 || len(clientID) > 64:
		return nil, fmt.Errorf("%w: client_id must be 16–64 characters", ErrInvalid)
	}
	hc := HolderCheck{Facility: facility, Terminal: c.Terminal, PlatformID: c.Subject, Consent: req.Consent,
		Mode: ModeCard, ClientID: clientID}
	if c.Offline {
		hc.Mode, hc.At = ModeOffline, time.Unix(c.AuthTime, 0)
	}
	if c.CertNotAfter != 0 && c.AuthTime > c.CertNotAfter {
		hc.Warning = WarnCertExpired
	}
	return s.CheckHolder(ctx, hc, s.personOf(c.Subject))
}

// personOf asks the platform for the JPKI attributes of a platform ID.
func (s *Service) personOf(platformID string) func(context.Context) (Person, error) {
	return func(ctx context.Context) (Person, error) {
		if s.attributes == nil {
			return Person{}, errors.New("eligibility: no attribute source configured")
		}
		a, err := s.attributes(ctx, platformID)
		if err != nil {
			return Person{}, fmt.Errorf("eligibility: attributes of the card holder: %w", err)
		}
		return PersonFromJPKI(a), nil
	}
}

func (s *Service) serveCardCheck(w http.ResponseWriter, r *http.Request, facility string) {
	var req CardCheckRequest
	if err := decode(r, &req); err != nil || req.Assertion == "" {
		s.writeErr(w, r, fmt.Errorf("%w: %v", errCheckBody, err))
		return
	}
	res, err := s.CheckCard(r.Context(), facility, req)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	status := http.StatusCreated
	if res.Replayed {
		status = http.StatusOK
	}
	httpapi.WriteJSON(w, status, res)
}

func (s *Service) servePaperCheck(w http.ResponseWriter, r *http.Request, facility string) {
	var req PaperCheckRequest
	if err := decode(r, &req); err != nil {
		s.writeErr(w, r, fmt.Errorf("%w: %w", errPaperBody, err))
		return
	}
	birth, err := parseCivil(req.BirthDate)
	if err != nil {
		s.writeErr(w, r, errBirthDate)
		return
	}
	if req.Terminal == "" {
		req.Terminal = "api"
	}
	res, err := s.PaperCheck(r.Context(), facility, req.Terminal, ModePaper,
		CardKey{Insurer: req.Insurer, Symbol: req.Symbol, Number: req.Number, Branch: req.Branch, BirthDate: birth})
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusCreated, res)
}

func (s *Service) serveFacilityChecks(w http.ResponseWriter, r *http.Request, facility string) {
	checks, err := s.FacilityChecks(r.Context(), facility, 500)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"facility": facility, "checks": checks})
}

func (s *Service) serveMyChecks(w http.ResponseWriter, r *http.Request, who Resident) {
	checks, err := s.ChecksOf(r.Context(), who.PlatformID)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	if checks == nil {
		checks = []CheckEntry{}
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"checks": checks})
}
