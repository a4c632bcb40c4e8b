package tvlogin_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/community/tvlogin"
	"github.com/mynaplat/mynaplat/community/tvlogin/tvlogintest"
	"github.com/mynaplat/mynaplat/internal/httpapi"
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

// TestHandler: a believed bearer reaches the handler with its viewer; any
// other goes to fail, and Rule answers it 401 login.
func TestHandler(t *testing.T) {
	now := time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC)
	m := tvlogintest.New(t, now)
	rules := httpapi.Rules{tvlogin.Rule()}
	if err := rules.Check(); err != nil {
		t.Fatal(err)
	}
	h := m.Config().Handler(func() time.Time { return now }, func(w http.ResponseWriter, r *http.Request, err error) { rules.Write(w, r, nil, err) },
		func(w http.ResponseWriter, r *http.Request, v tvlogin.Viewer) { httpapi.WriteJSON(w, http.StatusOK, v) })
	for _, tc := range []struct {
		name, bearer string
		status       int
	}{
		{"a TV login", m.Mint("hanako", "tv-1", nil), http.StatusOK},
		{"none", "", http.StatusUnauthorized},
		{"a kiosk's login", m.Mint("hanako", "k-1", func(c *platform.Claims) { c.TerminalKind = platform.Kiosk }), http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.Header = tvlogin.Header(tc.bearer)
			h(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if tc.status == http.StatusOK && !strings.Contains(rec.Body.String(), `"PlatformID":"hanako","Terminal":"tv-1"`) {
				t.Errorf("viewer: %s", rec.Body)
			}
			if tc.status != http.StatusOK && !strings.Contains(rec.Body.String(), `"code":"login"`) {
				t.Errorf("refusal: %s", rec.Body)
			}
		})
	}
}
