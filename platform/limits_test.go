package platform

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/internal/inproc"
	"github.com/mynaplat/mynaplat/internal/ratelimit"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// from is a terminal client of w's platform whose requests come from addr.
func (w *world) from(t *testing.T, id, key, addr string) *TerminalClient {
	t.Helper()
	mux := http.NewServeMux()
	w.p.Routes(mux)
	tc := w.terminal(t, id, key)
	tc.BaseURL = "http://platform.test"
	tc.HTTP = inproc.Client(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		r.RemoteAddr = addr + ":40000"
		mux.ServeHTTP(rw, r)
	}))
	return tc
}

// addTerminal registers a kiosk and returns its client from addr.
func (w *world) addTerminal(t *testing.T, id, addr string) *TerminalClient {
	t.Helper()
	key, err := w.p.RegisterTerminal(context.Background(), Terminal{ID: id, Kind: Kiosk, Owner: "酒田市", Name: id})
	if err != nil {
		t.Fatal(err)
	}
	return w.from(t, id, key, addr)
}

// limited reports whether err is a 429 refusal, and its wait.
func limited(t *testing.T, err error) time.Duration {
	t.Helper()
	d, ok := ratelimit.After(err)
	if !ok || !errors.Is(err, ratelimit.ErrLimited) {
		t.Fatalf("error %v, want a 429 refusal", err)
	}
	return d
}

// TestLimits is issue 16's test: 1,000 wrong answers for one card from one
// terminal at one address are refused with 429 and Retry-After after the
// first few, and the card's holder at another terminal elsewhere logs in at
// once; failures spread over many terminals do not keep him out either.
func TestLimits(t *testing.T) {
	w := newWorld(t, storetest.SQLite(t))
	ctx := context.Background()
	cd, _ := w.issue(t)
	lim := DefaultLimits()
	attacker := w.addTerminal(t, "kiosk-attacker-1", "203.0.113.9")
	holder := w.addTerminal(t, "reception-sakata-2", "192.0.2.1")

	// The card's certificate is public; its key is not. The attacker
	// answers one challenge with garbage and replays it.
	good := answer(t, holder, cd)
	ch, err := attacker.Challenge(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wrong := AuthRequest{ChallengeID: ch.ID, Certificate: good.Certificate, Signature: make([]byte, 256)}
	failed, refusedN := 0, 0
	var maxWait time.Duration
	for range 1000 {
		ar, err := attacker.Authenticate(ctx, wrong)
		if err == nil {
			if ar.Report.Result != Failed {
				t.Fatalf("a wrong answer: %s", ar.Report.Result)
			}
			failed++
			continue
		}
		refusedN++
		maxWait = max(maxWait, limited(t, err))
	}
	if failed != lim.Card.Pair.Burst || refusedN != 1000-lim.Card.Pair.Burst {
		t.Errorf("%d answered FAILED, %d refused; want %d and %d", failed, refusedN, lim.Card.Pair.Burst, 1000-lim.Card.Pair.Burst)
	}
	if maxWait <= 0 || maxWait > lim.Card.Pair.Every {
		t.Errorf("Retry-After up to %v, want within (0, %v]", maxWait, lim.Card.Pair.Every)
	}
	// The holder, at once.
	wantResult(t, w.auth(t, holder, good), Passed, "", "")

	t.Run("failures spread over many terminals", func(t *testing.T) {
		// Four terminals spend the card's failures from every terminal.
		for i := range lim.Card.Account.Burst / lim.Card.Pair.Burst {
			tc := w.addTerminal(t, fmt.Sprint("kiosk-spread-", i), fmt.Sprint("198.51.100.", i))
			for range lim.Card.Pair.Burst {
				ch, err := tc.Challenge(ctx)
				if err != nil {
					t.Fatal(err)
				}
				tc.Authenticate(ctx, AuthRequest{ChallengeID: ch.ID, Certificate: good.Certificate, Signature: make([]byte, 256)})
			}
		}
		// A further failure, from a fresh terminal, is refused for at
		// most the card's interval …
		tc := w.addTerminal(t, "kiosk-spread-x", "198.51.100.99")
		ch, err := tc.Challenge(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_, err = tc.Authenticate(ctx, AuthRequest{ChallengeID: ch.ID, Certificate: good.Certificate, Signature: make([]byte, 256)})
		if d := limited(t, err); d > lim.Card.Account.Every {
			t.Errorf("Retry-After %v, want at most %v", d, lim.Card.Account.Every)
		}
		// … and the holder, whose signature verifies, is not refused at all.
		wantResult(t, w.auth(t, holder, answer(t, holder, cd)), Passed, "", "")
	})

	t.Run("failed terminal credentials per address", func(t *testing.T) {
		forged := w.from(t, "kiosk-attacker-1", "AAAA", "203.0.113.50")
		for i := range lim.Credentials.Burst {
			if _, err := forged.Challenge(ctx); !errors.Is(err, ErrUnknownTerminal) {
				t.Fatalf("try %d: %v, want unknown terminal", i, err)
			}
		}
		_, err := forged.Challenge(ctx)
		if d := limited(t, err); d > lim.Credentials.Every {
			t.Errorf("Retry-After %v, want at most %v", d, lim.Credentials.Every)
		}
		// Another address is not touched.
		if _, err := holder.Challenge(ctx); err != nil {
			t.Errorf("the holder's terminal: %v", err)
		}
		w.clock.advance(lim.Credentials.Every)
		if _, err := forged.Challenge(ctx); !errors.Is(err, ErrUnknownTerminal) {
			t.Errorf("after Retry-After: %v, want unknown terminal again", err)
		}
	})

	t.Run("one terminal's flood", func(t *testing.T) {
		w.p.limits = newLimiter(Limits{Terminal: ratelimit.Limit{Burst: 3, Every: time.Second}, Unlimited: []string{"reception-sakata-2"}}, w.clock.now)
		for range 3 {
			if _, err := attacker.Challenge(ctx); err != nil {
				t.Fatal(err)
			}
		}
		_, err := attacker.Challenge(ctx)
		if d := limited(t, err); d != time.Second {
			t.Errorf("Retry-After %v, want 1s", d)
		}
		for range 10 {
			if _, err := holder.Challenge(ctx); err != nil {
				t.Fatalf("an unlimited terminal: %v", err)
			}
		}
		// An App terminal (the OpenID provider's page, serving everyone)
		// is exempt by its kind, without being listed; a kiosk is not.
		key, err := w.p.RegisterTerminal(ctx, Terminal{ID: "oidc-app-9", Kind: App, Owner: "mynaplat", Name: "app"})
		if err != nil {
			t.Fatal(err)
		}
		app := w.from(t, "oidc-app-9", key, "192.0.2.9")
		for i := range 10 {
			if _, err := app.Challenge(ctx); err != nil {
				t.Fatalf("challenge %d of an App terminal: %v", i, err)
			}
		}
		kiosk := w.addTerminal(t, "kiosk-sakata-9", "192.0.2.10")
		for range 3 {
			if _, err := kiosk.Challenge(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := kiosk.Challenge(ctx); err == nil {
			t.Error("a kiosk's fourth challenge passed, want it limited")
		} else {
			limited(t, err)
		}
	})
}
