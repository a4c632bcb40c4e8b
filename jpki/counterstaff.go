package jpki

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// This file is who works at a counter, as the centre sees them (issue 16):
// the counter's town, the clerk signed in at it and the supervisor who
// approved a revocation, a loss, a death or a PIN reset. The counter's
// staff gate (package staff) verified their card logins and grants; the
// centre cannot, and takes the counter's word for them under its caller
// key — but it keeps them in every audit row, refuses another town's
// cards, and refuses an approval that is missing, the clerk's own, not a
// supervisor's of the same counter, or too old.

// CounterSupervisorRole is the role of a grant that approves at a counter:
// the staff directory's staff.CounterSupervisor (the centre does not
// import the directory; a counter test checks the two agree).
const CounterSupervisorRole = "counter-supervisor"

// ApprovalMaxAge is how long a supervisor's approval stands: the clerk runs
// the operation right after it, while the supervisor is still at the desk.
const ApprovalMaxAge = 10 * time.Minute

// CounterStaff is a member of staff at a counter, as their grant names
// them. The platform ID is never the My Number.
type CounterStaff struct {
	PlatformID  string `json:"platform_id"`
	Name        string `json:"name"`
	Office      string `json:"office"`
	Role        string `json:"role"`
	StaffNumber string `json:"staff_number"`
}

// String names the person in an audit row: platform ID, name, office, role
// and staff number (the form of staff.Session.Actor).
func (s *CounterStaff) String() string {
	if s == nil {
		return ""
	}
	return fmt.Sprintf("staff:%s %s (%s, %s, %s)", s.PlatformID, s.Name, s.Office, s.Role, s.StaffNumber)
}

func (s *CounterStaff) validate(what string) error {
	if s == nil {
		return fmt.Errorf("%w: no %s", ErrNoStaff, what)
	}
	for _, f := range []string{s.PlatformID, s.Name, s.Office, s.Role, s.StaffNumber} {
		if f == "" || utf8.RuneCountInString(f) > 64 || strings.ContainsFunc(f, unicode.IsControl) {
			return fmt.Errorf("%w: the %s must have a platform ID, name, office, role and staff number (1–64 characters each)", ErrNoStaff, what)
		}
	}
	return nil
}

// Identity is how the person asking at the counter was identified.
type Identity string

// The ways of identifying the person at the counter.
const (
	// IdentityCard: their own card, read on the counter's reader.
	IdentityCard Identity = "card"
	// IdentityDocuments: identity documents (a passport, a driving
	// licence …) the clerk checked, recorded as such.
	IdentityDocuments Identity = "documents"
)

// Valid reports whether i is one of the ways.
func (i Identity) Valid() bool { return i == IdentityCard || i == IdentityDocuments }

// Errors of the counter's staff and towns.
var (
	// ErrOtherTown: the card's holder lives in another municipality than
	// the counter's.
	ErrOtherTown = errors.New("jpki: the card's holder lives in another town than the counter's")
	// ErrNoStaff: a counter call that names no signed-in clerk or no town.
	ErrNoStaff = errors.New("jpki: the counter call names no signed-in staff member")
	// ErrSelfApproval: the supervisor who approved is the clerk who asks.
	ErrSelfApproval = fmt.Errorf("%w: the clerk cannot approve their own request", ErrNoApproval)
	// ErrNotSupervisor: the approver is not a supervisor of this counter.
	ErrNotSupervisor = fmt.Errorf("%w: the approver is not a supervisor of this counter", ErrNoApproval)
	// ErrApprovalExpired: the approval is older than ApprovalMaxAge.
	ErrApprovalExpired = fmt.Errorf("%w: the approval has expired", ErrNoApproval)
)

// checkTown refuses a card of another town than the actor's (a counter
// in this process, with no town, serves every town).
func (a CounterActor) checkTown(cardID, municipality string) error {
	if a.Town != "" && municipality != a.Town {
		return fmt.Errorf("%w: card %s (%s) at the counter of %s", ErrOtherTown, cardID, municipality, a.Town)
	}
	return nil
}

// checkApproval refuses an operation that needs four eyes without a
// supervisor's approval that stands now. The program's own counter in this
// process (no staff: the CLI, the demo seeding) is the operator's: it
// needs the approver named only where named says so (a PIN reset).
func (a CounterActor) checkApproval(ap Approval, now time.Time, named bool) error {
	if a.Staff == nil {
		if named {
			return ap.validate()
		}
		return nil
	}
	switch {
	case ap.Supervisor == nil:
		return fmt.Errorf("%w: no supervisor approved", ErrNoApproval)
	case ap.Supervisor.validate("approver") != nil:
		return fmt.Errorf("%w: the approver is not named", ErrNoApproval)
	case ap.Supervisor.PlatformID == a.Staff.PlatformID:
		return fmt.Errorf("%w (%s)", ErrSelfApproval, a.Staff.PlatformID)
	case ap.Supervisor.Role != CounterSupervisorRole || ap.Supervisor.Office != a.Staff.Office:
		return fmt.Errorf("%w: %s at %s", ErrNotSupervisor, ap.Supervisor.Role, ap.Supervisor.Office)
	case ap.At.IsZero() || now.Sub(ap.At) > ApprovalMaxAge || ap.At.Sub(now) > time.Minute:
		return fmt.Errorf("%w: approved at %s", ErrApprovalExpired, ap.At.Format(time.RFC3339))
	case !ap.Identity.Valid():
		return fmt.Errorf("%w: how the person was identified (card or documents)", ErrInvalid)
	}
	return nil
}

// approver names who approved, for the audit: the supervisor, or the
// operator the program's own counter named.
func (ap Approval) approver() string {
	if ap.Supervisor != nil {
		return ap.Supervisor.String()
	}
	return ap.By
}

// The headers that carry the counter's town and its clerk on every call.
const (
	headerTown  = "Mynaplat-Counter-Town"
	headerStaff = "Mynaplat-Counter-Staff" // base64url of the CounterStaff JSON
)

// counterHeader is the header of a call made by the actor's town and clerk.
func (a CounterActor) header() http.Header {
	h := http.Header{}
	if a.Town != "" {
		h.Set(headerTown, a.Town)
	}
	if a.Staff != nil {
		b, _ := json.Marshal(a.Staff)
		h.Set(headerStaff, base64.RawURLEncoding.EncodeToString(b))
	}
	return h
}

// actorOf is the actor of a call over the counter API: the caller key's
// name, the town and the clerk of its headers. Every call must name both.
func actorOf(r *http.Request, caller string) (CounterActor, error) {
	a := CounterActor{Caller: caller, Town: r.Header.Get(headerTown)}
	if _, err := LookupMunicipality(a.Town); err != nil {
		return a, fmt.Errorf("%w: the %s header must be the counter's municipality code", ErrNoStaff, headerTown)
	}
	raw := r.Header.Get(headerStaff)
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if raw == "" || len(raw) > 2048 || err != nil {
		return a, fmt.Errorf("%w: the %s header is missing or not base64url", ErrNoStaff, headerStaff)
	}
	var s CounterStaff
	if err := json.Unmarshal(b, &s); err != nil {
		return a, fmt.Errorf("%w: the %s header is not the staff member's JSON", ErrNoStaff, headerStaff)
	}
	if err := s.validate("clerk"); err != nil {
		return a, err
	}
	if s.Office != "counter:"+a.Town {
		return a, fmt.Errorf("%w: the clerk works at %s, not at the counter of %s", ErrOtherTown, s.Office, a.Town)
	}
	a.Staff = &s
	return a, nil
}
