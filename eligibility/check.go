package eligibility

import (
	"context"
	"database/sql"
	"errors"
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
	h := hashKey(key)
	// Keys are never changed or withdrawn once issued, so a found one is
	// remembered (a miss is not: it may be issued by another instance).
	if code, ok := s.facilityKeys.Load(h); ok {
		return code.(string), nil
	}
	var code string
	if err := s.db.QueryRowPrepared(ctx, qFacilityByKey, h).Scan(&code); err != nil {
		return "", fmt.Errorf("%w: facility key", ErrNotFound)
	}
	s.facilityKeys.Store(h, code)
	return code, nil
}

// FacilityName is the registered name of a facility.
func (s *Service) FacilityName(ctx context.Context, code string) (string, error) {
	var name string
	err := s.db.QueryRowContext(ctx, qFacilityName, code).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("%w: facility %s", ErrNotFound, code)
	}
	return name, err
}

// AddFacilityTerminal records that a platform terminal (a reception reader
// or a mobile terminal) belongs to a facility: the facility's checks are
// accepted only from assertions made at its own terminals.
func (s *Service) AddFacilityTerminal(ctx context.Context, facility, terminalID string) error {
	_, err := s.db.Write(ctx, qInsertFacilityTerminal, terminalID, facility, s.now().Unix())
	if store.IsUniqueViolation(err) {
		return fmt.Errorf("%w: terminal %s is already registered", ErrInvalid, terminalID)
	}
	if err != nil {
		return fmt.Errorf("eligibility: add facility terminal: %w", err)
	}
	return nil
}

// ErrForeignTerminal means an assertion was made at a terminal that is not
// the facility's.
var ErrForeignTerminal = errors.New("eligibility: the terminal does not belong to this facility")

func (s *Service) terminalFacility(ctx context.Context, terminalID string) (string, error) {
	// A terminal's facility never changes once registered.
	if f, ok := s.terminalFacilities.Load(terminalID); ok {
		return f.(string), nil
	}
	var f string
	err := s.db.QueryRowPrepared(ctx, qTerminalFacility, terminalID).Scan(&f)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrForeignTerminal
	}
	if err == nil {
		s.terminalFacilities.Store(terminalID, f)
	}
	return f, err
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

// The ways a check is made.
const (
	ModeCard    = "card"    // online, with the card and its PIN
	ModeOffline = "offline" // with the card while the platform was unreachable, confirmed later
	ModePaper   = "paper"   // 資格確認書: insurer number, symbol, number, birth date
	ModeBatch   = "batch"   // 一括照会 of the next days' reservations
)

// Warnings a check can carry.
const (
	// WarnCertExpired: the card's authentication certificate expired less
	// than three months ago; the check is answered, and the patient is told
	// to renew it.
	WarnCertExpired = "certificate_expired"
)

// CheckResult is the reception's answer.
type CheckResult struct {
	ID       string    `json:"check_id"`
	Validity Validity  `json:"validity"`
	At       time.Time `json:"at"`
	Mode     string    `json:"mode"`
	// Coverage is present for 有効 and 無効 answers; without the patient's
	// consent to it, the 限度額適用区分 is left out.
	Coverage *InsuredJSON `json:"coverage,omitempty"`
	// PendingClerk is set when a record waits for a clerk (the reception
	// can tell the patient why).
	PendingClerk bool `json:"pending_clerk"`
	// Warning is WarnCertExpired or empty.
	Warning string `json:"warning,omitempty"`
	// Replayed is set when the check had been recorded before under the
	// same client ID (a resent offline check): nothing new was recorded.
	Replayed bool `json:"replayed,omitempty"`
}

// HolderCheck is a facility's check of a card holder the platform has
// authenticated.
type HolderCheck struct {
	Facility, Terminal string
	PlatformID         string
	Consent            Consent
	Mode               string    // ModeCard or ModeOffline
	ClientID           string    // the terminal's ID of the check; makes it idempotent
	At                 time.Time // the visit; zero means now
	Warning            string
}

