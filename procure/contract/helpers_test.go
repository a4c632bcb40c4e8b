package contract_test

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/municipal"
	"github.com/mynaplat/mynaplat/procure/contract"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/tsa"
	"github.com/mynaplat/mynaplat/verify"
	"github.com/mynaplat/mynaplat/wareki"
)

// fixture is a JPKI centre with three card holders (the agent, the
// officer, a stranger), a TSA and a policy, in one process on a clock the
// tests move.
type fixture struct {
	clock                    atomic.Int64
	centre                   *jpki.Centre
	agent, officer, stranger *card.Card
	stamper                  *tsa.Authority
	policy                   *verify.Policy
	ocspOff                  atomic.Bool
	renderer                 *municipal.Renderer
}

const pin = "ABCD1234"

func (f *fixture) now() time.Time { return time.Unix(0, f.clock.Load()) }

func (f *fixture) advance(d time.Duration) { f.clock.Add(int64(d)) }

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{}
	// Three days before the wall clock: the time-stamp library checks its
	// token's signing-time against the wall clock, and so does pdfsig.
	f.clock.Store(time.Now().AddDate(0, 0, -3).Truncate(time.Second).UnixNano())
	ctx := context.Background()
	var err error
	if f.centre, err = jpki.Open(ctx, jpki.Config{DB: storetest.SQLite(t), Dir: t.TempDir(), BaseURL: "http://jpki.test", Now: f.now}); err != nil {
		t.Fatal(err)
	}
	cards, err := card.NewStore(t.TempDir(), f.now)
	if err != nil {
		t.Fatal(err)
	}
	issue := func(name, kana, mynumber string, sex jpki.Sex) *card.Card {
		c, err := cards.Create(card.Spec{AuthPIN: "1111", SignPIN: pin, TextPIN: "1111", MyNumber: mynumber,
			Name: name, Address: "長野県須坂市大字須坂１５２８番地の１", BirthDate: "19800401", Sex: "1"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.centre.IssueCard(ctx, jpki.Resident{Name: name, Kana: kana,
			BirthDate: time.Date(1980, 4, 1, 0, 0, 0, 0, wareki.JST()), Sex: sex,
			Address: "長野県須坂市大字須坂１５２８番地の１", Municipality: "202070"}, c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	f.agent = issue("須坂　太郎", "スザカ　タロウ", "123456789018", jpki.Male)
	f.officer = issue("長野　花子", "ナガノ　ハナコ", "234567890123", jpki.Female)
	f.stranger = issue("信濃　次郎", "シナノ　ジロウ", "345678901236", jpki.Male)
	f.advance(time.Hour)
	keys, err := tsa.LoadOrCreate(t.TempDir(), f.now)
	if err != nil {
		t.Fatal(err)
	}
	f.stamper = tsa.New(keys, f.now, nil)
	roots := x509.NewCertPool()
	roots.AddCert(keys.Root)
	f.policy = &verify.Policy{TSARoots: roots, RequireTimestamp: true, Now: f.now,
		Signing: &jpki.SigningVerifier{CA: f.centre.CA(jpki.Sign), MaxAge: 10 * time.Minute,
			OCSP: func(ctx context.Context, req []byte) ([]byte, error) {
				if f.ocspOff.Load() {
					return nil, errors.New("the responder is down")
				}
				return f.centre.Respond(ctx, req), nil
			}}}
	if f.renderer, err = municipal.NewRenderer(""); err != nil {
		t.Fatal(err)
	}
	return f
}

// with runs fn in a signing session of c (the terminal kit's, as the real
// flow does it).
func (f *fixture) with(t testing.TB, c *card.Card, fn func(o contract.SignOptions) error) {
	t.Helper()
	err := terminal.WithSigner(c, pin, func(cert *x509.Certificate, s crypto.Signer) error {
		return fn(contract.SignOptions{Signer: s, Cert: cert, Stamper: f.stamper, When: f.now()})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) terms() contract.Terms {
	day := time.Date(2026, 12, 1, 0, 0, 0, 0, wareki.JST())
	return contract.Terms{ID: "C-2026-0001", Body: "須坂市", TenderID: "T-2026-0042", Item: "庁舎用事務机 20台",
		Winner: "株式会社須坂事務機", CorporateNumber: "1234567890123", Agent: "須坂　太郎", PriceYen: 1_980_000,
		DeliveryDate: day.AddDate(0, 1, 0), DeliveryPlace: "須坂市役所 本庁舎 2階 倉庫",
		PaymentTerms: "検査合格後、適法な請求を受けた日から30日以内", Date: day}
}

// signedContract renders the contract, has the agent and then the officer
// sign it, and makes it B-LTA.
func (f *fixture) signedContract(t testing.TB) []byte {
	t.Helper()
	ctx := context.Background()
	pdf, err := contract.Render(f.renderer, f.terms())
	if err != nil {
		t.Fatal(err)
	}
	f.with(t, f.agent, func(o contract.SignOptions) error {
		pdf, err = contract.Sign(ctx, pdf, contract.Agent, o)
		return err
	})
	f.advance(time.Hour)
	f.with(t, f.officer, func(o contract.SignOptions) error {
		pdf, err = contract.Sign(ctx, pdf, contract.Officer, o)
		return err
	})
	f.advance(time.Minute)
	if pdf, err = contract.LongTerm(ctx, pdf, f.policy, f.stamper); err != nil {
		t.Fatal(err)
	}
	return pdf
}

// step has c sign a step of kind that follows tl, filled with demo data.
func (f *fixture) step(t testing.TB, tl *contract.Timeline, c *card.Card, kind contract.Kind, previous string) []byte {
	t.Helper()
	s := contract.Step{Kind: kind, ContractID: "C-2026-0001", Previous: previous, Time: f.now()}
	switch kind {
	case contract.KindInspection:
		s.Result, s.Note = contract.Passed, "数量・外観とも仕様どおり"
	case contract.KindAcceptance:
		s.AcceptedDate = f.now().In(wareki.JST()).Format(time.DateOnly)
	case contract.KindInvoice:
		s.AmountYen, s.Bank = 1_980_000, "デモ銀行 須坂支店 普通 1234567 カ）スザカジムキ"
	}
	var der []byte
	f.with(t, c, func(o contract.SignOptions) error {
		var err error
		der, err = contract.SignStep(context.Background(), s, o)
		return err
	})
	return der
}

// timeline is the whole history: the contract, then the three steps, a
// day apart, with the validation data for the steps.
func (f *fixture) timeline(t testing.TB) *contract.Timeline {
	t.Helper()
	tl := &contract.Timeline{PDF: f.signedContract(t)}
	for _, k := range []struct {
		kind contract.Kind
		card *card.Card
	}{{contract.KindInspection, f.officer}, {contract.KindAcceptance, f.agent}, {contract.KindInvoice, f.agent}} {
		f.advance(24 * time.Hour)
		if err := tl.Append(f.step(t, tl, k.card, k.kind, tl.Previous())); err != nil {
			t.Fatalf("append %s: %v", k.kind, err)
		}
	}
	if err := tl.AddValidationData(context.Background(), f.policy); err != nil {
		t.Fatal(err)
	}
	return tl
}
