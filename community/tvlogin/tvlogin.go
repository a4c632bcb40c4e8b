// Package tvlogin is the one check the community services' APIs make of
// their bearer (docs/community-tv.md §2, §5.2): the platform's assertion
// (platform.VerifyAssertion, a JWS checked against the platform's JWK set)
// of a card login made at a TV terminal for no other purpose. The person
// is the assertion's subject and the box its terminal, so a login at one
// box never acts at another. The CATV operators (community/catv), the
// towns (community/town), the health centre (community/watch), the gates'
// bodies (community/gate) and the disaster office (community/evac) all
// believe logins through it, and their handlers behind a login are built
// with Config.Handler and answer an unbelieved one with Rule.
package tvlogin

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/platform"
)

// ErrAssertion is a bearer that is not the platform's assertion of a card
// login at a TV.
var ErrAssertion = errors.New("community: the card login at the TV could not be verified")

// CodeLogin is the problem code of a login an API does not believe.
const CodeLogin httpapi.Code = "login"

// Rule is the rule of an API's Rules that answers ErrAssertion: 401, log
// in with the card again (the same words at every community service).
func Rule() httpapi.Rule {
	return httpapi.Rule{Err: ErrAssertion, Status: http.StatusUnauthorized, Code: CodeLogin,
		JA: "カードでのログインを確認できません。もう一度カードでログインしてください。", EN: "The card login could not be verified: log in with your card again."}
}

// Config is what an API needs to believe a card login at a TV: the
// platform's assertion keys and issuer. Without Keys it believes no login.
type Config struct {
	Keys   func(ctx context.Context) (platform.JWKS, error)
	Issuer string
	// Kind is the kind of terminal the login must have been made at: a
	// TV when empty; a shelter's terminal for the disaster office's
	// check-in (community/evac).
	Kind platform.TerminalKind
}

// Viewer is the person and the TV of a verified login.
type Viewer struct{ PlatformID, Terminal string }

// Check verifies assertion at now.
func (c Config) Check(ctx context.Context, assertion string, now time.Time) (Viewer, error) {
	if c.Keys == nil || assertion == "" {
		return Viewer{}, ErrAssertion
	}
	keys, err := c.Keys(ctx)
	if err != nil {
		return Viewer{}, fmt.Errorf("tvlogin: platform keys: %w", err)
	}
	cl, err := platform.VerifyAssertion(assertion, keys, c.Issuer, now)
	switch {
	case err != nil:
		return Viewer{}, fmt.Errorf("%w: %w", ErrAssertion, err)
	case cl.TerminalKind != cmp.Or(c.Kind, platform.TV):
		return Viewer{}, fmt.Errorf("%w: made at a %q terminal, not a %s", ErrAssertion, cl.TerminalKind, cmp.Or(c.Kind, platform.TV))
	case cl.Purpose != "":
		return Viewer{}, fmt.Errorf("%w: a login for %q", ErrAssertion, cl.Purpose)
	}
	return Viewer{PlatformID: cl.Subject, Terminal: cl.Terminal}, nil
}

// Request verifies the request's bearer (Authorization: Bearer) at now.
func (c Config) Request(r *http.Request, now time.Time) (Viewer, error) {
	bearer, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return c.Check(r.Context(), bearer, now)
}

// Handler is an API's handler behind a card login: it believes the
// request's bearer at now() and calls h with the viewer; a bearer it does
// not believe goes to fail, the API's answer to its errors (ErrAssertion
// through Rule).
func (c Config) Handler(now func() time.Time, fail func(http.ResponseWriter, *http.Request, error), h func(http.ResponseWriter, *http.Request, Viewer)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, err := c.Request(r, now())
		if err != nil {
			fail(w, r, err)
			return
		}
		h(w, r, v)
	}
}

// Header is the header that carries assertion, for a client.
func Header(assertion string) http.Header {
	return http.Header{"Authorization": {"Bearer " + assertion}}
}