// CheckHolder answers a facility's check of an authenticated card holder:
// it links the holder's records by the five-attribute rule when records of
// the holder's birth date changed since the last link (person is asked for
// only then: the JPKI record, through the platform), answers for the day of
// the visit, and records the check.
func (s *Service) CheckHolder(ctx context.Context, hc HolderCheck, person func(context.Context) (Person, error)) (*CheckResult, error) {
	if hc.PlatformID == "" || hc.Facility == "" {
		return nil, fmt.Errorf("%w: platform ID and facility are required", ErrInvalid)
	}
	if hc.Mode == "" {
		hc.Mode = ModeCard
	}
	now := s.now()
	if hc.At.IsZero() {
		hc.At = now
	}
	if hc.ClientID != "" {
		if res, err := s.recorded(ctx, hc.Facility, hc.ClientID); err != nil || res != nil {
			return res, err
		}
	}
	queued, err := s.relink(ctx, hc.PlatformID, person)
	if err != nil {
		return nil, err
	}
	ans, err := s.Check(ctx, hc.PlatformID, hc.At)
	if err != nil {
		return nil, err
	}
	if !queued {
		var pending int
		if err := s.db.QueryRowPrepared(ctx, qPendingFor, hc.PlatformID).Scan(&pending); err != nil {
			return nil, err
		}
		queued = pending > 0
	}
	res := &CheckResult{ID: newID(), Validity: ans.Validity, At: hc.At.UTC(), Mode: hc.Mode, Warning: hc.Warning,
		PendingClerk: queued || ans.Validity == InvalidNewer}
	var insured any
	if ans.Coverage != nil {
		res.Coverage = coverageFor(ans.Coverage, hc.Consent)
		insured = ans.Coverage.ID
	}
	if err := s.record(ctx, res, hc.Facility, hc.PlatformID, hc.Terminal, insured, hc.Consent.String(), hc.ClientID); err != nil {
		return nil, err
	}
	if res.Replayed {
		return s.recorded(ctx, hc.Facility, hc.ClientID)
	}
	return res, nil
}

// coverageFor is what the facility sees of a record: the 限度額適用区分 only
// with the patient's consent.
func coverageFor(in *Insured, c Consent) *InsuredJSON {
	j := ToJSON(in)
	if !c.Limit {
		j.LimitCategory = ""
	}
	return &j
}

// record writes a check once: a second one with the same client ID sets
// res.Replayed and writes nothing.
func (s *Service) record(ctx context.Context, res *CheckResult, facility, platformID, terminal string, insured any, consent, clientID string) error {
	var client any
	if clientID != "" {
		client = clientID
	}
	r, err := s.db.WritePrepared(ctx, qInsertCheck, res.ID, res.At.UnixMilli(), facility, platformID, terminal,
		string(res.Validity), insured, consent, res.Mode, client, res.Warning, s.now().UnixMilli())
	if err != nil {
		return fmt.Errorf("eligibility: record check: %w", err)
	}
	if n, _ := r.RowsAffected(); n == 0 {
		res.Replayed = true
	}
	return nil
}

// recorded is the stored check of a client ID, or nil.
func (s *Service) recorded(ctx context.Context, facility, clientID string) (*CheckResult, error) {
	var res CheckResult
	var at int64
	var insured sql.NullString
	var consent string
	err := s.db.QueryRowContext(ctx, qCheckByClient, facility, clientID).Scan(&res.ID, &at, &res.Validity, &insured, &consent, &res.Mode, &res.Warning)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("eligibility: read check: %w", err)
	}
	res.At, res.Replayed = time.UnixMilli(at).UTC(), true
	if insured.Valid {
		in, err := s.insured(ctx, insured.String)
		if err != nil {
			return nil, err
		}
		res.Coverage = coverageFor(in, Consent{Limit: strings.Contains(consent, "limit")})
	}
	return &res, nil
}

func (s *Service) insured(ctx context.Context, id string) (*Insured, error) {
	var in Insured
	var linked sql.NullString
	if err := scanInsured(s.db.QueryRowContext(ctx, qInsuredByID, id), &in, &linked); err != nil {
		return nil, err
	}
	return &in, nil
}

