package body

import (
	"context"
	"crypto/x509"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/procure"
	"github.com/mynaplat/mynaplat/sealedbid"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/tsa"
)

// The demo's two bodies.
var testBodies = []Body{
	{ID: "kanto", NameJA: "関東地方整備局", NameEN: "Kanto Regional Development Bureau", Level: National},
	{ID: "suzaka", NameJA: "須坂市", NameEN: "Suzaka City", Level: Local},
}

// Corporate numbers with valid check digits (corpreg.ValidNumber).
const (
	corpA = "4010001000011"
	corpB = "1010001000022"
)

// register is a fake qualification register.
type register struct{}

func (register) Qualification(_ context.Context, number string) (*procure.Qualification, error) {
	if number == corpA {
		return &procure.Qualification{CorporateNumber: corpA, Name: "株式会社須坂テスト商事",
			Fields: []procure.Graded{{Field: procure.FieldSale, Grade: procure.GradeB}}}, nil
	}
	return nil, procure.ErrNotFound
}

func (r register) QualificationAt(ctx context.Context, number string, _ time.Time) (*procure.Qualification, error) {
	return r.Qualification(ctx, number)
}

// clock is a settable test clock.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock { c := &clock{}; c.ns.Store(t.UnixNano()); return c }
func (c *clock) Now() time.Time   { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Set(t time.Time)  { c.ns.Store(t.UnixNano()) }

var t0 = time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC)

type fixture struct {
	s       *Service
	db      *store.DB
	clock   *clock
	tsaRoot *x509.Certificate
	tsaKeys *tsa.Keys
	cfg     Config // as the Service was made (a restart makes another)
	// officers and their passphrases, enrolled at kanto
	officers []string
	pass     map[string][]byte
}

// newFixture is a Service on db at the test clock with enroll officers
// enrolled at kanto; with sets what else the Config holds.
func newFixture(t testing.TB, db *store.DB, enroll int, with ...func(*Config, *fixture)) *fixture {
	t.Helper()
	c := newClock(t0)
	keys, err := tsa.LoadOrCreate(t.TempDir(), c.Now)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{db: db, clock: c, tsaRoot: keys.Root, tsaKeys: keys, pass: map[string][]byte{}}
	cfg := Config{DB: db, Bodies: testBodies, KeyDir: t.TempDir(), Register: register{},
		Stamper: tsa.New(keys, c.Now, nil), Now: c.Now}
	for _, w := range with {
		w(&cfg, f)
	}
	s, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.s, f.cfg = s, cfg
	for i := range enroll {
		id := "pid-officer-" + string(rune('a'+i))
		p := []byte("opening passphrase of " + id)
		if err := s.Enroll(context.Background(), "kanto", id, "担当官"+string(rune('A'+i)), p, p); err != nil {
			t.Fatal(err)
		}
		f.officers = append(f.officers, id)
		f.pass[id] = p
	}
	return f
}

// publish publishes a tender at kanto opened by 2 of the enrolled officers.
func (f *fixture) publish(t testing.TB, deadline time.Time) *Tender {
	t.Helper()
	tn, err := f.s.Publish(context.Background(), "kanto", f.officers[0], TenderRequest{Title: "事務用品の購入", Item: "事務用品",
		Field: procure.FieldSale, EstimateYen: 5_000_000, Deadline: deadline, Officers: f.officers, K: 2})
	if err != nil {
		t.Fatal(err)
	}
	return tn
}

// seal seals content to the tender's opening certificate, as the desk does.
func seal(t testing.TB, tn *Tender, content string) []byte {
	t.Helper()
	cert, err := x509.ParseCertificate(tn.Certificate)
	if err != nil {
		t.Fatal(err)
	}
	env, err := sealedbid.Seal([]byte(content), cert)
	if err != nil {
		t.Fatal(err)
	}
	return env
}
