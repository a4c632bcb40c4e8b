package platform

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/internal/trace"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/wareki"
)

type clock struct{ t atomic.Int64 }

func (c *clock) now() time.Time          { return time.Unix(0, c.t.Load()) }
func (c *clock) advance(d time.Duration) { c.t.Add(int64(d)) }

// world is a JPKI centre and a platform, each behind its own HTTP server
// (the platform reaches the centre only over HTTP), a card store, and one
// registered kiosk.
type world struct {
	clock    *clock
	centre   *jpki.Centre
	jpkiSrv  *httptest.Server
	jpkiDown atomic.Bool
	p        *Platform
	platSrv  *httptest.Server
	cards    *card.Store
	kiosk    *TerminalClient
}

func newWorld(t testing.TB, db *store.DB) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{clock: &clock{}}
	w.clock.t.Store(time.Date(2026, 11, 24, 10, 0, 0, 0, wareki.JST()).UnixNano())
	mux := http.NewServeMux()
	w.jpkiSrv = httptest.NewServer(nil)
	t.Cleanup(w.jpkiSrv.Close)
	c, err := jpki.Open(ctx, jpki.Config{DB: db, Dir: t.TempDir(), BaseURL: w.jpkiSrv.URL, Now: w.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	c.Routes(mux)
	inner := c.Wrap(mux)
	w.jpkiSrv.Config.Handler = http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if w.jpkiDown.Load() {
			http.Error(rw, "down", http.StatusServiceUnavailable)
			return
		}
		inner.ServeHTTP(rw, r)
	})
	token, err := c.AddOperator(ctx, "platform")
	if err != nil {
		t.Fatal(err)
	}
	w.centre = c
	w.p, err = Open(ctx, Config{DB: db, Centre: &jpki.Client{BaseURL: w.jpkiSrv.URL, Token: token},
		Issuer: "https://platform.test", RevocationMaxAge: 10 * time.Minute, Now: w.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	pmux := http.NewServeMux()
	w.p.Routes(pmux)
	w.platSrv = httptest.NewServer(trace.Middleware(pmux))
	t.Cleanup(w.platSrv.Close)
	key, err := w.p.RegisterTerminal(ctx, Terminal{ID: "kiosk-sakata-1", Kind: Kiosk, Owner: "酒田市", Name: "市役所 1階"})
	if err != nil {
		t.Fatal(err)
	}
	w.kiosk = w.terminal(t, "kiosk-sakata-1", key)
	if w.cards, err = card.NewStore(t.TempDir(), w.clock.now); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *world) terminal(t testing.TB, id, key string) *TerminalClient {
	k, err := base64.StdEncoding.DecodeString(key)
	if err != nil {
		t.Fatal(err)
	}
	return &TerminalClient{BaseURL: w.platSrv.URL, TerminalID: id, Key: k, Now: w.clock.now}
}

func (w *world) issue(t testing.TB) (*card.Card, *jpki.IssuedCard) {
	t.Helper()
	r := jpki.Resident{Name: "酒田　一郎", Kana: "サカタ　イチロウ", BirthDate: time.Date(1975, 6, 30, 0, 0, 0, 0, wareki.JST()),
		Sex: jpki.Male, Address: "山形県酒田市本町二丁目２番４５号", Municipality: "062049"}
	cd, err := w.cards.Create(card.Spec{AuthPIN: "1234", SignPIN: "SAKATA1975", TextPIN: "1234", MyNumber: "123456789018",
		Name: r.Name, Address: r.Address, BirthDate: "19750630", Sex: "1"})
	if err != nil {
		t.Fatal(err)
	}
	is, err := w.centre.IssueCard(context.Background(), r, cd)
	if err != nil {
		t.Fatal(err)
	}
	return cd, is
}

// answer has the card answer a fresh challenge of tc.
func answer(t *testing.T, tc *TerminalClient, cd *card.Card) AuthRequest {
	t.Helper()
	ch, err := tc.Challenge(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return answerChallenge(t, ch, cd)
}

func answerChallenge(t testing.TB, ch *Challenge, cd *card.Card) AuthRequest {
	t.Helper()
	cl := card.NewClient(cd)
	defer cl.Logout()
	if err := cl.VerifyPIN(card.AuthPIN, "1234"); err != nil {
		t.Fatal(err)
	}
	cert, err := cl.Certificate(card.Auth)
	if err != nil {
		t.Fatal(err)
	}
	s, err := cl.Signer(card.Auth)
	if err != nil {
		t.Fatal(err)
	}
	req, err := Answer(ch, cert, s)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func (w *world) auth(t *testing.T, tc *TerminalClient, req AuthRequest) *AuthResponse {
	t.Helper()
	ar, err := tc.Authenticate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return ar
}

func wantResult(t *testing.T, ar *AuthResponse, res Result, reason Reason, detail string) {
	t.Helper()
	r := ar.Report
	if r.Result != res || r.Reason != reason || r.Detail != detail {
		t.Fatalf("result %s/%s/%s, want %s/%s/%s; checks %+v", r.Result, r.Reason, r.Detail, res, reason, detail, r.Checks)
	}
	if (ar.Assertion != "") != (res == Passed) {
		t.Fatalf("assertion %q with result %s", ar.Assertion, res)
	}
	if res != Passed && (r.MessageJA == "" || r.MessageEN == "") {
		t.Fatalf("no message for %s", reason)
	}
}

func TestAuthenticationLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db)
		cd, _ := w.issue(t)

		first := w.auth(t, w.kiosk, answer(t, w.kiosk, cd))
		wantResult(t, first, Passed, "", "")
		id := first.Report.PlatformID
		claims, err := VerifyAssertion(first.Assertion, w.p.PublicKeys(), "https://platform.test", w.clock.now())
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(Claims{Issuer: "https://platform.test", Subject: id, Audience: Audience, Terminal: "kiosk-sakata-1",
			TerminalKind: Kiosk, AMR: []string{"jpki-auth"}, CertNotAfter: first.Report.NotAfter.Unix()}, *claims,
			cmpIgnore("IssuedAt", "Expiry", "ID", "AuthTime")); diff != "" {
			t.Errorf("claims (-want +got):\n%s", diff)
		}
		w.clock.advance(time.Minute)
		if again := w.auth(t, w.kiosk, answer(t, w.kiosk, cd)); again.Report.PlatformID != id {
			t.Fatalf("second login gave %s, want %s", again.Report.PlatformID, id)
		}

		// Renewal: new keys and certificates; the platform follows the
		// old → new linkage to the same ID.
		w.clock.advance(24 * time.Hour)
		if _, err := w.centre.Renew(ctx, cd.ID(), cd); err != nil {
			t.Fatal(err)
		}
		if err := w.p.RefreshCRL(ctx); err != nil {
			t.Fatal(err)
		}
		renewed := w.auth(t, w.kiosk, answer(t, w.kiosk, cd))
		wantResult(t, renewed, Passed, "", "")
		if renewed.Report.PlatformID != id {
			t.Fatalf("after renewal platform ID %s, want %s", renewed.Report.PlatformID, id)
		}

		// The holder's current JPKI attributes, through the newest certificate.
		attrs, err := w.p.PersonAttributes(ctx, id)
		if err != nil || attrs.Name != "酒田　一郎" || attrs.Kana != "サカタ　イチロウ" || attrs.Certificate.Serial != renewed.Report.Serial {
			t.Errorf("person attributes %+v %v", attrs, err)
		}

		// Loss: revoked as keyCompromise; refused once the CRL cache has it.
		w.clock.advance(time.Minute)
		if _, err := w.centre.ReportLoss(ctx, cd.ID()); err != nil {
			t.Fatal(err)
		}
		if err := w.p.RefreshCRL(ctx); err != nil {
			t.Fatal(err)
		}
		lost := w.auth(t, w.kiosk, answer(t, w.kiosk, cd))
		wantResult(t, lost, Failed, ReasonRevoked, "keyCompromise")

		// The holder's audit log shows every check, including the refusal.
		entries, err := w.p.AuditFor(ctx, id, "test", 100)
		if err != nil {
			t.Fatal(err)
		}
		var results []string
		for _, e := range entries {
			results = append(results, e.Result)
			if e.TerminalID != "kiosk-sakata-1" || e.Owner != "酒田市" {
				t.Errorf("audit entry %+v", e)
			}
		}
		if diff := cmp.Diff([]string{"FAILED", "PASSED", "PASSED", "PASSED"}, results); diff != "" {
			t.Errorf("audit results, newest first (-want +got):\n%s", diff)
		}
	})
}

