package platform

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// TestEligibilityGraceWindow: an authentication certificate expired less
// than three months ago passes for an eligibility check, with a warning, and
// for nothing else; older is refused.
func TestEligibilityGraceWindow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		cd, is := w.issue(t)
		notAfter := is.Auth.NotAfter
		for _, tc := range []struct {
			name    string
			at      time.Time
			purpose string
			result  Result
			reason  Reason
			warn    bool
		}{
			{"valid, eligibility", notAfter.Add(-time.Hour), PurposeEligibility, Passed, "", false},
			{"expired a day, eligibility", notAfter.AddDate(0, 0, 1), PurposeEligibility, Passed, "", true},
			{"expired a day, other service", notAfter.AddDate(0, 0, 1), "", Failed, ReasonExpired, false},
			{"expired 2 months 30 days, eligibility", notAfter.AddDate(0, 2, 30), PurposeEligibility, Passed, "", true},
			{"expired 3 months and a day, eligibility", notAfter.AddDate(0, 3, 1), PurposeEligibility, Failed, ReasonExpired, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				w.clock.t.Store(tc.at.UnixNano())
				req := answer(t, w.kiosk, cd)
				req.Purpose = tc.purpose
				ar := w.auth(t, w.kiosk, req)
				wantResult(t, ar, tc.result, tc.reason, "")
				if got := len(ar.Report.Warnings) > 0; got != tc.warn {
					t.Errorf("warnings %v, want a warning: %v", ar.Report.Warnings, tc.warn)
				}
				if tc.result == Passed {
					c, err := VerifyAssertion(ar.Assertion, w.p.PublicKeys(), "", w.clock.now())
					if err != nil {
						t.Fatal(err)
					}
					if c.Purpose != tc.purpose || c.CertNotAfter != notAfter.Unix() {
						t.Errorf("claims purpose %q not_after %d", c.Purpose, c.CertNotAfter)
					}
				}
			})
		}
	})
}

// offlineAnswer has the card sign an offline answer at the world's time.
func offlineAnswer(t *testing.T, w *world, cd *card.Card, id string) DeferredAuthRequest {
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
	nonce := make([]byte, 32)
	rand.Read(nonce)
	at := w.clock.now().Truncate(time.Millisecond)
	digest := sha256.Sum256(OfflineMessage(id, at, nonce, "kiosk-sakata-1"))
	sig, err := s.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return DeferredAuthRequest{ID: id, SignedAt: at, Nonce: nonce, Certificate: cert, Signature: sig, Purpose: PurposeEligibility}
}

func TestDeferredAuthentication(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db)
		cd, _ := w.issue(t)
		online := w.auth(t, w.kiosk, answer(t, w.kiosk, cd))
		wantResult(t, online, Passed, "", "")

		// Signed offline, confirmed an hour later: the same platform ID,
		// auth_time the time of use.
		req := offlineAnswer(t, w, cd, "offline-0000000001")
		w.clock.advance(time.Hour)
		ar, err := w.kiosk.AuthenticateDeferred(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		wantResult(t, ar, Passed, "", "")
		c, err := VerifyAssertion(ar.Assertion, w.p.PublicKeys(), "", w.clock.now())
		if err != nil {
			t.Fatal(err)
		}
		if c.Subject != online.Report.PlatformID || c.AuthTime != req.SignedAt.Unix() || !c.Offline {
			t.Errorf("claims %+v", c)
		}
		// Sent again (a lost answer): the same result, one audit row.
		again, err := w.kiosk.AuthenticateDeferred(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		wantResult(t, again, Passed, "", "")
		entries, err := w.p.AuditFor(ctx, c.Subject, "", 100)
		if err != nil {
			t.Fatal(err)
		}
		offline := 0
		for _, e := range entries {
			if e.Action == "authenticate-offline" {
				offline++
			}
		}
		if offline != 1 {
			t.Errorf("%d offline audit rows, want 1", offline)
		}
		// Another answer under the same ID is a replay.
		other := offlineAnswer(t, w, cd, "offline-0000000001")
		rep, err := w.kiosk.AuthenticateDeferred(ctx, other)
		if err != nil {
			t.Fatal(err)
		}
		wantResult(t, rep, Failed, ReasonReplayed, "")

		// Revoked after the visit: the visit stands. A visit after the
		// revocation does not.
		before := offlineAnswer(t, w, cd, "offline-0000000002")
		w.clock.advance(time.Minute)
		if _, err := w.centre.ReportLoss(ctx, cd.ID()); err != nil {
			t.Fatal(err)
		}
		w.clock.advance(time.Minute)
		after := offlineAnswer(t, w, cd, "offline-0000000003")
		w.clock.advance(time.Minute)
		if err := w.p.RefreshCRL(ctx); err != nil {
			t.Fatal(err)
		}
		ar, err = w.kiosk.AuthenticateDeferred(ctx, before)
		if err != nil {
			t.Fatal(err)
		}
		wantResult(t, ar, Passed, "", "")
		ar, err = w.kiosk.AuthenticateDeferred(ctx, after)
		if err != nil {
			t.Fatal(err)
		}
		wantResult(t, ar, Failed, ReasonRevoked, "keyCompromise")

		// Too old, a bad signature, a malformed ID.
		late := offlineAnswer(t, w, cd, "offline-0000000004")
		late.Signature[10] ^= 1
		ar, _ = w.kiosk.AuthenticateDeferred(ctx, late)
		wantResult(t, ar, Failed, ReasonBadSignature, "")
		late.ID = "short"
		ar, _ = w.kiosk.AuthenticateDeferred(ctx, late)
		wantResult(t, ar, Failed, ReasonMalformed, "")
		stale := offlineAnswer(t, w, cd, "offline-0000000005")
		w.clock.advance(MaxDeferral + time.Hour)
		ar, _ = w.kiosk.AuthenticateDeferred(ctx, stale)
		wantResult(t, ar, Failed, ReasonExpiredChallenge, "")
	})
}
