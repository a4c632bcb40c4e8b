package staff

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/internal/ratelimit"
	"github.com/mynaplat/mynaplat/web"
)

// Four eyes (issue 16): some of an office's requests run only once a
// second member of staff, in a given role, has approved them with their
// own card. The clerk's page asks the gate for an approval of the
// request (AskApproval), bound to this browser's session, the request (its
// purpose) and a few minutes; the approver places their card on the staff
// terminal, which posts the card login to the office's login endpoint as
// for a sign-in, with the approval's state; the gate checks the login, the
// approver's grant and role at the office, that they are not the clerk who
// asked, and that the time has not passed, and keeps the approval in the
// session, where the office takes it once (TakeApproval). Every approval
// and every refusal is in the directory's audit, naming the person.

// Errors of approvals.
var (
	// ErrSelfApproval: the approver is the member of staff who asked.
	ErrSelfApproval = errors.New("staff: one cannot approve one's own request")
	// ErrNotApprover: the approver's grant is not in the role that approves.
	ErrNotApprover = errors.New("staff: the grant's role does not approve this")
	// ErrApprovalExpired: the approval came after its time.
	ErrApprovalExpired = errors.New("staff: the time to approve has passed")
)

// MaxApprovalWait bounds how long an approval may be waited for.
const MaxApprovalWait = 10 * time.Minute

// Approval is a second member of staff's approval of a request.
type Approval struct {
	// Purpose names the request (the office's ID of it).
	Purpose string `json:"purpose"`
	// Role is the role the approver must have; Asker the platform ID of
	// the member of staff who asked, who cannot approve.
	Role  Role   `json:"role"`
	Asker string `json:"asker"`
	// Back is the request's page, where the approval lands.
	Back  string    `json:"back"`
	Until time.Time `json:"until"`
	// State is the approval's sign-in state at the staff terminal: used
	// up by the first card login posted with it.
	State string `json:"state,omitempty"`
	// By is the approver's grant and At when they approved; nil until
	// then.
	By *Grant    `json:"by,omitempty"`
	At time.Time `json:"at,omitzero"`
}

// Approved reports whether the approval was given.
func (a *Approval) Approved() bool { return a != nil && a.By != nil }

// AskApproval asks for an approval of the request purpose by a member of
// staff of the session's office in role, other than s, until until (at
// most MaxApprovalWait from now): it replaces any approval asked for
// before in this browser's session and returns the staff terminal's page
// where the approver places their card. The approval lands on back (a
// path of the office).
func (g *Gate) AskApproval(w http.ResponseWriter, r *http.Request, s *Session, purpose string, role Role, back string, until time.Time) (string, error) {
	now := g.cfg.Now()
	switch {
	case purpose == "" || len(purpose) > 100 || !role.Valid() || !strings.HasPrefix(back, "/") || strings.HasPrefix(back, "//"):
		return "", fmt.Errorf("%w: an approval needs a purpose, a role and a page of the office", ErrInvalid)
	case !until.After(now) || until.After(now.Add(MaxApprovalWait)):
		return "", fmt.Errorf("%w: an approval is waited for at most %v", ErrInvalid, MaxApprovalWait)
	}
	ss, err := g.cfg.Site.Session(w, r)
	if err != nil {
		return "", err
	}
	b := make([]byte, 16)
	rand.Read(b)
	a := Approval{Purpose: purpose, Role: role, Asker: s.Grant.PlatformID, Back: back, Until: until, State: hex.EncodeToString(b)}
	raw, _ := json.Marshal(a)
	ss.Set(approvalKey(s.Grant.Office), string(raw))
	if err := ss.Save(r.Context()); err != nil {
		return "", err
	}
	g.cfg.Logger.InfoContext(r.Context(), "staff: approval asked", "office", s.Grant.Office, "purpose", purpose, "asker", s.Grant.PlatformID)
	return g.cfg.Desk + "?" + url.Values{"office": {s.Grant.Office}, "state": {a.State}}.Encode(), nil
}

// Approval is the approval of purpose asked for in this browser's session
// at the session's office, given or still waited for; nil if there is
// none.
func (g *Gate) Approval(w http.ResponseWriter, r *http.Request, s *Session, purpose string) *Approval {
	ss, err := g.cfg.Site.Session(w, r)
	if err != nil {
		return nil
	}
	if a := g.pending(ss, s.Grant.Office); a != nil && a.Purpose == purpose && a.Asker == s.Grant.PlatformID {
		return a
	}
	return nil
}

