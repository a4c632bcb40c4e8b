package watch_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/mynaplat/mynaplat/community/tvlogin/tvlogintest"
	"github.com/mynaplat/mynaplat/community/watch"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// TestAPI: the TV's card login reads the person's day and answers it; a
// login that is not a TV's, for a purpose, or of a person not watched is
// refused, and a bad answer is refused with its code.
func TestAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		m := tvlogintest.New(t, f.clk.now())
		mux := http.NewServeMux()
		f.svc.Routes(mux, m.Config())
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		c := &watch.Client{BaseURL: srv.URL}

		tome := m.Mint("tome", "tv-nambu-1", nil)
		if d, err := c.Today(ctx, tome); err != nil || d.Answered || d.Name != "法勝寺 トメ" {
			t.Fatalf("today: %+v %v", d, err)
		}
		if d, err := c.Input(ctx, tome, watch.Answer{Feeling: 1, BP: 2, Choice: 1}); err != nil || !d.Answered || d.Flagged {
			t.Fatalf("input: %+v %v", d, err)
		}
		if d, err := c.Today(ctx, tome); err != nil || !d.Answered || d.Answer.BP != 2 {
			t.Fatalf("today after: %+v %v", d, err)
		}
		if _, err := c.Input(ctx, tome, watch.Answer{Feeling: 7, BP: 1, Choice: 1}); watch.ReasonOf(err) != watch.ReasonBadAnswer {
			t.Errorf("bad answer: %v", err)
		}
		if _, err := c.Today(ctx, m.Mint("nobody", "tv-nambu-1", nil)); watch.ReasonOf(err) != watch.ReasonNotWatched {
			t.Errorf("not watched: %v", err)
		}
		for name, a := range map[string]string{
			"a kiosk's login":   m.Mint("tome", "kiosk-1", func(c *platform.Claims) { c.TerminalKind = platform.Kiosk }),
			"a login for staff": m.Mint("tome", "tv-nambu-1", func(c *platform.Claims) { c.Purpose = platform.PurposeStaff }),
			"another issuer":    m.Mint("tome", "tv-nambu-1", func(c *platform.Claims) { c.Issuer = "https://evil.test" }),
			"none":              "",
		} {
			if _, err := c.Today(ctx, a); !errors.Is(err, watch.ErrAssertion) {
				t.Errorf("%s: %v, want ErrAssertion", name, err)
			}
		}
	})
}
