package reception

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/eligibility"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/wareki"
)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, wareki.JST()) }

// ichiro is 酒田 一郎 as his JPKI record has him.
var ichiro = eligibility.Person{Name: "酒田　一郎", Kana: "サカタ　イチロウ", BirthDate: day(1975, 6, 30), Sex: 1, Address: "山形県酒田市本町二丁目２番４５号"}

// insured is a record of p at insurer, from the day from.
func insured(insurer, number string, p eligibility.Person, from time.Time) eligibility.Insured {
	return eligibility.Insured{Insurer: insurer, Symbol: "12", Number: number, Branch: "00", Relation: "self", Person: p,
		CopayPercent: 30, AcquiredOn: from}
}

// stationWorld is a JPKI centre, the platform and this service on one HTTP
// server (as `mynaplat serve` runs them), a facility with a reception
// terminal, and a card store.
type stationWorld struct {
	clock    atomic.Int64
	db       *store.DB
	centre   *jpki.Centre
	plat     *platform.Platform
	svc      *eligibility.Service
	srv      *httptest.Server
	cards    *card.Store
	facility string
	key      string
	station  StationConfig
	dir      string
}

func (w *stationWorld) now() time.Time { return time.Unix(0, w.clock.Load()) }

func (w *stationWorld) set(t time.Time) { w.clock.Store(t.UnixNano()) }