// relink links the platform ID's records again when records of its birth
// date changed since the last time (or it was never linked), and reports
// whether anything went to the clerk's queue.
func (s *Service) relink(ctx context.Context, platformID string, person func(context.Context) (Person, error)) (bool, error) {
	var changed int
	err := s.db.QueryRowPrepared(ctx, qPersonScan, platformID).Scan(&changed)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return false, fmt.Errorf("eligibility: read link state: %w", err)
	case changed == 0:
		return false, nil
	}
	p, err := person(ctx)
	if err != nil {
		return false, err
	}
	// The watermark is taken before linking: a record changed while we link
	// is seen the next time.
	mark := s.now().Unix()
	link, err := s.Link(ctx, platformID, p)
	if err != nil {
		return false, err
	}
	if _, err := s.db.Write(ctx, qUpsertPersonScan, platformID, civil(p.BirthDate), mark); err != nil {
		return false, fmt.Errorf("eligibility: record link state: %w", err)
	}
	return len(link.Queued) > 0, nil
}

// CardKey is what a 資格確認書 (or a reservation list) identifies a coverage by.
type CardKey struct {
	Insurer   string    `json:"insurer"`
	Symbol    string    `json:"symbol"`
	Number    string    `json:"number"`
	Branch    string    `json:"branch,omitempty"` // optional
	BirthDate time.Time `json:"birth_date"`
}

// Lookup answers for a coverage identified by its card key on day on,
// without a card: 有効 when exactly one matching record covers that day,
// 複数該当 when more than one does, 無効 when the records ended (or 無効（新しい
// 資格あり）when the same person — all five attributes — has a coverage that
// day elsewhere), 該当資格なし when nothing matches.
func (s *Service) Lookup(ctx context.Context, k CardKey, on time.Time) (*Answer, error) {
	if !insurerNumber.MatchString(k.Insurer) || k.Number == "" || k.BirthDate.IsZero() || (k.Branch != "" && !branchPattern.MatchString(k.Branch)) {
		return nil, fmt.Errorf("%w: insurer number (6 or 8 digits), number and birth date are required; branch is 2 digits", ErrInvalid)
	}
	rows, err := s.db.QueryContext(ctx, qByCardKey, k.Insurer, k.Symbol, k.Number, civil(k.BirthDate))
	if err != nil {
		return nil, fmt.Errorf("eligibility: look up: %w", err)
	}
	all, err := readInsured(rows)
	if err != nil {
		return nil, err
	}
	var found []Insured
	for _, in := range all {
		if k.Branch == "" || in.Branch == k.Branch {
			found = append(found, in)
		}
	}
	ans := answerFor(found, on)
	if ans.Validity == Invalid {
		cands, err := s.candidatesByBirth(ctx, civil(k.BirthDate))
		if err != nil {
			return nil, err
		}
		for _, c := range covering(cands, on) {
			if len(mismatches(c.Person, found[0].Person)) == 0 {
				ans.Validity = InvalidNewer
			}
		}
	}
	return ans, nil
}

// covering are the records that cover day on.
func covering(ins []Insured, on time.Time) []Insured {
	day := civil(on)
	var out []Insured
	for _, in := range ins {
		if civil(in.AcquiredOn) <= day && (in.LostOn.IsZero() || day < civil(in.LostOn)) {
			out = append(out, in)
		}
	}
	return out
}

func (s *Service) candidatesByBirth(ctx context.Context, birth string) ([]Insured, error) {
	var out []Insured
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		cands, err := s.candidates(ctx, tx, birth)
		out = out[:0]
		for _, c := range cands {
			out = append(out, c.Insured)
		}
		return err
	})
	return out, err
}

// PaperCheck is a reception's check of a patient without a card, by the
// 資格確認書 (mode ModePaper) or the reservation list (ModeBatch). The check
// is recorded, and when the record is linked to a platform ID it shows on
// that person's audit page.
func (s *Service) PaperCheck(ctx context.Context, facility, terminal, mode string, k CardKey) (*CheckResult, error) {
	return s.paperCheck(ctx, facility, terminal, mode, "", k)
}

