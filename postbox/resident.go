package postbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/internal/secret"
	"github.com/mynaplat/mynaplat/platform"
)

// The owner reaches their box from a terminal (their computer with a card
// reader) through the resident API (resident_http.go): the terminal shows
// the pages and signs with the card on its reader; the post box sees the
// platform's assertion and the signatures, never the card or a PIN.
//
// Why a box session. The platform's assertion lives minutes
// (platform.Config.AssertionTTL, 5 by default): long enough to carry one
// card login from the terminal to a service, too short for a person who
// reads a certificate and then writes an application. The terminal could
// keep the assertion and the post box accept it past its expiry, but then
// any copy of it would open the box for as long as a page stays open, and
// the platform's expiry would mean nothing. So the post box exchanges a
// fresh assertion for a session of its own: a random token, kept here only
// as its hash, that opens this one box and nothing else (no other service
// takes it), lapses after SessionIdle without use and SessionMax after the
// login whatever happens, and ends at logout. Sessions are rows in the
// database, so that any instance of the post box takes them.

// SessionPrefix starts every box session token, so that a bearer token
// that is not one is taken for an assertion.
const SessionPrefix = "pbs_"

// How long a box session lasts: SessionIdle after its last use, and never
// more than SessionMax after the card login.
const (
	SessionIdle = 20 * time.Minute
	SessionMax  = 8 * time.Hour
)

// touchAfter is how much of SessionIdle a session may use before a request
// moves its expiry on: most requests then write nothing.
const touchAfter = time.Minute

// Errors of the resident API's authentication.
var (
	// ErrAssertion is a bearer assertion that is not the platform's, has
	// expired, is for another audience or purpose, or was made at another
	// terminal than the post box's.
	ErrAssertion = errors.New("postbox: the card login could not be verified")
	// ErrSession is a box session that has lapsed, ended or never was.
	ErrSession = errors.New("postbox: the box session has ended")
)

// Session is a box session as the owner's terminal holds it.
type Session struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// ownerBox verifies the platform's assertion of a box's owner, made at the
// post box's terminal for no other purpose, and opens (or makes) the box.
func (s *Service) ownerBox(ctx context.Context, assertion string) (*Box, *platform.Claims, error) {
	if s.keys == nil {
		return nil, nil, fmt.Errorf("%w: the post box has no platform keys", ErrAssertion)
	}
	keys, err := s.keys(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("postbox: platform keys: %w", err)
	}
	c, err := platform.VerifyAssertion(assertion, keys, s.issuer, s.now())
	switch {
	case err != nil:
		return nil, nil, fmt.Errorf("%w: %w", ErrAssertion, err)
	case c.Terminal != s.term:
		return nil, nil, fmt.Errorf("%w: made at terminal %q, not %q", ErrAssertion, c.Terminal, s.term)
	case c.Purpose != "":
		// A login for another service's rules (an eligibility check's)
		// does not open a post box.
		return nil, nil, fmt.Errorf("%w: a login for %q", ErrAssertion, c.Purpose)
	}
	box, err := s.OpenBox(ctx, c.Subject)
	if err != nil {
		return nil, nil, err
	}
	return box, c, nil
}

// OpenSession exchanges the platform's assertion of a box's owner for a box
// session, and audits the login with the terminal it was made at.
func (s *Service) OpenSession(ctx context.Context, assertion string) (*Session, *Box, error) {
	if strings.HasPrefix(assertion, SessionPrefix) {
		return nil, nil, fmt.Errorf("%w: a session is not exchanged for another", ErrAssertion)
	}
	box, c, err := s.ownerBox(ctx, assertion)
	if err != nil {
		return nil, nil, err
	}
	now := s.now()
	ss := &Session{Token: secret.New(SessionPrefix), ExpiresAt: now.Add(SessionIdle).Truncate(time.Second)}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, qInsertSession, secret.Hash(ss.Token), box.ID, c.Terminal, now.Unix(), ss.ExpiresAt.Unix()); err != nil {
			return err
		}
		return s.audit(ctx, tx, box.ID, "owner", "login", "terminal "+c.Terminal)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("postbox: open session: %w", err)
	}
	return ss, box, nil
}

