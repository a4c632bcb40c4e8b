package municipal

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/platform"
)

// The resident's own history of their record in the 住民基本台帳 (issue
// 16), for /me/audit (Authorization: Bearer <platform assertion>, as
// eligibility's GET /eligibility/v1/my-checks):
//
//	GET /municipal/v1/my-history → {"entries": [HistoryEntry…]}, newest first
//
// The holder is the assertion's platform ID; the register finds their
// record as the issuance server does, from the JPKI attributes the
// platform gives for it (FindResident in the municipality of their
// address: name, birth date, sex and address, never anything typed in).
// A row names the office and the staff number of the clerk who read or
// changed the record, not the clerk's name: the resident can ask the town
// about a staff number, and a clerk's name is no more the resident's
// business than the resident's is the clerk's neighbours'. Each read of
// the history is audited as AuditOwnHistory.

// Residents is what the history API needs.
type Residents struct {
	// Keys are the platform's assertion keys (platform.KeyCache's Keys)
	// and Issuer the platform's issuer ("" accepts any).
	Keys   func(ctx context.Context) (platform.JWKS, error)
	Issuer string
	// Attributes are the current JPKI attributes of a platform ID's
	// holder: the platform's caller API, which audits the read
	// (platform.CallerClient.PersonAttributes).
	Attributes func(ctx context.Context, platformID string) (*jpki.HolderAttributes, error)
	Now        func() time.Time
}

// SetResidents serves the history API (404 without). Call it before
// Routes.
func (p *Pages) SetResidents(r Residents) {
	if r.Now == nil {
		r.Now = time.Now
	}
	p.residents = &r
}

// historyShown is how many rows a history holds, the newest.
const historyShown = 200

// HistoryEntry is a line of a resident's history, as they read it.
type HistoryEntry struct {
	At time.Time `json:"at"`
	// Municipality names the register: 酒田市 (062049).
	Municipality string `json:"municipality"`
	// Office is the back office whose clerk acted, as the resident reads
	// it (酒田市 戸籍住民課 窓口); "" when no clerk did (a certificate
	// issued at a kiosk, the resident's own read).
	Office string `json:"office"`
	// StaffNumber is the clerk's staff number ("" for no clerk).
	StaffNumber string `json:"staff_number"`
	// Action is one of the Audit… actions, Detail its detail (the fields
	// changed, a certificate's type and number; never a value).
	Action string `json:"action"`
	Detail string `json:"detail"`
}

// What is the entry's action in Japanese and English.
func (e HistoryEntry) What() (ja, en string) {
	switch e.Action {
	case AuditView:
		return "住民記録の閲覧", "Your residence record was viewed"
	case AuditEdit:
		ja, en = "住民記録の変更", "Your residence record was changed"
		if e.Detail != "" {
			ja += "（" + e.Detail + "）"
			en += " (" + e.Detail + ")"
		}
		return ja, en
	case AuditIssue:
		return "証明書の交付（" + e.Detail + "）", "Certificate issued (" + e.Detail + ")"
	case AuditOwnHistory:
		return "この履歴の閲覧", "You viewed this history"
	case AuditViewRegistration:
		return "本籍地の利用登録の確認", "Your 本籍地 registration was reviewed"
	case AuditApproveRegistration:
		return "本籍地の利用登録の承認", "Your 本籍地 registration was approved"
	case AuditRejectRegistration:
		return "本籍地の利用登録の却下", "Your 本籍地 registration was rejected"
	}
	return e.Action, e.Action
}

// officeName is an office ID of the audit as the resident reads it.
func officeName(m Municipality, office string) string {
	if office == OfficeID(m.Code) {
		return m.Name + " 戸籍住民課 窓口"
	}
	return office
}

// History is the newest rows about the resident whose JPKI attributes
// are h, in the register of their address, with who acted; reader is how
// the audit names them (their read of the history is audited). A holder
// the register does not know has an empty history.
func (s *Service) History(ctx context.Context, h *jpki.HolderAttributes, reader Actor) ([]HistoryEntry, error) {
	m, err := s.Municipality(ctx, h.Municipality)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	id, err := s.FindResident(ctx, m.Code, h.Name, h.BirthDate, h.Sex, h.Address)
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrAmbiguous) {
		// No record, or none that is surely theirs: nothing to show, and
		// nothing of anyone else's.
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	rows, err := s.auditRows(ctx, qPersonAudit, m.Code, id, historyShown)
	if err != nil {
		return nil, err
	}
	out := make([]HistoryEntry, 0, len(rows))
	for _, r := range rows {
		e := HistoryEntry{At: r.At, Municipality: fmt.Sprintf("%s (%s)", m.Name, m.Code), StaffNumber: r.StaffNumber, Action: r.Action, Detail: r.Detail}
		if r.Office != "" {
			e.Office = officeName(m, r.Office)
		}
		out = append(out, e)
	}
	if err := s.audit(ctx, dbWriter{s.db}, m.Code, reader, AuditOwnHistory, id, ""); err != nil {
		return nil, err
	}
	return out, nil
}

func (p *Pages) myHistory(w http.ResponseWriter, r *http.Request) {
	res := p.residents
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	keys, err := res.Keys(r.Context())
	if err != nil {
		p.apiError(w, r, fmt.Errorf("municipal: platform keys: %w", err))
		return
	}
	c, err := platform.VerifyAssertion(strings.TrimSpace(token), keys, res.Issuer, res.Now())
	if err == nil {
		err = c.ForHolder()
	}
	if err != nil {
		p.logger.InfoContext(r.Context(), "history refused", "err", err)
		Rules.Write(w, r, p.logger, fmt.Errorf("%w: %w", ErrNoCardLogin, err))
		return
	}
	h, err := res.Attributes(r.Context(), c.Subject)
	if err != nil {
		p.apiError(w, r, fmt.Errorf("municipal: the holder's attributes: %w", err))
		return
	}
	es, err := p.s.History(r.Context(), h, Actor{Name: "resident:" + c.Subject + " terminal " + c.Terminal})
	if err != nil {
		p.apiError(w, r, err)
		return
	}
	if es == nil {
		es = []HistoryEntry{}
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"entries": es})
}

// MyHistory asks the municipal service at baseURL for the history of the
// holder of assertion.
func MyHistory(ctx context.Context, hc *http.Client, baseURL, assertion string) ([]HistoryEntry, error) {
	c := &httpapi.Client{Service: "municipal", BaseURL: baseURL, HTTP: hc, Auth: httpapi.Bearer(assertion), Rules: Rules}
	var out struct {
		Entries []HistoryEntry `json:"entries"`
	}
	if _, err := c.DoJSON(ctx, httpapi.Request{Method: http.MethodGet, Path: "/municipal/v1/my-history"}, &out); err != nil {
		return nil, err
	}
	return out.Entries, nil
}