// paperCheck is PaperCheck with the caller's ID of the check: a check whose
// client ID is already recorded is answered from the record (Replayed) and
// not recorded again. The batch pre-check uses it so that a row checked just
// before a crash is not checked twice on resume.
func (s *Service) paperCheck(ctx context.Context, facility, terminal, mode, clientID string, k CardKey) (*CheckResult, error) {
	if mode != ModePaper && mode != ModeBatch {
		return nil, fmt.Errorf("%w: mode %q", ErrInvalid, mode)
	}
	if clientID != "" {
		if res, err := s.recorded(ctx, facility, clientID); err != nil || res != nil {
			return res, err
		}
	}
	now := s.now()
	ans, err := s.Lookup(ctx, k, now)
	if err != nil {
		return nil, err
	}
	res := &CheckResult{ID: newID(), Validity: ans.Validity, At: now.UTC(), Mode: mode}
	var insured any
	platformID := ""
	if ans.Coverage != nil {
		// A card-less check sees no 限度額 (that needs consent at the reader).
		res.Coverage = coverageFor(ans.Coverage, Consent{})
		insured = ans.Coverage.ID
		var linked sql.NullString
		if err := s.db.QueryRowContext(ctx, qLinkOf, ans.Coverage.ID).Scan(&linked); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
		platformID = linked.String
	}
	if err := s.record(ctx, res, facility, platformID, terminal, insured, "none", clientID); err != nil {
		return nil, err
	}
	if res.Replayed {
		return s.recorded(ctx, facility, clientID)
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
	Mode     string    `json:"mode"`
}

// ChecksOf lists the checks of a platform ID, newest first.
func (s *Service) ChecksOf(ctx context.Context, platformID string) ([]CheckEntry, error) {
	if platformID == "" {
		return nil, nil
	}
	rows, err := s.db.QueryContext(ctx, qChecksOf, platformID)
	if err != nil {
		return nil, fmt.Errorf("eligibility: read checks: %w", err)
	}
	defer rows.Close()
	var out []CheckEntry
	for rows.Next() {
		var e CheckEntry
		var at int64
		if err := rows.Scan(&at, &e.Facility, &e.Name, &e.Terminal, &e.Validity, &e.Consent, &e.Mode); err != nil {
			return nil, err
		}
		e.At = time.UnixMilli(at).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// FacilityCheck is one check as the facility's back office sees it.
type FacilityCheck struct {
	ID         string    `json:"check_id"`
	At         time.Time `json:"at"`
	RecordedAt time.Time `json:"recorded_at"`
	Terminal   string    `json:"terminal"`
	Mode       string    `json:"mode"`
	Validity   string    `json:"validity"`
	Warning    string    `json:"warning,omitempty"`
	ClientID   string    `json:"client_id,omitempty"`
}

// FacilityChecks lists a facility's recorded checks, newest first, at most
// limit. Offline checks appear here once confirmed; until then they are the
// terminal's provisional ones.
func (s *Service) FacilityChecks(ctx context.Context, facility string, limit int) ([]FacilityCheck, error) {
	rows, err := s.db.QueryContext(ctx, qFacilityChecks, facility, limit)
	if err != nil {
		return nil, fmt.Errorf("eligibility: read checks: %w", err)
	}
	defer rows.Close()
	var out []FacilityCheck
	for rows.Next() {
		var c FacilityCheck
		var at, rec int64
		var client sql.NullString
		if err := rows.Scan(&c.ID, &at, &rec, &c.Terminal, &c.Mode, &c.Validity, &c.Warning, &client); err != nil {
			return nil, err
		}
		c.At, c.RecordedAt, c.ClientID = time.UnixMilli(at).UTC(), time.UnixMilli(rec).UTC(), client.String
		out = append(out, c)
	}
	return out, rows.Err()
}

// PersonFromJPKI turns the platform's JPKI attributes into the five matched
// attributes.
func PersonFromJPKI(a *jpki.HolderAttributes) Person {
	return Person{Name: a.Name, Kana: a.Kana, BirthDate: a.BirthDate, Sex: int(a.Sex), Address: a.Address}
}