// sessionBox is the box of a live session, whose expiry it moves on.
func (s *Service) sessionBox(ctx context.Context, token string) (*Box, error) {
	var boxID string
	var created, expires int64
	err := s.db.QueryRowContext(ctx, qSession, secret.Hash(token)).Scan(&boxID, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrSession
	}
	if err != nil {
		return nil, fmt.Errorf("postbox: session: %w", err)
	}
	now := s.now()
	if now.Unix() >= expires {
		return nil, fmt.Errorf("%w: lapsed at %s", ErrSession, time.Unix(expires, 0).UTC().Format(time.RFC3339))
	}
	next := min(now.Add(SessionIdle).Unix(), time.Unix(created, 0).Add(SessionMax).Unix())
	if next-expires >= int64(touchAfter/time.Second) {
		if _, err := s.db.Write(ctx, qTouchSession, next, secret.Hash(token)); err != nil {
			return nil, fmt.Errorf("postbox: session: %w", err)
		}
	}
	return s.Box(ctx, boxID)
}

// EndSession ends a box session (the owner logs out). Ending one that has
// ended already, or never was, does nothing.
func (s *Service) EndSession(ctx context.Context, token string) error {
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var boxID string
		err := tx.QueryRowContext(ctx, qEndSession, s.now().Unix(), secret.Hash(token)).Scan(&boxID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, boxID, "owner", "logout", "")
	})
	if err != nil {
		return fmt.Errorf("postbox: end session: %w", err)
	}
	return nil
}

// residentBox is the box a bearer token opens: a box session's, or the
// owner's by the platform's assertion.
func (s *Service) residentBox(ctx context.Context, token string) (*Box, error) {
	if strings.HasPrefix(token, SessionPrefix) {
		return s.sessionBox(ctx, token)
	}
	box, _, err := s.ownerBox(ctx, token)
	return box, err
}

// NoticeChoice is a business the owner may have told a new address.
type NoticeChoice struct {
	Party       *Party `json:"party"`
	CustomerRef string `json:"customer_ref"`
	// Sent is set when the business was sent a notice for this change.
	Sent bool `json:"sent"`
}

// NoticeView is a change notice with the businesses the owner consented
// to tell.
type NoticeView struct {
	Notice  *Notice        `json:"notice"`
	Choices []NoticeChoice `json:"choices"`
}

// NoticeChoices is a change notice of a box with the businesses the owner
// consented to tell a new address; it audits the read.
func (s *Service) NoticeChoices(ctx context.Context, box *Box, id string) (*NoticeView, error) {
	n, err := s.Notice(ctx, box, id)
	if err != nil {
		return nil, err
	}
	if err := s.audit(ctx, s.db, box.ID, "owner", "read", "change notice "+id); err != nil {
		return nil, err
	}
	parties, err := s.publicParties(ctx)
	if err != nil {
		return nil, err
	}
	sent, err := s.Notified(ctx, box, id)
	if err != nil {
		return nil, err
	}
	cs, err := s.Consents(ctx, box)
	if err != nil {
		return nil, err
	}
	v := &NoticeView{Notice: n, Choices: []NoticeChoice{}}
	for _, c := range cs {
		if c.AddressNotice {
			v.Choices = append(v.Choices, NoticeChoice{Party: parties[c.PartyID], CustomerRef: c.CustomerRef, Sent: sent[c.PartyID]})
		}
	}
	return v, nil
}

// publicParties are the parties by ID as a box's owner sees them: names and
// roles, not where or how the post box reaches them.
func (s *Service) publicParties(ctx context.Context) (map[string]*Party, error) {
	ps, err := s.Parties(ctx)
	if err != nil {
		return nil, err
	}
	m := make(map[string]*Party, len(ps))
	for _, p := range ps {
		m[p.ID] = &Party{ID: p.ID, NameJA: p.NameJA, NameEN: p.NameEN, CorporateNumber: p.CorporateNumber, Roles: p.Roles}
	}
	return m, nil
}
