package platform

import (
	"context"
	"crypto/x509"
	"errors"
	"testing"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// TestSignerPerson: a signing certificate resolves to its holder's platform
// ID once the holder has logged in, and still after a change of address
// gives a new one; a stranger, an unused card and a forged certificate do not.
func TestSignerPerson(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db)
		cd, _ := w.issue(t)
		signCert := func() *x509.Certificate {
			cl := card.NewClient(cd)
			defer cl.Logout()
			// The signing certificate is read only after the signing password.
			if err := cl.VerifyPIN(card.SignPIN, "SAKATA1975"); err != nil {
				t.Fatal(err)
			}
			der, err := cl.Certificate(card.Sign)
			if err != nil {
				t.Fatal(err)
			}
			c, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		first := signCert()
		if _, err := w.p.SignerPerson(ctx, first); !errors.Is(err, ErrNotFound) {
			t.Fatalf("before any login: %v, want ErrNotFound", err)
		}
		ar := w.auth(t, w.kiosk, answer(t, w.kiosk, cd))
		claims, err := VerifyAssertion(ar.Assertion, w.p.PublicKeys(), "https://platform.test", w.clock.now())
		if err != nil {
			t.Fatal(err)
		}
		got, err := w.p.SignerPerson(ctx, first)
		if err != nil || got != claims.Subject {
			t.Fatalf("SignerPerson = %q, %v; want %q", got, err, claims.Subject)
		}
		if _, err := w.centre.ChangeAddress(ctx, cd.ID(), "", "山形県酒田市中町一丁目４番１０号", "", cd); err != nil {
			t.Fatal(err)
		}
		second := signCert()
		if second.SerialNumber.Cmp(first.SerialNumber) == 0 {
			t.Fatal("change of address kept the signing certificate")
		}
		if got, err := w.p.SignerPerson(ctx, second); err != nil || got != claims.Subject {
			t.Fatalf("new signing certificate: %q, %v; want %q", got, err, claims.Subject)
		}
		// The old one still names its holder: signatures made before the move.
		if got, err := w.p.SignerPerson(ctx, first); err != nil || got != claims.Subject {
			t.Fatalf("old signing certificate: %q, %v", got, err)
		}
		// An authentication certificate, or a self-made copy, is no signer.
		forged := *second
		forged.RawIssuer = second.RawSubject
		if _, err := w.p.SignerPerson(ctx, &forged); !errors.Is(err, ErrInvalid) {
			t.Fatalf("forged: %v, want ErrInvalid", err)
		}
	})
}
