package body

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/cms"
	"github.com/mynaplat/mynaplat/corpreg"
	"github.com/mynaplat/mynaplat/delegation"
	"github.com/mynaplat/mynaplat/procure"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/tsa"
)

// world is a body that opens, with what the opening reads: a corporate
// registry (corpreg, in process, with its 商号変更), the delegation register (in process,
// every power signed by a representative's corpreg key), a stand-in JPKI
// signing CA whose certificates the test revokes, and a stand-in
// qualification register that answers QualificationAt as procure.Client.
type world struct {
	*fixture
	t      testing.TB
	ctx    context.Context
	reg    *corpreg.Registry
	powers *delegation.Service
	jpki   *signer

	mu      sync.Mutex
	persons map[string]string    // certificate serial → platform ID
	revoked map[string]time.Time // certificate serial → revoked at
	quals   map[string]*procure.Qualification
	reps    map[string]*signer
	corpN   int
	// cardCA is a JPKI centre's signing CA whose cards' certificates
	// are known persons too (the contract tests' cards).
	cardCA *x509.Certificate
	// statusCalls counts the revocation look-ups.
	statusCalls int
}

type signer struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func (s *signer) sign(ctx context.Context, st cms.Stamper) cms.SignOptions {
	return cms.SignOptions{Signer: s.key, Cert: s.cert, Stamper: st}
}

