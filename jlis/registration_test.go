package jlis

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/wareki"
)

// regWorld is a JPKI centre, a card of 酒田 一郎 (本籍 in 山形市), and the
// kiosk service with a 山形市 that keeps his 戸籍 as koseki says.
type regWorld struct {
	clock  *testClock
	centre *jpki.Centre
	cards  *card.Store
	s      *Service
	cd     *card.Card
	issued *jpki.IssuedCard
}

var regIchiro = jpki.Resident{Name: "酒田　一郎", Kana: "サカタ　イチロウ", BirthDate: time.Date(1975, 6, 30, 0, 0, 0, 0, wareki.JST()),
	Sex: jpki.Male, Address: "山形県酒田市本町二丁目２番４５号", Municipality: "062049"}

func newRegWorld(t *testing.T, db *store.DB, koseki KosekiMatch) *regWorld {
	t.Helper()
	ctx := context.Background()
	w := &regWorld{clock: &testClock{}}
	w.clock.t.Store(time.Date(2026, 11, 24, 10, 0, 0, 0, wareki.JST()).UnixNano())
	var err error
	if w.centre, err = jpki.Open(ctx, jpki.Config{DB: db, Dir: t.TempDir(), BaseURL: "http://jpki.test", Now: w.clock.now}); err != nil {
		t.Fatal(err)
	}
	if w.cards, err = card.NewStore(t.TempDir(), w.clock.now); err != nil {
		t.Fatal(err)
	}
	if w.cd, err = w.cards.Create(card.Spec{AuthPIN: "1111", SignPIN: "SAKATA1975", TextPIN: "1111", MyNumber: "123456789018",
		Name: regIchiro.Name, Address: regIchiro.Address, BirthDate: "19750630", Sex: "1"}); err != nil {
		t.Fatal(err)
	}
	if w.issued, err = w.centre.IssueCard(ctx, regIchiro, w.cd); err != nil {
		t.Fatal(err)
	}
	v := &jpki.SigningVerifier{CA: w.centre.CA(jpki.Sign),
		OCSP: func(ctx context.Context, req []byte) ([]byte, error) { return w.centre.Respond(ctx, req), nil }}
	if w.s, err = Open(ctx, Config{DB: db, Now: w.clock.now, Verifier: v, Koseki: koseki}); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *regWorld) doc(authSerial string) RegistrationDoc {
	return RegistrationDoc{PlatformID: "pid-ichiro", AuthSerial: authSerial, Honseki: "062014", HonsekiName: "山形市", At: w.clock.now().Truncate(time.Second)}
}

func (w *regWorld) sign(t *testing.T, d RegistrationDoc) ([]byte, []byte) {
	t.Helper()
	cert, sig, err := terminal.SignDocument(w.cd, "SAKATA1975", []byte(d.Text()))
	if err != nil {
		t.Fatal(err)
	}
	return cert, sig
}

// yamagata keeps 酒田 一郎's 戸籍 under a name written with 旧字体 or not, as told.
func yamagata(name string) KosekiMatch {
	return func(_ context.Context, honseki string, h *jpki.Holder) ([]string, error) {
		if honseki != "062014" {
			return nil, ErrNoKoseki
		}
		var mm []string
		if h.Name != name {
			mm = append(mm, "name")
		}
		if !h.BirthDate.Equal(regIchiro.BirthDate) {
			mm = append(mm, "birth_date")
		}
		return mm, nil
	}
}

func TestRegistrationExactMatchIsApprovedAndBoundToTheCertificate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newRegWorld(t, db, yamagata("酒田　一郎"))
		serial := w.issued.Auth.Serial
		d := w.doc(serial)
		cert, sig := w.sign(t, d)
		r, err := w.s.Register(ctx, d, cert, sig)
		if err != nil || r.Status != RegApproved {
			t.Fatalf("register: %+v %v", r, err)
		}
		again, err := w.s.Register(ctx, d, cert, sig)
		if err != nil || again.ID != r.ID {
			t.Errorf("filed again: %+v %v", again, err)
		}
		if ok, _ := w.s.Registered(ctx, serial, "062014"); !ok {
			t.Error("not registered")
		}
		if ok, _ := w.s.Registered(ctx, serial, "062049"); ok {
			t.Error("registered at another 本籍地")
		}
		// After a renewal the new authentication certificate is not
		// registered: file again.
		w.clock.advance(time.Hour)
		renewed, err := w.centre.Renew(ctx, w.cd.ID(), w.cd)
		if err != nil {
			t.Fatal(err)
		}
		if ok, _ := w.s.Registered(ctx, renewed.Auth.Serial, "062014"); ok {
			t.Error("the renewed certificate inherited the registration")
		}
	})
}

func TestRegistrationRefusalsStoreNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newRegWorld(t, db, yamagata("酒田　一郎"))
		serial := w.issued.Auth.Serial
		d := w.doc(serial)
		cert, sig := w.sign(t, d)
		other := d
		other.Honseki = "131016" // signed for 山形市, sent for another
		tampered := append([]byte(nil), sig...)
		tampered[7] ^= 1
		stale := d
		for _, tc := range []struct {
			name string
			doc  RegistrationDoc
			sig  []byte
			want error
		}{
			{"bad signature", d, tampered, ErrBadSignature},
			{"signed for another document", other, sig, ErrBadSignature},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if _, err := w.s.Register(ctx, tc.doc, cert, tc.sig); !errors.Is(err, tc.want) {
					t.Errorf("got %v, want %v", err, tc.want)
				}
			})
		}
		w.clock.advance(20 * time.Minute)
		if _, err := w.s.Register(ctx, stale, cert, sig); !errors.Is(err, ErrStale) {
			t.Errorf("stale: %v", err)
		}
		// A revoked signing certificate.
		d = w.doc(serial)
		cert, sig = w.sign(t, d)
		if _, err := w.centre.ReportLoss(ctx, w.cd.ID()); err != nil {
			t.Fatal(err)
		}
		if _, err := w.s.Register(ctx, d, cert, sig); !errors.Is(err, jpki.ErrCertRevoked) {
			t.Errorf("revoked: %v", err)
		}
		if ok, _ := w.s.Registered(ctx, serial, "062014"); ok {
			t.Error("a refused registration was stored")
		}
	})
}

func TestRegistrationMismatchWaitsForAClerk(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		// 山形市 writes his name with another form of 田 (a Kangxi radical code point).
		w := newRegWorld(t, db, yamagata("酒⽥　一郎"))
		serial := w.issued.Auth.Serial
		d := w.doc(serial)
		cert, sig := w.sign(t, d)
		r, err := w.s.Register(ctx, d, cert, sig)
		if err != nil || r.Status != RegPending || !cmp.Equal(r.Mismatches, []string{"name"}) {
			t.Fatalf("register: %+v %v", r, err)
		}
		if ok, _ := w.s.Registered(ctx, serial, "062014"); ok {
			t.Error("registered before the clerk decided")
		}
		pending, err := w.s.Registrations(ctx, "062014", RegPending)
		if err != nil || len(pending) != 1 {
			t.Fatalf("pending %v %v", pending, err)
		}
		if err := w.s.Decide(ctx, "062049", r.ID, "山形市 戸籍係", true); !errors.Is(err, ErrInvalid) {
			t.Errorf("another town decided: %v", err)
		}
		if err := w.s.Decide(ctx, "062014", r.ID, "山形市 戸籍係", true); err != nil {
			t.Fatal(err)
		}
		if ok, _ := w.s.Registered(ctx, serial, "062014"); !ok {
			t.Error("not registered after approval")
		}
	})
}
