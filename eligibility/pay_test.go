package eligibility

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/cardco"
	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/wareki"
)

const (
	payPAN      = "4111111111111111"
	payLimit    = 100_000
	paySignPIN  = "SAKATA1975"
	payFacility = "0612345678"
	payOther    = "0699999999"
)

// payClock is a settable clock shared by the centre, the company and the
// service.
type payClock struct{ t atomic.Int64 }

func (c *payClock) now() time.Time          { return time.Unix(0, c.t.Load()) }
func (c *payClock) advance(d time.Duration) { c.t.Add(int64(d)) }

// payGate sits in front of the card company's handler: it passes requests
// on, or hangs them until killed (the company dies before answering), or
// lets the company answer and then drops the connection (the answer is
// lost).
type payGate struct {
	mode    atomic.Int32 // payPass, payHang, payLoseAnswer
	entered chan struct{}
	kill    chan struct{}
	next    http.Handler
}

const (
	payPass = iota
	payHang
	payLoseAnswer
)

func (g *payGate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch g.mode.Load() {
	case payHang:
		// Only the first try is waited for: the client sends a payment
		// again at once after a cut connection (same Idempotency-Key).
		select {
		case g.entered <- struct{}{}:
		default:
		}
		<-g.kill
		panic(http.ErrAbortHandler) // the connection is cut, nothing answered
	case payLoseAnswer:
		g.next.ServeHTTP(httptest.NewRecorder(), r)
		panic(http.ErrAbortHandler)
	}
	g.next.ServeHTTP(w, r)
}

// payWorld is a JPKI centre, cards, a card company behind a gate, and the
// service with two facilities.
type payWorld struct {
	clock          *payClock
	db             *store.DB
	centre         *jpki.Centre
	cards          *card.Store
	co             *cardco.Company
	gate           *payGate
	coSrv          *httptest.Server
	s              *Service
	key, otherKey  string // the facilities' API keys
	token, last4   string // ichiro's card at the company
	attrs          map[string]*jpki.HolderAttributes
	ichiro, hanako *card.Card
	ichiroIssued   *jpki.IssuedCard
	// platformKey signs the platform assertions of the holder's API
	// (resident_http_test.go).
	platformKey *ecdsa.PrivateKey
}

var (
	payIchiro = jpki.Resident{Name: "酒田　一郎", Kana: "サカタ　イチロウ", BirthDate: time.Date(1975, 6, 30, 0, 0, 0, 0, wareki.JST()),
		Sex: jpki.Male, Address: "山形県酒田市本町二丁目２番４５号", Municipality: "062049"}
	payHanako = jpki.Resident{Name: "鳥海　花子", Kana: "チョウカイ　ハナコ", BirthDate: time.Date(1980, 2, 29, 0, 0, 0, 0, wareki.JST()),
		Sex: jpki.Female, Address: "山形県酒田市光ケ丘一丁目１番１号", Municipality: "062049"}
)

func payIssue(t testing.TB, w *payWorld, r jpki.Resident, demo bool) (*card.Card, *jpki.IssuedCard) {
	t.Helper()
	cd, err := w.cards.Create(card.Spec{Demo: demo, AuthPIN: "1234", SignPIN: paySignPIN, TextPIN: "1234", MyNumber: "123456789018",
		Name: r.Name, Address: r.Address, BirthDate: r.BirthDate.Format("20060102"), Sex: "1"})
	if err != nil {
		t.Fatal(err)
	}
	is, err := w.centre.IssueCard(context.Background(), r, cd)
	if err != nil {
		t.Fatal(err)
	}
	return cd, is
}

func payAttrs(r jpki.Resident) *jpki.HolderAttributes {
	return &jpki.HolderAttributes{Name: r.Name, Kana: r.Kana, BirthDate: r.BirthDate, Sex: r.Sex, Address: r.Address, Municipality: r.Municipality}
}

func payNewWorld(t *testing.T, db *store.DB) *payWorld {
	t.Helper()
	return payNewWorldAt(t, db, time.Date(2026, 11, 24, 10, 0, 0, 0, wareki.JST()))
}

