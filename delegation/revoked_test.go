package delegation

import (
	"context"
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// TestSubDelegationSignerRevoked: a sub-delegation counts only when the
// agent's certificate was not revoked by the time they signed it.
func TestSubDelegationSignerRevoked(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newScenario(t, db)
		// alice's certificate is revoked on day 150 (she lost her card).
		revokedAt := map[string]time.Time{s.alice.cert.SerialNumber.String(): day(150)}
		unreachable := false
		svc, err := New(ctx, Config{DB: db, Corporations: s.reg, Verify: verifyCMS, SignerPerson: s.signerPerson, Now: s.clock.now,
			SignerRevoked: func(_ context.Context, cert *x509.Certificate, at time.Time) (bool, error) {
				if unreachable {
					return false, errors.New("the responder cannot be reached")
				}
				r, ok := revokedAt[cert.SerialNumber.String()]
				return ok && !at.Before(r), nil
			}})
		if err != nil {
			t.Fatal(err)
		}
		s.clock.set(day(160))
		late := s.sign(child(s.p1, "carol", day(160), day(170), docDeduction), s.alice, day(160))
		if _, err := svc.Register(ctx, late); !errors.Is(err, ErrSubDelegation) {
			t.Errorf("a sub-delegation signed after the certificate's revocation: %v, want ErrSubDelegation", err)
		}
		tests := []struct {
			name   string
			power  []byte
			at     time.Time
			reason Reason
		}{
			// c1 was signed on day 5, long before the revocation.
			{"signed before the revocation", s.c1CMS, day(30), ""},
			{"signed after the revocation", late, day(165), SubDelegationNotAllowed},
		}
		for _, tt := range tests {
			r, err := svc.Check(ctx, Query{Power: tt.power, CorporateNumber: numberA, DocType: docDeduction, Signer: s.carol.cert, At: tt.at})
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if r.Reason != tt.reason {
				t.Errorf("%s: reason %q, want %q", tt.name, r.Reason, tt.reason)
			}
		}
		// Without an answer about the certificate, Check cannot decide.
		unreachable = true
		if _, err := svc.Check(ctx, Query{Power: s.c1CMS, CorporateNumber: numberA, DocType: docDeduction, Signer: s.carol.cert, At: day(30)}); err == nil {
			t.Error("Check decided without revocation data")
		}
	})
}
