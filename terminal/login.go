package terminal

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/web"
)

// Login is a card holder logged in at a terminal: what the card flow hands
// to the service's pages that run after it. It lives in the browser's
// session under one key, written by the kit only and read back through
// LoggedIn, which checks where, what for and until when it holds.
type Login struct {
	// Terminal is the ID of the terminal the card was used at.
	Terminal string `json:"terminal"`
	// PlatformID is the card holder's platform ID.
	PlatformID string `json:"platform_id"`
	// Assertion is the platform's signed assertion, for the services.
	Assertion string `json:"assertion"`
	// Purpose is the purpose the platform was asked to authenticate for
	// ("" or platform.PurposeEligibility).
	Purpose string `json:"purpose,omitempty"`
	// Holder is the name on the card, when the reader knows it (the demo's
	// cards); for display only.
	Holder string `json:"holder,omitempty"`
	// Warnings are the report's warnings (platform.WarnCertExpired).
	Warnings []string `json:"warnings,omitempty"`
	// Expires is when the assertion expires.
	Expires time.Time `json:"expires"`
}

// loginKey is the one session key of the handoff.
const loginKey = "terminal:login"

// Errors of LoggedIn.
var (
	ErrNotLoggedIn   = errors.New("terminal: not logged in")
	ErrOtherTerminal = errors.New("terminal: logged in at another terminal")
	ErrOtherPurpose  = errors.New("terminal: logged in for another purpose")
	ErrLoginExpired  = errors.New("terminal: the login expired")
)

// AnyTerminal passed to LoggedIn accepts a login at any terminal (the card
// holder's own history page).
const AnyTerminal = ""

// LoggedIn is the session's login at terminal (or AnyTerminal) for purpose,
// valid at now. A login of another terminal or purpose, or past its
// expiry, is refused with its sentinel error and left in place (the
// expired one is dropped).
func LoggedIn(ss *web.Session, now time.Time, terminal, purpose string) (Login, error) {
	var l Login
	s := ss.Get(loginKey)
	if s == "" {
		return l, ErrNotLoggedIn
	}
	if err := json.Unmarshal([]byte(s), &l); err != nil || l.Assertion == "" {
		ss.Delete(loginKey)
		return Login{}, ErrNotLoggedIn
	}
	switch {
	case terminal != AnyTerminal && l.Terminal != terminal:
		return Login{}, fmt.Errorf("%w (%s, not %s)", ErrOtherTerminal, l.Terminal, terminal)
	case l.Purpose != purpose:
		return Login{}, fmt.Errorf("%w (%q, not %q)", ErrOtherPurpose, l.Purpose, purpose)
	case !now.Before(l.Expires):
		ss.Delete(loginKey)
		return Login{}, ErrLoginExpired
	}
	return l, nil
}

// saveLogin puts the login into the session (the kit's card step).
func saveLogin(ss *web.Session, l Login) {
	b, _ := json.Marshal(l) // a plain struct always marshals
	ss.Set(loginKey, string(b))
}

// Logout forgets the session's login, wherever it was made.
func Logout(ss *web.Session) { ss.Delete(loginKey) }

// assertionExpiry reads the expiry of an assertion without checking its
// signature: the kit only needs to know when to stop offering it, and the
// services that accept it verify it.
func assertionExpiry(assertion string) (time.Time, error) {
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return time.Time{}, errors.New("terminal: an assertion is three parts")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}, fmt.Errorf("terminal: assertion claims: %w", err)
	}
	var c struct {
		Exp int64 `json:"exp"`
	}
	if err := json.Unmarshal(b, &c); err != nil || c.Exp == 0 {
		return time.Time{}, fmt.Errorf("terminal: assertion has no expiry: %v", err)
	}
	return time.Unix(c.Exp, 0), nil
}