// payNewWorldAt is payNewWorld with its clock starting at start.
func payNewWorldAt(t *testing.T, db *store.DB, start time.Time) *payWorld {
	t.Helper()
	ctx := context.Background()
	w := &payWorld{clock: &payClock{}, db: db}
	w.clock.t.Store(start.UnixNano())
	var err error
	if w.centre, err = jpki.Open(ctx, jpki.Config{DB: db, Dir: t.TempDir(), BaseURL: "http://jpki.test", Now: w.clock.now}); err != nil {
		t.Fatal(err)
	}
	if w.cards, err = card.NewStore(t.TempDir(), w.clock.now); err != nil {
		t.Fatal(err)
	}
	w.ichiro, w.ichiroIssued = payIssue(t, w, payIchiro, true)
	w.hanako, _ = payIssue(t, w, payHanako, false)
	w.attrs = map[string]*jpki.HolderAttributes{"pid-ichiro": payAttrs(payIchiro), "pid-hanako": payAttrs(payHanako)}

	if w.co, err = cardco.Open(ctx, cardco.Config{DB: db, Now: w.clock.now}); err != nil {
		t.Fatal(err)
	}
	_, mkey, err := w.co.AddMerchant(ctx, "マイナンバーカード医療費支払い（プラットフォーム）")
	if err != nil {
		t.Fatal(err)
	}
	if w.token, w.last4, err = w.co.AddAccount(ctx, payPAN, "SAKATA ICHIRO", payLimit); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	w.co.Routes(mux)
	w.gate = &payGate{entered: make(chan struct{}, 1), kill: make(chan struct{}), next: mux}
	w.coSrv = httptest.NewServer(w.gate)
	t.Cleanup(w.coSrv.Close)

	if w.platformKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	w.s, err = Open(ctx, Config{DB: db, Now: w.clock.now, Issuer: payIssuer,
		Keys:   func(context.Context) (platform.JWKS, error) { return w.platformKeys(), nil },
		CardCo: &cardco.Client{BaseURL: w.coSrv.URL, MerchantKey: mkey, HTTP: &http.Client{Timeout: 10 * time.Second}},
		Payment: PaymentConfig{
			SignCA: w.centre.CA(jpki.Sign),
			OCSP:   func(ctx context.Context, req []byte) ([]byte, error) { return w.centre.Respond(ctx, req), nil },
			PersonAttributes: func(_ context.Context, pid string) (*jpki.HolderAttributes, error) {
				if a, ok := w.attrs[pid]; ok {
					return a, nil
				}
				return nil, ErrNotFound
			},
		}})
	if err != nil {
		t.Fatal(err)
	}
	if w.key, err = w.s.AddFacility(ctx, payFacility, "日本海総合病院"); err != nil {
		t.Fatal(err)
	}
	if w.otherKey, err = w.s.AddFacility(ctx, payOther, "別の診療所"); err != nil {
		t.Fatal(err)
	}
	return w
}

// paySign has a card sign a consent with the right password.
func paySign(t *testing.T, cd *card.Card, doc ConsentDoc) (certDER, sig []byte) {
	t.Helper()
	certDER, sig, err := terminal.SignDocument(cd, paySignPIN, []byte(doc.Text()))
	if err != nil {
		t.Fatal(err)
	}
	return certDER, sig
}

// ichiroAt is 酒田 一郎 at the payment page's terminal.
var ichiroAt = Resident{PlatformID: "pid-ichiro", Terminal: "pay-kiosk-1"}

// payLink links ichiro's token to pid-ichiro.
func payLink(t *testing.T, w *payWorld) *PaymentLink {
	t.Helper()
	doc := w.s.NewConsent("pid-ichiro", w.token, w.last4)
	cert, sig := paySign(t, w.ichiro, doc)
	l, err := w.s.LinkPayment(context.Background(), ichiroAt, doc, cert, sig)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// payCheck records a card check of pid at facility and returns its ID.
func payCheck(t *testing.T, w *payWorld, facility, pid string) string {
	t.Helper()
	res, err := w.s.CheckHolder(context.Background(), HolderCheck{Facility: facility, Terminal: "reception-1", PlatformID: pid},
		fixed(Person{Name: payIchiro.Name, Kana: payIchiro.Kana, BirthDate: payIchiro.BirthDate, Sex: 1, Address: payIchiro.Address}))
	if err != nil {
		t.Fatal(err)
	}
	return res.ID
}

// payCounts are the card company's payments and the platform's records.
type payCounts struct{ CardcoPayments, EligPayments, Available int64 }

func (w *payWorld) counts(t *testing.T) payCounts {
	t.Helper()
	ctx := context.Background()
	var c payCounts
	if err := w.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM cardco_payments`).Scan(&c.CardcoPayments); err != nil {
		t.Fatal(err)
	}
	if err := w.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM elig_payments`).Scan(&c.EligPayments); err != nil {
		t.Fatal(err)
	}
	a, err := w.co.Account(ctx, w.token)
	if err != nil {
		t.Fatal(err)
	}
	c.Available = a.Available
	return c
}