func TestRefusals(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, storetest.SQLite(t))
	cd, _ := w.issue(t)

	t.Run("replayed response", func(t *testing.T) {
		req := answer(t, w.kiosk, cd)
		wantResult(t, w.auth(t, w.kiosk, req), Passed, "", "")
		wantResult(t, w.auth(t, w.kiosk, req), Failed, ReasonReplayed, "")
	})
	t.Run("expired challenge", func(t *testing.T) {
		req := answer(t, w.kiosk, cd)
		w.clock.advance(MaxChallengeTTL + time.Second)
		wantResult(t, w.auth(t, w.kiosk, req), Failed, ReasonExpiredChallenge, "")
	})
	t.Run("challenge of another terminal", func(t *testing.T) {
		key, err := w.p.RegisterTerminal(ctx, Terminal{ID: "tv-nambu-1", Kind: TV, Owner: "南部町", Name: "STB"})
		if err != nil {
			t.Fatal(err)
		}
		tv := w.terminal(t, "tv-nambu-1", key)
		req := answer(t, w.kiosk, cd)
		wantResult(t, w.auth(t, tv, req), Failed, ReasonUnknownChallenge, "")
	})
	t.Run("bad signature", func(t *testing.T) {
		req := answer(t, w.kiosk, cd)
		req.Signature[10] ^= 1
		wantResult(t, w.auth(t, w.kiosk, req), Failed, ReasonBadSignature, "")
	})
	t.Run("malformed certificate", func(t *testing.T) {
		req := answer(t, w.kiosk, cd)
		req.Certificate = req.Certificate[:100]
		wantResult(t, w.auth(t, w.kiosk, req), Failed, ReasonMalformed, "")
	})
	t.Run("unknown terminal", func(t *testing.T) {
		rogue := w.terminal(t, "kiosk-rogue", base64.StdEncoding.EncodeToString(make([]byte, 32)))
		if _, err := rogue.Challenge(ctx); !errors.Is(err, ErrUnknownTerminal) {
			t.Fatalf("err = %v, want ErrUnknownTerminal", err)
		}
		wrongKey := w.terminal(t, "kiosk-sakata-1", base64.StdEncoding.EncodeToString(make([]byte, 32)))
		if _, err := wrongKey.Challenge(ctx); !errors.Is(err, ErrUnknownTerminal) {
			t.Fatalf("wrong key: err = %v, want ErrUnknownTerminal", err)
		}
	})
	t.Run("disabled terminal", func(t *testing.T) {
		key, _ := w.p.RegisterTerminal(ctx, Terminal{ID: "kiosk-off", Kind: Kiosk, Owner: "酒田市", Name: "off"})
		off := w.terminal(t, "kiosk-off", key)
		if err := w.p.SetTerminalDisabled(ctx, "kiosk-off", true); err != nil {
			t.Fatal(err)
		}
		if _, err := off.Challenge(ctx); !errors.Is(err, ErrTerminalDisabled) {
			t.Fatalf("err = %v, want ErrTerminalDisabled", err)
		}
	})
	t.Run("stale CRL falls back to OCSP", func(t *testing.T) {
		w.clock.advance(11 * time.Minute) // past the freshness bound, no refresh
		if _, at, _ := w.p.CRLStatus(); w.clock.now().Sub(at) <= 10*time.Minute {
			t.Fatal("CRL still fresh")
		}
		ar := w.auth(t, w.kiosk, answer(t, w.kiosk, cd))
		wantResult(t, ar, Passed, "", "")
		if got := ar.Report.Checks[len(ar.Report.Checks)-2].Detail; got[:20] != "not revoked per OCSP" {
			t.Errorf("revocation check %q, want OCSP", got)
		}
	})
	t.Run("centre unreachable and CRL stale", func(t *testing.T) {
		w.jpkiDown.Store(true)
		defer w.jpkiDown.Store(false)
		if err := w.p.RefreshCRL(ctx); err == nil {
			t.Fatal("refresh worked with the centre down")
		}
		ar := w.auth(t, w.kiosk, answer(t, w.kiosk, cd))
		wantResult(t, ar, Indeterminate, ReasonNoRevocationData, "")
	})
}