func newStationWorld(t *testing.T, db *store.DB) *stationWorld {
	t.Helper()
	ctx := context.Background()
	w := &stationWorld{db: db, dir: t.TempDir()}
	w.set(time.Date(2026, 11, 24, 9, 0, 0, 0, wareki.JST()))
	mux := http.NewServeMux()
	var h http.Handler = mux
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { h.ServeHTTP(rw, r) }))
	t.Cleanup(w.srv.Close)
	var err error
	if w.centre, err = jpki.Open(ctx, jpki.Config{DB: db, Dir: t.TempDir(), BaseURL: w.srv.URL, Now: w.now}); err != nil {
		t.Fatal(err)
	}
	w.centre.Routes(mux)
	h = w.centre.Wrap(mux)
	token, err := w.centre.AddOperator(ctx, "platform")
	if err != nil {
		t.Fatal(err)
	}
	if w.plat, err = platform.Open(ctx, platform.Config{DB: db, Centre: &jpki.Client{BaseURL: w.srv.URL, Token: token},
		AuthCA: w.centre.CA(jpki.Auth), Issuer: w.srv.URL, RevocationMaxAge: time.Hour, Now: w.now}); err != nil {
		t.Fatal(err)
	}
	w.plat.Routes(mux)
	if w.svc, err = eligibility.Open(ctx, eligibility.Config{DB: db, Now: w.now, Issuer: w.srv.URL,
		Keys:       func(context.Context) (platform.JWKS, error) { return w.plat.PublicKeys(), nil },
		Attributes: w.plat.PersonAttributes}); err != nil {
		t.Fatal(err)
	}
	w.svc.Routes(mux)
	w.svc.FacilityRoutes(mux)
	if _, err := w.svc.AddInsurer(ctx, "06230012", "酒田健康保険組合"); err != nil {
		t.Fatal(err)
	}
	w.facility = "0611234567"
	if w.key, err = w.svc.AddFacility(ctx, w.facility, "日本海総合病院"); err != nil {
		t.Fatal(err)
	}
	tkey, err := w.plat.RegisterTerminal(ctx, platform.Terminal{ID: "reception-test-1", Kind: platform.Reception, Owner: "日本海総合病院", Name: "受付"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.svc.AddFacilityTerminal(ctx, w.facility, "reception-test-1"); err != nil {
		t.Fatal(err)
	}
	w.station = StationConfig{Terminal: terminal.Config{ID: "reception-test-1", Kind: platform.Reception, Owner: "日本海総合病院", Name: "受付", Key: tkey},
		Facility: w.facility, FacilityName: "日本海総合病院", FacilityKey: w.key}
	if w.cards, err = card.NewStore(t.TempDir(), w.now); err != nil {
		t.Fatal(err)
	}
	return w
}

// open starts the station as the terminal machine would (again after a
// restart: the same directory).
func (w *stationWorld) open(t *testing.T) *Station {
	t.Helper()
	st, err := NewStation(w.station, StationOptions{PlatformURL: w.srv.URL, ServiceURL: w.srv.URL, JPKIURL: w.srv.URL,
		Dir: filepath.Join(w.dir, "station"), Now: w.now})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// issue issues a card to 酒田 一郎 (now) and gives him a coverage.
func (w *stationWorld) issue(t *testing.T, p eligibility.Person) *card.Card {
	t.Helper()
	cd, err := w.cards.Create(card.Spec{AuthPIN: "1234", SignPIN: "SAKATA1975", TextPIN: "1234", MyNumber: "123456789018",
		Name: p.Name, Address: p.Address, BirthDate: p.BirthDate.Format("20060102"), Sex: "1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.centre.IssueCard(context.Background(), jpki.Resident{Name: p.Name, Kana: p.Kana, BirthDate: p.BirthDate,
		Sex: jpki.Sex(p.Sex), Address: p.Address, Municipality: "062049"}, cd); err != nil {
		t.Fatal(err)
	}
	return cd
}

func TestStationOnlineCheck(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newStationWorld(t, db)
		cd := w.issue(t, ichiro)
		rec := insured("06230012", "345", ichiro, day(2020, 4, 1))
		rec.LimitCategory = "ア"
		if _, err := w.svc.AddInsured(ctx, rec); err != nil {
			t.Fatal(err)
		}
		st := w.open(t)
		ar, err := st.Login(ctx, cd, "1234")
		if err != nil || ar.Report.Result != platform.Passed {
			t.Fatalf("login: %v %+v", err, ar)
		}
		// Consent refused: only the basic answer (no 限度額).
		res, err := st.Check(ctx, ar.Assertion, eligibility.Consent{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Validity != eligibility.Valid || res.Coverage == nil || res.Coverage.LimitCategory != "" || res.Warning != "" {
			t.Fatalf("check %+v", res)
		}
		// The same assertion again is the same check, not a second one.
		again, err := st.Check(ctx, ar.Assertion, eligibility.Consent{})
		if err != nil || !again.Replayed || again.ID != res.ID {
			t.Fatalf("again %+v %v", again, err)
		}
		ar, _ = st.Login(ctx, cd, "1234")
		res, err = st.Check(ctx, ar.Assertion, eligibility.Consent{Limit: true})
		if err != nil || res.Coverage.LimitCategory != "ア" {
			t.Fatalf("with consent %+v %v", res, err)
		}
		checks, err := w.svc.ChecksOf(ctx, ar.Report.PlatformID)
		if err != nil || len(checks) != 2 {
			t.Fatalf("checks of the holder %+v %v", checks, err)
		}
		// Another facility cannot use this facility's terminal's assertion.
		otherKey, _ := w.svc.AddFacility(ctx, "0619999999", "別の診療所")
		other := &eligibility.FacilityClient{BaseURL: w.srv.URL, Key: otherKey}
		ar, _ = st.Login(ctx, cd, "1234")
		if _, err := other.Check(ctx, eligibility.CardCheckRequest{Assertion: ar.Assertion}); !errors.Is(err, eligibility.ErrForeignTerminal) {
			t.Errorf("other facility: %v, want ErrForeignTerminal", err)
		}
		if _, err := st.Check(ctx, ar.Assertion+"x", eligibility.Consent{}); !errors.Is(err, eligibility.ErrBadAssertion) {
			t.Errorf("tampered assertion: %v", err)
		}
	})
}

func TestStationExpiredCertificateWindow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newStationWorld(t, db)
		cd := w.issue(t, ichiro)
		if _, err := w.svc.AddInsured(ctx, insured("06230012", "345", ichiro, day(2020, 4, 1))); err != nil {
			t.Fatal(err)
		}
		cl := card.NewClient(cd)
		der, _ := cl.Certificate(card.Auth)
		cl.Logout()
		cert, _ := x509.ParseCertificate(der)
		st := w.open(t)
		for _, tc := range []struct {
			name   string
			at     time.Time
			result platform.Result
			warn   string
		}{
			{"a month after expiry: answered, with a warning", cert.NotAfter.AddDate(0, 1, 0), platform.Passed, eligibility.WarnCertExpired},
			{"four months after: refused", cert.NotAfter.AddDate(0, 4, 0), platform.Failed, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				w.set(tc.at)
				ar, err := st.Login(ctx, cd, "1234")
				if err != nil || ar.Report.Result != tc.result {
					t.Fatalf("login %v %+v", err, ar.Report)
				}
				if tc.result != platform.Passed {
					if ar.Report.Reason != platform.ReasonExpired {
						t.Errorf("reason %s", ar.Report.Reason)
					}
					return
				}
				res, err := st.Check(ctx, ar.Assertion, eligibility.Consent{})
				if err != nil || res.Warning != tc.warn {
					t.Fatalf("check %+v %v", res, err)
				}
			})
		}
	})
}