func (w *payWorld) wantCounts(t *testing.T, want payCounts) {
	t.Helper()
	if diff := cmp.Diff(want, w.counts(t)); diff != "" {
		t.Errorf("ledger (-want +got):\n%s", diff)
	}
}

// payForeignCert is a signing certificate of a CA that is not JPKI's, with
// its key.
func payForeignCert(t *testing.T, now time.Time) ([]byte, *rsa.PrivateKey) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "forged"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der, key
}

func TestPayQueriesKeepPlaceholderOrder(t *testing.T) {
	for _, q := range payQueries {
		if err := store.CheckPlaceholders(q); err != nil {
			t.Errorf("%v in %s", err, q)
		}
	}
}

func TestPayConsentText(t *testing.T) {
	d := ConsentDoc{PlatformID: "pid-ichiro", Token: "tok_x", Last4: "1111", At: time.Date(2026, 11, 24, 1, 0, 0, 0, time.UTC)}
	text := d.Text()
	for _, want := range []string{"日本海総合病院などの医療機関での自己負担金を、登録したクレジットカード（末尾 1111）で支払うことに同意します",
		d.PlatformIDHash(), "2026-11-24T10:00:00+09:00", "Nihonkai General Hospital"} {
		if !strings.Contains(text, want) {
			t.Errorf("consent lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "tok_x") || strings.Contains(text, "pid-ichiro") {
		t.Errorf("consent spells out the token or platform ID:\n%s", text)
	}
}

// payEach runs fn on a fresh world on SQLite and on PostgreSQL.
func payEach(t *testing.T, fn func(t *testing.T, w *payWorld)) {
	storetest.Each(t, func(t *testing.T, db *store.DB) { fn(t, payNewWorld(t, db)) })
}

func TestPayLink(t *testing.T) {
	payEach(t, func(t *testing.T, w *payWorld) {
		ctx := context.Background()
		s := w.s
		for _, tc := range []struct {
			name string
			run  func(t *testing.T) error
			want error
		}{
			{"bad signature", func(t *testing.T) error {
				doc := s.NewConsent("pid-ichiro", w.token, w.last4)
				cert, sig := paySign(t, w.ichiro, doc)
				sig[20] ^= 1
				_, err := s.LinkPayment(ctx, ichiroAt, doc, cert, sig)
				return err
			}, ErrBadSignature},
			{"signature over another document", func(t *testing.T) error {
				doc := s.NewConsent("pid-ichiro", w.token, w.last4)
				cert, sig := paySign(t, w.ichiro, doc)
				doc.Last4 = "9999"
				_, err := s.LinkPayment(ctx, ichiroAt, doc, cert, sig)
				return err
			}, ErrBadSignature},
			{"another person's signing certificate", func(t *testing.T) error {
				doc := s.NewConsent("pid-ichiro", w.token, w.last4)
				cert, sig := paySign(t, w.hanako, doc)
				_, err := s.LinkPayment(ctx, ichiroAt, doc, cert, sig)
				return err
			}, ErrNotSamePerson},
			{"certificate of another CA", func(t *testing.T) error {
				doc := s.NewConsent("pid-ichiro", w.token, w.last4)
				der, key := payForeignCert(t, w.clock.now())
				d := doc.Digest()
				sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, d[:])
				if err != nil {
					t.Fatal(err)
				}
				_, err = s.LinkPayment(ctx, ichiroAt, doc, der, sig)
				return err
			}, ErrUntrustedCert},
			{"consent shown an hour ago", func(t *testing.T) error {
				doc := s.NewConsent("pid-ichiro", w.token, w.last4)
				doc.At = doc.At.Add(-time.Hour)
				cert, sig := paySign(t, w.ichiro, doc)
				_, err := s.LinkPayment(ctx, ichiroAt, doc, cert, sig)
				return err
			}, ErrConsentStale},
			{"consent for another platform ID", func(t *testing.T) error {
				doc := s.NewConsent("pid-hanako", w.token, w.last4)
				cert, sig := paySign(t, w.ichiro, doc)
				_, err := s.LinkPayment(ctx, ichiroAt, doc, cert, sig)
				return err
			}, ErrConsentStale},
			{"password too short", func(t *testing.T) error {
				_, _, err := terminal.SignDocument(w.ichiro, "ABC12", []byte(s.NewConsent("pid-ichiro", w.token, w.last4).Text()))
				return err
			}, card.ErrPINFormat},
			{"password too long", func(t *testing.T) error {
				_, _, err := terminal.SignDocument(w.ichiro, "ABCDEFGHIJ1234567", []byte(s.NewConsent("pid-ichiro", w.token, w.last4).Text()))
				return err
			}, card.ErrPINFormat},
			{"wrong password", func(t *testing.T) error {
				_, _, err := terminal.SignDocument(w.ichiro, "WRONG123", []byte(s.NewConsent("pid-ichiro", w.token, w.last4).Text()))
				var pe *card.PINError
				if !errors.As(err, &pe) || pe.TriesLeft != 4 {
					t.Errorf("wrong password: %v, want 4 tries left", err)
				}
				return err
			}, card.ErrWrongPIN},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := tc.run(t)
				if !errors.Is(err, tc.want) {
					t.Fatalf("error %v, want %v", err, tc.want)
				}
				// The card's errors are worded where the card is (the
				// terminal's outcome table), the service's by its Rules.
				if res, cardSaid := terminal.SignFailure(err); cardSaid {
					if m := res.Message(); m.JA == "" || m.EN == "" {
						t.Errorf("no message for %v: %+v", tc.want, m)
					}
				} else if m := Rules.Problem(err); m.Code == httpapi.CodeInternal || m.MessageJA == "" || m.MessageEN == "" {
					t.Errorf("no message for %v: %+v", tc.want, m)
				}
				if _, err := s.PaymentLinkOf(ctx, "pid-ichiro"); !errors.Is(err, ErrNoPaymentLink) {
					t.Errorf("something was stored: %v", err)
				}
			})
		}
		// Only the wrong password cost a try; the format checks cost none.
		cl := card.NewClient(w.ichiro)
		if n, err := cl.PINStatus(card.SignPIN); err != nil || n != 4 {
			t.Errorf("signing password tries left %d %v, want 4", n, err)
		}
		cl.Logout()

		first := payLink(t, w)
		got, err := s.PaymentLinkOf(ctx, "pid-ichiro")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(first, got); diff != "" {
			t.Errorf("stored link (-linked +read):\n%s", diff)
		}
		if got.Last4 != "1111" || got.CertSerial != w.ichiroIssued.Sign.Serial || !strings.Contains(got.Consent, "末尾 1111") {
			t.Errorf("link %+v", got)
		}
		// Relinking (a new token of the same card) replaces the link.
		w.clock.advance(time.Minute)
		tok2, _, err := w.co.AddAccount(ctx, payPAN, "SAKATA ICHIRO", payLimit)
		if err != nil {
			t.Fatal(err)
		}
		doc := s.NewConsent("pid-ichiro", tok2, "1111")
		cert, sig := paySign(t, w.ichiro, doc)
		if _, err := s.LinkPayment(ctx, ichiroAt, doc, cert, sig); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.PaymentLinkOf(ctx, "pid-ichiro"); got == nil || got.Token != tok2 {
			t.Errorf("relinked: %+v, want token %s", got, tok2)
		}
		var n int
		if err := w.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM elig_pay_links WHERE platform_id = 'pid-ichiro'`).Scan(&n); err != nil || n != 2 {
			t.Errorf("%d links in the history (%v), want 2", n, err)
		}
		// A revoked signing certificate links nothing, and the link stays.
		if err := w.centre.Revoke(ctx, jpki.Sign, w.ichiroIssued.Sign.Serial, jpki.KeyCompromise); err != nil {
			t.Fatal(err)
		}
		doc = s.NewConsent("pid-ichiro", w.token, w.last4)
		cert, sig = paySign(t, w.ichiro, doc)
		if _, err := s.LinkPayment(ctx, ichiroAt, doc, cert, sig); !errors.Is(err, ErrCertRevoked) {
			t.Errorf("revoked certificate: %v, want %v", err, ErrCertRevoked)
		}
		if got, _ := s.PaymentLinkOf(ctx, "pid-ichiro"); got == nil || got.Token != tok2 {
			t.Errorf("after a refused relink: %+v, want the link of %s", got, tok2)
		}
		if err := s.UnlinkPayment(ctx, ichiroAt); err != nil {
			t.Fatal(err)
		}
		if err := s.UnlinkPayment(ctx, ichiroAt); !errors.Is(err, ErrNoPaymentLink) {
			t.Errorf("unlink twice: %v", err)
		}
		if _, err := s.PaymentLinkOf(ctx, "pid-ichiro"); !errors.Is(err, ErrNoPaymentLink) {
			t.Errorf("after unlink: %v", err)
		}
	})
}

func TestPayCharge(t *testing.T) {
	payEach(t, func(t *testing.T, w *payWorld) {
		ctx := context.Background()
		s := w.s
		payLink(t, w)
		check := payCheck(t, w, payFacility, "pid-ichiro")

		p, err := s.Charge(ctx, payFacility, check, 3000, "visit-1")
		if err != nil {
			t.Fatal(err)
		}
		if p.Replayed || p.Amount != 3000 || p.Last4 != "1111" || p.Status != string(cardco.Captured) || p.CheckID != check {
			t.Errorf("payment %+v", p)
		}
		w.wantCounts(t, payCounts{CardcoPayments: 1, EligPayments: 1, Available: payLimit - 3000})

		// A sequential retry: the same payment, nothing charged.
		again, err := s.Charge(ctx, payFacility, check, 3000, "visit-1")
		if err != nil || again.ID != p.ID || !again.Replayed {
			t.Errorf("retry: %+v %v, want %s replayed", again, err, p.ID)
		}
		// Eight concurrent duplicates of a new request: one charge.
		var wg sync.WaitGroup
		ids := make([]string, 8)
		errs := make([]error, 8)
		for i := range 8 {
			wg.Go(func() {
				p, err := s.Charge(ctx, payFacility, check, 500, "visit-1-extra")
				errs[i] = err
				if err == nil {
					ids[i] = p.ID
				}
			})
		}
		wg.Wait()
		for i := range 8 {
			if errs[i] != nil || ids[i] != ids[0] {
				t.Errorf("duplicate %d: %s %v, want %s", i, ids[i], errs[i], ids[0])
			}
		}
		w.wantCounts(t, payCounts{CardcoPayments: 2, EligPayments: 2, Available: payLimit - 3500})

		for _, tc := range []struct {
			name     string
			facility string
			check    string
			amount   int64
			key      string
			want     error
		}{
			{"same key, other amount", payFacility, check, 3001, "visit-1", ErrIdempotencyReused},
			{"another facility's check", payOther, check, 3000, "other-1", ErrNotFound},
			{"no such check", payFacility, "nope", 3000, "nope-1", ErrNotFound},
			{"insufficient funds", payFacility, check, payLimit, "big-1", cardco.ErrInsufficientFunds},
			{"zero amount", payFacility, check, 0, "zero-1", ErrInvalid},
			{"no key", payFacility, check, 100, "", ErrInvalid},
			{"holder without a link", payFacility, payCheck(t, w, payFacility, "pid-hanako"), 100, "hanako-1", ErrNoPaymentLink},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.Charge(ctx, tc.facility, tc.check, tc.amount, tc.key)
				if !errors.Is(err, tc.want) {
					t.Fatalf("error %v, want %v", err, tc.want)
				}
				if m := Rules.Problem(err); m.Code == httpapi.CodeInternal {
					t.Errorf("no message for %v", err)
				}
			})
		}
		w.wantCounts(t, payCounts{CardcoPayments: 2, EligPayments: 2, Available: payLimit - 3500})

		// Refunds: part, replay, too much.
		r, err := s.Refund(ctx, payFacility, p.ID, 1000, "refund-1")
		if err != nil {
			t.Fatal(err)
		}
		if r.Amount != 1000 || r.Payment.Refunded != 1000 || r.Payment.Status != string(cardco.PartiallyRefunded) || r.Replayed {
			t.Errorf("refund %+v payment %+v", r, r.Payment)
		}
		if r2, err := s.Refund(ctx, payFacility, p.ID, 1000, "refund-1"); err != nil || r2.ID != r.ID || !r2.Replayed {
			t.Errorf("refund retry: %+v %v", r2, err)
		}
		if _, err := s.Refund(ctx, payFacility, p.ID, 2001, "refund-2"); !errors.Is(err, ErrRefundExceeds) {
			t.Errorf("over-refund: %v, want %v", err, ErrRefundExceeds)
		}
		if _, err := s.Refund(ctx, payOther, p.ID, 100, "refund-3"); !errors.Is(err, ErrNotFound) {
			t.Errorf("another facility refunds: %v", err)
		}
		if r3, err := s.Refund(ctx, payFacility, p.ID, 2000, "refund-4"); err != nil || r3.Payment.Status != string(cardco.Refunded) {
			t.Errorf("refund the rest: %+v %v", r3, err)
		}
		w.wantCounts(t, payCounts{CardcoPayments: 2, EligPayments: 2, Available: payLimit - 500})

		// The card company revokes the token: a clear decline.
		if err := w.co.RevokeToken(ctx, w.token); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Charge(ctx, payFacility, check, 100, "after-revoke"); !errors.Is(err, cardco.ErrInvalidToken) || !errors.Is(err, ErrDeclined) {
			t.Errorf("revoked token: %v", err)
		}
		// Tomorrow the check is too old.
		w.clock.advance(24 * time.Hour)
		if _, err := s.Charge(ctx, payFacility, check, 100, "tomorrow"); !errors.Is(err, ErrCheckExpired) {
			t.Errorf("yesterday's check: %v", err)
		}
	})
}

// TestPayCardCompanyDies: the company dies mid-request, or its answer is
// lost; the clinic gets a clear error and no record, and the retry with the
// same key charges exactly once.
func TestPayCardCompanyDies(t *testing.T) {
	payEach(t, func(t *testing.T, w *payWorld) {
		ctx := context.Background()
		s := w.s
		payLink(t, w)
		check := payCheck(t, w, payFacility, "pid-ichiro")

		// The company dies before it answers (and before it commits).
		w.gate.mode.Store(payHang)
		done := make(chan error, 1)
		go func() {
			_, err := s.Charge(ctx, payFacility, check, 2400, "visit-dies")
			done <- err
		}()
		<-w.gate.entered
		close(w.gate.kill)
		w.coSrv.CloseClientConnections()
		if err := <-done; !errors.Is(err, ErrPaymentUnavailable) {
			t.Fatalf("company died: %v, want %v", err, ErrPaymentUnavailable)
		}
		if m := Rules.Problem(ErrPaymentUnavailable); m.Status != http.StatusServiceUnavailable {
			t.Errorf("message %+v", m)
		}
		w.wantCounts(t, payCounts{CardcoPayments: 0, EligPayments: 0, Available: payLimit})
		// The company is back: the retry charges once.
		w.gate.mode.Store(payPass)
		p, err := s.Charge(ctx, payFacility, check, 2400, "visit-dies")
		if err != nil {
			t.Fatal(err)
		}
		if p.Replayed {
			t.Errorf("first real charge marked replayed")
		}
		w.wantCounts(t, payCounts{CardcoPayments: 1, EligPayments: 1, Available: payLimit - 2400})

		// The company charges but its answer is lost on the way.
		w.gate.mode.Store(payLoseAnswer)
		if _, err := s.Charge(ctx, payFacility, check, 600, "visit-lost"); !errors.Is(err, ErrPaymentUnavailable) {
			t.Fatalf("answer lost: %v, want %v", err, ErrPaymentUnavailable)
		}
		w.wantCounts(t, payCounts{CardcoPayments: 2, EligPayments: 1, Available: payLimit - 3000})
		w.gate.mode.Store(payPass)
		p2, err := s.Charge(ctx, payFacility, check, 600, "visit-lost")
		if err != nil {
			t.Fatal(err)
		}
		if !p2.Replayed {
			t.Errorf("the retry should be the company's replay: %+v", p2)
		}
		w.wantCounts(t, payCounts{CardcoPayments: 2, EligPayments: 2, Available: payLimit - 3000})
	})
}