// TestConcurrentReplays sends one answer many times at once: exactly one
// passes, whether the copies land in one group commit or several.
func TestConcurrentReplays(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		// Fifteen replays a round spend the card's failures at the kiosk
		// (TestLimits); this test is about which copy passes.
		w.p.limits = newLimiter(Limits{}, w.clock.now)
		cd, _ := w.issue(t)
		for round := range 3 {
			req := answer(t, w.kiosk, cd)
			const copies = 16
			results := make(chan Result, copies)
			var wg sync.WaitGroup
			for range copies {
				wg.Go(func() {
					ar, err := w.kiosk.Authenticate(context.Background(), req)
					if err != nil {
						t.Error(err)
						results <- ""
						return
					}
					results <- ar.Report.Result
				})
			}
			wg.Wait()
			close(results)
			passed := 0
			for r := range results {
				if r == Passed {
					passed++
				}
			}
			if passed != 1 {
				t.Errorf("round %d: %d of %d copies passed, want exactly 1", round, passed, copies)
			}
		}
	})
}

// TestFirstUseBurst authenticates a new card from many requests at once, as
// at a service's launch: every one passes with one platform ID (the linkage
// lookups collapse into one, and SQLite writers queue instead of starving).
func TestFirstUseBurst(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		cd, _ := w.issue(t)
		const n = 64
		reqs := make([]AuthRequest, n)
		for i := range reqs {
			reqs[i] = answer(t, w.kiosk, cd)
		}
		ids := make(chan string, n)
		var wg sync.WaitGroup
		for _, req := range reqs {
			wg.Go(func() {
				ar, err := w.kiosk.Authenticate(context.Background(), req)
				if err != nil {
					t.Error(err)
					return
				}
				if ar.Report.Result != Passed {
					t.Errorf("%s/%s", ar.Report.Result, ar.Report.Reason)
				}
				ids <- ar.Report.PlatformID
			})
		}
		wg.Wait()
		close(ids)
		seen := map[string]bool{}
		for id := range ids {
			seen[id] = true
		}
		if len(seen) != 1 {
			t.Errorf("%d platform IDs for one card: %v", len(seen), seen)
		}
	})
}