func issueCert(t testing.TB, cn string, key crypto.Signer, issuer *signer, ca bool) *x509.Certificate {
	t.Helper()
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	tmpl := &x509.Certificate{SerialNumber: n.Add(n, big.NewInt(1)), Subject: pkix.Name{CommonName: cn},
		NotBefore: t0.AddDate(0, 0, -30), NotAfter: t0.AddDate(5, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment, BasicConstraintsValid: true}
	if ca {
		tmpl.KeyUsage, tmpl.IsCA = x509.KeyUsageCertSign, true
	}
	parent, parentKey := tmpl, key
	if issuer != nil {
		parent, parentKey = issuer.cert, issuer.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ecKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// worldRegister is the qualification register stand-in.
type worldRegister struct{ w *world }

func (r worldRegister) QualificationAt(_ context.Context, number string, at time.Time) (*procure.Qualification, error) {
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	q := r.w.quals[number]
	if q == nil || at.Before(q.ValidFrom) || at.After(q.ValidUntil) {
		return nil, procure.ErrNotFound
	}
	cp := *q
	return &cp, nil
}

func (r worldRegister) Qualification(ctx context.Context, number string) (*procure.Qualification, error) {
	return r.QualificationAt(ctx, number, r.w.clock.Now())
}

func newWorld(t testing.TB, db *store.DB, enroll int, with ...func(*Config, *fixture)) *world {
	t.Helper()
	w := &world{t: t, ctx: context.Background(), persons: map[string]string{}, revoked: map[string]time.Time{},
		quals: map[string]*procure.Qualification{}, reps: map[string]*signer{}}
	w.fixture = newFixture(t, db, enroll, func(cfg *Config, f *fixture) {
		dir := t.TempDir()
		a, err := corpreg.OpenAuthority(filepath.Join(dir, "corpreg"), f.clock.Now)
		if err != nil {
			t.Fatal(err)
		}
		if w.reg, err = corpreg.New(w.ctx, corpreg.Config{DB: db, Authority: a, Now: f.clock.Now}); err != nil {
			t.Fatal(err)
		}
		roots := x509.NewCertPool()
		roots.AddCert(f.tsaKeys.Root)
		jk := ecKey(t)
		w.jpki = &signer{key: jk, cert: issueCert(t, "JPKI signing CA (test)", jk, nil, true)}
		if w.powers, err = delegation.New(w.ctx, delegation.Config{DB: db, Corporations: w.reg, Verify: delegation.VerifyCMS(roots),
			SignerPerson: w.signerPerson, Now: f.clock.Now}); err != nil {
			t.Fatal(err)
		}
		cfg.Register = worldRegister{w}
		cfg.Opening = &OpeningConfig{Verify: delegation.VerifyCMS(roots), Powers: w.powers, Corporations: w.reg, Status: w.status}
		for _, fn := range with {
			fn(cfg, f)
		}
	})
	return w
}

func (w *world) signerPerson(_ context.Context, cert *x509.Certificate) (string, error) {
	if cert.CheckSignatureFrom(w.jpki.cert) != nil && (w.cardCA == nil || cert.CheckSignatureFrom(w.cardCA) != nil) {
		return "", delegation.ErrUnknownSigner
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	id, ok := w.persons[cert.SerialNumber.String()]
	if !ok {
		return "", delegation.ErrUnknownSigner
	}
	return id, nil
}

func (w *world) status(_ context.Context, cert *x509.Certificate) (bool, time.Time, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.statusCalls++
	at, ok := w.revoked[cert.SerialNumber.String()]
	return ok, at, nil
}

// person is a card's signing key and certificate for a platform ID.
func (w *world) person(pid string) *signer {
	k := ecKey(w.t)
	s := &signer{key: k, cert: issueCert(w.t, pid, k, w.jpki, false)}
	w.mu.Lock()
	w.persons[s.cert.SerialNumber.String()] = pid
	w.mu.Unlock()
	return s
}

// corporation registers a new corporation with a representative and,
// unless grade is "", a qualification in the sale field valid from 30 days
// before t0 for two years.
func (w *world) corporation(grade procure.Grade) (number, name string) {
	w.corpN++
	base := fmt.Sprintf("20100010%04d", w.corpN)
	d, err := corpreg.CheckDigit(base)
	if err != nil {
		w.t.Fatal(err)
	}
	number, name = string(d)+base, fmt.Sprintf("株式会社入札テスト%d", w.corpN)
	if err := w.reg.RegisterCorporation(w.ctx, number, name, "東京都千代田区霞が関1-1"); err != nil {
		w.t.Fatal(err)
	}
	k := ecKey(w.t)
	cert, err := w.reg.AppointRepresentative(w.ctx, number, "代表 太郎", k.Public())
	if err != nil {
		w.t.Fatal(err)
	}
	w.reps[number] = &signer{cert: cert, key: k}
	if grade != "" {
		w.qualify(number, name, grade, t0.AddDate(2, 0, 0))
	}
	return number, name
}

func (w *world) qualify(number, name string, grade procure.Grade, until time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.quals[number] = &procure.Qualification{CorporateNumber: number, Name: name, ValidFrom: t0.AddDate(0, 0, -30), ValidUntil: until,
		Fields: []procure.Graded{{Field: procure.FieldSale, Grade: grade}}}
}

// power grants and registers a power of the corporation to agent.
func (w *world) power(number, name, agent string, from, until time.Time, sub bool, matters ...string) *delegation.Power {
	id, err := delegation.NewID()
	if err != nil {
		w.t.Fatal(err)
	}
	p := &delegation.Power{ID: id, Principal: delegation.Principal{CorporateNumber: number, CorporationName: name, RepresentativeName: "代表 太郎"},
		Agent: delegation.Agent{PlatformID: agent, Name: "代理 " + agent}, Powers: matters, NotBefore: from, NotAfter: until, SubDelegation: sub}
	signed, err := p.Sign(w.ctx, w.reps[number].key, w.reps[number].cert, w.s.stamper)
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.powers.Register(w.ctx, signed); err != nil {
		w.t.Fatal(err)
	}
	return p
}

// subPower is a sub-delegation of parent, signed by parent's agent's card.
func (w *world) subPower(parent *delegation.Power, by *signer, agent string) *delegation.Power {
	id, err := delegation.NewID()
	if err != nil {
		w.t.Fatal(err)
	}
	p := &delegation.Power{ID: id, Principal: parent.Principal, Agent: delegation.Agent{PlatformID: agent, Name: "復代理 " + agent},
		Powers: parent.Powers, NotBefore: parent.NotBefore, NotAfter: parent.NotAfter, Parent: parent.ID}
	signed, err := p.Sign(w.ctx, by.key, by.cert, w.s.stamper)
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.powers.Register(w.ctx, signed); err != nil {
		w.t.Fatal(err)
	}
	return p
}

func (w *world) revokePower(number, id string) {
	signed, err := delegation.Revocation{PowerID: id, CorporateNumber: number}.Sign(w.ctx, w.reps[number].key, w.reps[number].cert, w.s.stamper)
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.powers.Revoke(w.ctx, id, signed); err != nil {
		w.t.Fatal(err)
	}
}

// bidder is a qualified business with an agent holding a bidding power.
type bidder struct {
	number, name string
	agent        string
	card         *signer
	power        *delegation.Power
}

func (w *world) bidder(grade procure.Grade) *bidder {
	number, name := w.corporation(grade)
	b := &bidder{number: number, name: name, agent: "pid-agent-" + number}
	b.card = w.person(b.agent)
	b.power = w.power(number, name, b.agent, t0.AddDate(0, 0, -1), t0.AddDate(1, 0, 0), false, procure.MatterBid)
	return b
}

// content is b's bid for tn at price.
func (b *bidder) content(tn *Tender, price int64) *BidContent {
	return &BidContent{Body: tn.Body, Tender: tn.ID, CorporateNumber: b.number, CorporationName: b.name, PriceYen: price,
		PowerID: b.power.ID, AgentPlatformID: b.agent}
}

// bid seals c with card (stamped by st, the body's TSA when nil) and
// submits it for the 法人番号 number.
func (w *world) bid(tn *Tender, number string, c *BidContent, card *signer, st cms.Stamper) *Receipt {
	w.t.Helper()
	if st == nil {
		st = w.s.stamper
	}
	cert, err := x509.ParseCertificate(tn.Certificate)
	if err != nil {
		w.t.Fatal(err)
	}
	env, err := SealBid(w.ctx, c, card.sign(w.ctx, st), cert)
	if err != nil {
		w.t.Fatal(err)
	}
	return w.submit(tn, number, env)
}

func (w *world) submit(tn *Tender, number string, env []byte) *Receipt {
	w.t.Helper()
	rc, err := w.s.Submit(w.ctx, tn.Body, tn.ID, number, env, "192.0.2.9")
	if err != nil {
		w.t.Fatal(err)
	}
	return rc
}

// lateStamper is the body's TSA with a clock after the deadline.
func (w *world) lateStamper(at time.Time) cms.Stamper {
	return tsa.New(w.tsaKeys, func() time.Time { return at }, nil)
}