// TakeApproval is the approval given of purpose, used up: the request it
// approved runs once. nil when none was given (the office refuses the
// request, saying so).
func (g *Gate) TakeApproval(w http.ResponseWriter, r *http.Request, s *Session, purpose string) *Approval {
	a := g.Approval(w, r, s, purpose)
	if !a.Approved() {
		return nil
	}
	if ss, err := g.cfg.Site.Session(w, r); err == nil {
		ss.Delete(approvalKey(s.Grant.Office))
		g.save(r, ss)
	}
	return a
}

// pending is the approval asked for at office in ss, or nil.
func (g *Gate) pending(ss *web.Session, office string) *Approval {
	raw := ss.Get(approvalKey(office))
	if raw == "" {
		return nil
	}
	var a Approval
	if json.Unmarshal([]byte(raw), &a) != nil {
		return nil
	}
	return &a
}

// approve takes the card login posted with the state of the approval a:
// the approver's, if they may give it.
func (g *Gate) approve(w http.ResponseWriter, r *http.Request, office, name string, ss *web.Session, a *Approval) {
	// The state is used up whatever follows.
	a.State = ""
	drop := false
	keep := func() {
		if drop {
			ss.Delete(approvalKey(office))
			g.save(r, ss)
			return
		}
		raw, _ := json.Marshal(a)
		ss.Set(approvalKey(office), string(raw))
		g.save(r, ss)
	}
	refuse := func(code, platformID string, why error) {
		if platformID == "" {
			// Counted as a sign-in's: no verified card login.
			g.cfg.Site.Logins().Done("", ratelimit.Source(r), false)
		}
		g.cfg.Logger.InfoContext(r.Context(), "staff: approval refused", "office", office, "purpose", a.Purpose, "code", code, "platform_id", platformID, "err", why)
		t := refusalTexts[code]
		keep()
		g.pages.Render(w, r, http.StatusForbidden, "refused", refusal{Office: office, Name: name, Code: code,
			JA: t[0], EN: t[1], DoJA: t[2], DoEN: t[3], PlatformID: platformID, Approval: true, Back: a.Back})
	}
	// Only the member of staff who asked, still signed in, has approvals
	// landing in their session.
	if s, _ := g.current(r.Context(), ss, office); s == nil || s.Grant.PlatformID != a.Asker {
		drop = true
		refuse("state", "", errors.New("the member of staff who asked is not signed in"))
		return
	}
	c, ok := g.cardLogin(w, r, office, refuse)
	if !ok {
		return
	}
	detail := "terminal " + c.Terminal + " for " + a.Purpose
	if !g.cfg.Now().Before(a.Until) {
		g.audit(r, c.Subject, office, ErrApprovalExpired, detail)
		refuse(string(CodeApprovalExpired), c.Subject, ErrApprovalExpired)
		return
	}
	if c.Subject == a.Asker {
		g.audit(r, c.Subject, office, ErrSelfApproval, detail)
		refuse(string(CodeSelfApproval), c.Subject, ErrSelfApproval)
		return
	}
	// The role first, without using up the card login: a grant in another
	// role is refused here, and the directory's refusals below.
	if gr, err := g.cfg.Directory.Check(r.Context(), c.Subject, office); err == nil && gr.Role != a.Role {
		g.audit(r, c.Subject, office, ErrNotApprover, detail+" as "+string(gr.Role))
		refuse(string(CodeNotApprover), c.Subject, fmt.Errorf("%w: %s", ErrNotApprover, gr.Role))
		return
	}
	gr, err := g.cfg.Directory.Login(r.Context(), LoginRequest{PlatformID: c.Subject, Office: office, AssertionID: c.ID,
		AssertionExpiry: time.Unix(c.Expiry, 0), Terminal: c.Terminal, For: a.Purpose})
	if err != nil {
		keep()
		g.loginRefused(w, r, office, c.Subject, err, refuse)
		return
	}
	if gr.Role != a.Role { // changed between the two looks
		g.audit(r, c.Subject, office, ErrNotApprover, detail+" as "+string(gr.Role))
		refuse(string(CodeNotApprover), c.Subject, ErrNotApprover)
		return
	}
	a.By, a.At = &gr, g.cfg.Now()
	ss.SetFlash(web.Flash{Kind: "ok", JA: gr.Name + "（" + gr.Role.JA() + "）が承認しました。",
		EN: "Approved by " + gr.Name + " (" + gr.Role.EN() + ")."})
	keep()
	http.Redirect(w, r, a.Back, http.StatusSeeOther)
}
