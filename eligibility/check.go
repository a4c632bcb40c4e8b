package eligibility

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/store"
)

var facilityCode = regexp.MustCompile(`^[0-9]{10}$`)

// AddFacility registers a medical facility (医療機関コード, 10 digits) and
// returns its API key (shown once).
func (s *Service) AddFacility(ctx context.Context, code, name string) (string, error) {
	if !facilityCode.MatchString(code) || strings.TrimSpace(name) == "" {
		return "", fmt.Errorf("%w: facility code must be 10 digits and the name not empty", ErrInvalid)
	}
	key := "facility_" + newID()
	_, err := s.db.Write(ctx, qInsertFacility, code, name, hashKey(key), s.now().Unix())
	if store.IsUniqueViolation(err) {
		return "", fmt.Errorf("%w: facility %s exists", ErrInvalid, code)
	}
	if err != nil {
		return "", fmt.Errorf("eligibility: add facility: %w", err)
	}
	return key, nil
}

// FacilityByKey returns the facility code an API key belongs to.
func (s *Service) FacilityByKey(ctx context.Context, key string) (string, error) {
	var code string
	if err := s.db.QueryRowContext(ctx, qFacilityByKey, hashKey(key)).Scan(&code); err != nil {
		return "", fmt.Errorf("%w: facility key", ErrNotFound)
	}
	return code, nil
}

// Consent is what the patient agreed at the reader to let the facility see
// beyond the basic answer.
type Consent struct {
	Medical bool `json:"medical"` // 診療情報
	Drug    bool `json:"drug"`    // 薬剤情報
	Checkup bool `json:"checkup"` // 特定健診情報
	Limit   bool `json:"limit"`   // 限度額適用区分
}

func (c Consent) String() string {
	var parts []string
	for _, p := range []struct {
		on   bool
		name string
	}{{c.Medical, "medical"}, {c.Drug, "drug"}, {c.Checkup, "checkup"}, {c.Limit, "limit"}} {
		if p.on {
			parts = append(parts, p.name)
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ",")
}

// CheckResult is the reception's answer.
type CheckResult struct {
	ID       string    `json:"check_id"`
	Validity Validity  `json:"validity"`
	At       time.Time `json:"at"`
	// Coverage is present for 有効 and 無効 answers; without the patient's
	// consent to it, the 限度額適用区分 is left out.
	Coverage *InsuredJSON `json:"coverage,omitempty"`
	// PendingClerk is set when a record waits for a clerk (the reception
	// can tell the patient why).
	PendingClerk bool `json:"pending_clerk"`
}

// CheckHolder answers a facility's check of an authenticated card holder:
// it links the holder's records by the five-attribute rule (person comes
// from the JPKI record through the platform), answers for today, and
// records the check.
func (s *Service) CheckHolder(ctx context.Context, facility, terminal, platformID string, person Person, consent Consent) (*CheckResult, error) {
	link, err := s.Link(ctx, platformID, person)
	if err != nil {
		return nil, err
	}
	now := s.now()
	ans, err := s.Check(ctx, platformID, now)
	if err != nil {
		return nil, err
	}
	res := &CheckResult{ID: newID(), Validity: ans.Validity, At: now.UTC(), PendingClerk: len(link.Queued) > 0 || ans.Validity == InvalidNewer}
	var insured any
	if ans.Coverage != nil {
		j := ToJSON(ans.Coverage)
		if !consent.Limit {
			j.LimitCategory = ""
		}
		res.Coverage = &j
		insured = ans.Coverage.ID
	}
	if _, err := s.db.Write(ctx, qInsertCheck, res.ID, now.UnixMilli(), facility, platformID, terminal,
		string(ans.Validity), insured, consent.String()); err != nil {
		return nil, fmt.Errorf("eligibility: record check: %w", err)
	}
	return res, nil
}

// CheckEntry is one recorded check, as the patient sees it.
type CheckEntry struct {
	At       time.Time `json:"at"`
	Facility string    `json:"facility"`
	Name     string    `json:"facility_name"`
	Terminal string    `json:"terminal"`
	Validity string    `json:"validity"`
	Consent  string    `json:"consent"`
}

// ChecksOf lists the checks of a platform ID, newest first.
func (s *Service) ChecksOf(ctx context.Context, platformID string) ([]CheckEntry, error) {
	rows, err := s.db.QueryContext(ctx, qChecksOf, platformID)
	if err != nil {
		return nil, fmt.Errorf("eligibility: read checks: %w", err)
	}
	defer rows.Close()
	var out []CheckEntry
	for rows.Next() {
		var e CheckEntry
		var at int64
		if err := rows.Scan(&at, &e.Facility, &e.Name, &e.Terminal, &e.Validity, &e.Consent); err != nil {
			return nil, err
		}
		e.At = time.UnixMilli(at).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// PersonFromJPKI turns the platform's JPKI attributes into the five matched
// attributes.
func PersonFromJPKI(a *jpki.HolderAttributes) Person {
	return Person{Name: a.Name, Kana: a.Kana, BirthDate: a.BirthDate, Sex: int(a.Sex), Address: a.Address}
}