// TestOfflineQueueAcrossRestart: with the network gone, the terminal checks
// the card against its kept CA and CRL and queues the check; the queue
// survives a restart of the terminal; when the network returns every check
// is recorded once, even when sent again.
func TestOfflineQueueAcrossRestart(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newStationWorld(t, db)
		cd := w.issue(t, ichiro)
		if _, err := w.svc.AddInsured(ctx, insured("06230012", "345", ichiro, day(2020, 4, 1))); err != nil {
			t.Fatal(err)
		}
		st := w.open(t)
		// Before it ever saw the network, the terminal cannot check offline.
		st.SetOnline(false)
		if _, _, err := st.SignOffline(cd, "1234"); !errors.Is(err, ErrNoTrust) {
			t.Fatalf("offline without trust: %v", err)
		}
		st.SetOnline(true)
		if err := st.RefreshTrust(ctx); err != nil {
			t.Fatal(err)
		}
		st.SetOnline(false)
		if _, err := st.Login(ctx, cd, "1234"); !Unreachable(err) {
			t.Fatalf("login with the network down: %v", err)
		}
		var ids []string
		for range 3 {
			a, crlAt, err := st.SignOffline(cd, "1234")
			if err != nil {
				t.Fatal(err)
			}
			if crlAt.IsZero() {
				t.Error("no CRL time")
			}
			if _, err := st.Enqueue(a, crlAt, "酒田　一郎", eligibility.Consent{Limit: true}); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, a.ID)
			w.set(w.now().Add(time.Minute))
		}
		// A wrong PIN offline is the card's answer, as online.
		var pe *card.PINError
		if _, _, err := st.SignOffline(cd, "9999"); !errors.As(err, &pe) {
			t.Fatalf("wrong PIN offline: %v", err)
		}
		cl := card.NewClient(cd)
		cl.VerifyPIN(card.AuthPIN, "1234") // back to 3 tries
		cl.Logout()
		// Sync while down: nothing leaves the queue.
		res, err := st.Sync(ctx)
		if err != nil || res.Waiting != 3 || len(res.Confirmed) != 0 {
			t.Fatalf("sync while down: %+v %v", res, err)
		}

		// The terminal restarts, still offline: the queue is on disk.
		st = w.open(t)
		st.SetOnline(false)
		if p, err := st.Pending(); err != nil || len(p) != 3 || p[0].LastError == "" {
			t.Fatalf("pending after restart: %d %v", len(p), err)
		}
		// The network returns; the first check was already sent once by an
		// earlier attempt whose answer was lost (simulated: send it now).
		st.SetOnline(true)
		w.set(w.now().Add(time.Hour))
		p, _ := st.Pending()
		if _, _, err := st.send(ctx, p[0]); err != nil {
			t.Fatal(err)
		}
		res, err = st.Sync(ctx)
		if err != nil || len(res.Confirmed) != 3 || res.Waiting != 0 {
			t.Fatalf("sync: %+v %v", res, err)
		}
		if !res.Confirmed[0].Replayed {
			t.Error("the resent check was recorded again")
		}
		if p, _ := st.Pending(); len(p) != 0 {
			t.Errorf("%d still pending", len(p))
		}
		checks, err := w.svc.FacilityChecks(ctx, w.facility, 100)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		for _, c := range checks {
			got[c.ClientID]++
			if c.Mode != eligibility.ModeOffline || c.Validity != string(eligibility.Valid) {
				t.Errorf("check %+v", c)
			}
			if c.At.After(c.RecordedAt) || c.RecordedAt.Sub(c.At) < time.Hour {
				t.Errorf("visit %v recorded %v: the visit time should be kept", c.At, c.RecordedAt)
			}
		}
		for _, id := range ids {
			if got[id] != 1 {
				t.Errorf("check %s recorded %d times", id, got[id])
			}
		}
		// Sync again: nothing to send, nothing recorded.
		if res, err := st.Sync(ctx); err != nil || len(res.Confirmed) != 0 {
			t.Errorf("second sync %+v %v", res, err)
		}
	})
}

// TestOfflineRevokedCard: a card revoked before the visit and already on the
// terminal's CRL is refused at the terminal; one revoked after the CRL was
// kept passes locally but is refused when confirmed, and leaves the queue
// as refused (kept for the staff, never sent again).
func TestOfflineRevokedCard(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newStationWorld(t, db)
		cd := w.issue(t, ichiro)
		st := w.open(t)
		if err := st.RefreshTrust(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := w.centre.ReportLoss(ctx, cd.ID()); err != nil {
			t.Fatal(err)
		}
		w.set(w.now().Add(time.Minute))
		st.SetOnline(false)
		a, crlAt, err := st.SignOffline(cd, "1234")
		if err != nil {
			t.Fatalf("revoked after the kept CRL should pass locally: %v", err)
		}
		if _, err := st.Enqueue(a, crlAt, "酒田　一郎", eligibility.Consent{}); err != nil {
			t.Fatal(err)
		}
		st.SetOnline(true)
		if err := w.plat.RefreshCRL(ctx); err != nil {
			t.Fatal(err)
		}
		res, err := st.Sync(ctx)
		if err != nil || len(res.Refused) != 1 || len(res.Confirmed) != 0 {
			t.Fatalf("sync %+v %v", res, err)
		}
		if r, _ := st.Refused(); len(r) != 1 || r[0].Refused == "" {
			t.Errorf("refused %+v", r)
		}
		// With the new CRL kept, the terminal refuses the card itself.
		if err := st.RefreshTrust(ctx); err != nil {
			t.Fatal(err)
		}
		st.SetOnline(false)
		if _, _, err := st.SignOffline(cd, "1234"); !errors.Is(err, ErrOfflineCheck) {
			t.Errorf("revoked on the kept CRL: %v", err)
		}
	})
}
