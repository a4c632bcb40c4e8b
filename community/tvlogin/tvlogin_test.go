package tvlogin_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/community/tvlogin"
	"github.com/mynaplat/mynaplat/community/tvlogin/tvlogintest"
	"github.com/mynaplat/mynaplat/platform"
)

// TestCheck: the platform's assertion of a card login at a TV, for no
// purpose, is the person at that box; any other bearer is ErrAssertion.
func TestCheck(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC)
	m := tvlogintest.New(t, now)
	other := tvlogintest.New(t, now)
	v, err := m.Config().Check(ctx, m.Mint("hanako", "tv-1", nil), now)
	if err != nil || v != (tvlogin.Viewer{PlatformID: "hanako", Terminal: "tv-1"}) {
		t.Fatalf("a TV login: %+v, %v", v, err)
	}
	for _, tc := range []struct {
		name, bearer string
		cfg          tvlogin.Config
	}{
		{"none", "", m.Config()},
		{"no keys configured", m.Mint("hanako", "tv-1", nil), tvlogin.Config{Issuer: tvlogintest.Issuer}},
		{"a kiosk's login", m.Mint("hanako", "k-1", func(c *platform.Claims) { c.TerminalKind = platform.Kiosk }), m.Config()},
		{"a login for a purpose", m.Mint("hanako", "tv-1", func(c *platform.Claims) { c.Purpose = platform.PurposeStaff }), m.Config()},
		{"another issuer", m.Mint("hanako", "tv-1", func(c *platform.Claims) { c.Issuer = "https://evil.test" }), m.Config()},
		{"expired", m.Mint("hanako", "tv-1", func(c *platform.Claims) { c.Expiry = now.Add(-time.Minute).Unix() }), m.Config()},
		{"another key", other.Mint("hanako", "tv-1", nil), m.Config()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.cfg.Check(ctx, tc.bearer, now); !errors.Is(err, tvlogin.ErrAssertion) {
				t.Errorf("got %v, want ErrAssertion", err)
			}
		})
	}
}
