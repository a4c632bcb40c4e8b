package procure

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"math/big"
	"path/filepath"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/cms"
	"github.com/mynaplat/mynaplat/corpreg"
	"github.com/mynaplat/mynaplat/delegation"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/tsa"
)

// Test corporations (valid check digits, made up).
const (
	numberA = "4010001000011" // 株式会社須坂テスト商事, the applicant
	numberB = "1010001000022" // テスト工業株式会社, closed
	numberC = "7010001000033" // not registered
	nameA   = "株式会社須坂テスト商事"
	nameB   = "テスト工業株式会社"
)

// clock is a settable test clock, starting now (every certificate is
// valid from now).
type clock struct{ t time.Time }

func (c *clock) now() time.Time       { return c.t }
func (c *clock) add(d time.Duration)  { c.t = c.t.Add(d) }
func (c *clock) days(n int) time.Time { return c.t.AddDate(0, 0, n) }

// signer is a key with its certificate.
type signer struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// env is a corporate registry, a delegation register, a TSA and the
// procurement register on one database, with a stand-in JPKI signing CA
// whose certificates the delegation register resolves to platform IDs.
type env struct {
	t       *testing.T
	ctx     context.Context
	clock   *clock
	reg     *corpreg.Registry
	powers  *delegation.Service
	tsa     *tsa.Authority
	svc     *Service
	jpki    *signer
	persons map[string]string // certificate serial → platform ID
	reps    map[string]*signer
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func issue(t testing.TB, cn string, key crypto.Signer, issuer *signer, ca bool) *x509.Certificate {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	tmpl := &x509.Certificate{SerialNumber: n.Add(n, big.NewInt(1)), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(5, 0, 0),
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

func newEnv(t *testing.T, db *store.DB) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), clock: &clock{t: time.Now().UTC().Truncate(time.Second)},
		persons: map[string]string{}, reps: map[string]*signer{}}
	dir := t.TempDir()
	a, err := corpreg.OpenAuthority(filepath.Join(dir, "corpreg"), e.clock.now)
	if err != nil {
		t.Fatal(err)
	}
	if e.reg, err = corpreg.New(e.ctx, corpreg.Config{DB: db, Authority: a, Now: e.clock.now}); err != nil {
		t.Fatal(err)
	}
	keys, err := tsa.LoadOrCreate(filepath.Join(dir, "tsa"), e.clock.now)
	if err != nil {
		t.Fatal(err)
	}
	e.tsa = tsa.New(keys, e.clock.now, nil)
	roots := x509.NewCertPool()
	roots.AddCert(keys.Root)
	jk := newKey(t)
	e.jpki = &signer{key: jk, cert: issue(t, "JPKI signing CA (test)", jk, nil, true)}
	if e.powers, err = delegation.New(e.ctx, delegation.Config{DB: db, Corporations: e.reg, Verify: delegation.VerifyCMS(roots),
		SignerPerson: e.signerPerson, Now: e.clock.now}); err != nil {
		t.Fatal(err)
	}
	if e.svc, err = New(e.ctx, Config{DB: db, Corporations: e.reg, Powers: e.powers, Verify: delegation.VerifyCMS(roots),
		Now: e.clock.now}); err != nil {
		t.Fatal(err)
	}
	e.corporation(numberA, nameA)
	e.corporation(numberB, nameB)
	if err := e.reg.Close(e.ctx, numberB); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) signerPerson(_ context.Context, cert *x509.Certificate) (string, error) {
	if cert.CheckSignatureFrom(e.jpki.cert) != nil {
		return "", delegation.ErrUnknownSigner
	}
	id, ok := e.persons[cert.SerialNumber.String()]
	if !ok {
		return "", delegation.ErrUnknownSigner
	}
	return id, nil
}

// person makes a card's signing key and certificate for a platform ID.
func (e *env) person(platformID string) *signer {
	k := newKey(e.t)
	s := &signer{key: k, cert: issue(e.t, platformID, k, e.jpki, false)}
	e.persons[s.cert.SerialNumber.String()] = platformID
	return s
}

// corporation registers a corporation with a representative.
func (e *env) corporation(number, name string) {
	if err := e.reg.RegisterCorporation(e.ctx, number, name, "長野県須坂市大字須坂1528番地1"); err != nil {
		e.t.Fatal(err)
	}
	e.appoint(number)
}

// appoint certifies the corporation's representative (again): the
// certificate names the corporation by its current name.
func (e *env) appoint(number string) {
	k := newKey(e.t)
	cert, err := e.reg.AppointRepresentative(e.ctx, number, "須坂 一郎", k.Public())
	if err != nil {
		e.t.Fatal(err)
	}
	e.reps[number] = &signer{cert: cert, key: k}
}

func (e *env) sign(content []byte, s *signer) []byte {
	der, err := cms.Sign(e.ctx, content, cms.SignOptions{Signer: s.key, Cert: s.cert, Stamper: e.tsa})
	if err != nil {
		e.t.Fatal(err)
	}
	return der
}

// power grants and registers a power of corporation number to agent for
// the matters, valid for days from now, signed by the representative's
// certificate in the name it was issued with.
func (e *env) power(number, agent string, days int, matters ...string) string {
	id, err := delegation.NewID()
	if err != nil {
		e.t.Fatal(err)
	}
	// The name the representative's certificate was issued with: the
	// delegation register requires the power to name it.
	name := e.reps[number].cert.Subject.Organization[0]
	p := delegation.Power{ID: id, Principal: delegation.Principal{CorporateNumber: number, CorporationName: name, RepresentativeName: "須坂 一郎"},
		Agent: delegation.Agent{PlatformID: agent, Name: "代理 花子"}, Powers: matters,
		NotBefore: e.clock.now().Add(-time.Minute), NotAfter: e.clock.days(days)}
	signed, err := p.Sign(e.ctx, e.reps[number].key, e.reps[number].cert, e.tsa)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.powers.Register(e.ctx, signed); err != nil {
		e.t.Fatal(err)
	}
	return id
}

func (e *env) revoke(number, id string) {
	signed, err := delegation.Revocation{PowerID: id, CorporateNumber: number}.Sign(e.ctx, e.reps[number].key, e.reps[number].cert, e.tsa)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.powers.Revoke(e.ctx, id, signed); err != nil {
		e.t.Fatal(err)
	}
}

// application is a complete application of numberA under power.
func application(power string) *Application {
	return &Application{CorporateNumber: numberA, PowerID: power, Kind: KindNew, Founded: "1998-04-01",
		Fields: []FieldItems{
			{Field: FieldService, Items: []string{"情報処理", "ソフトウェア開発"}},
			{Field: FieldSale, Items: []string{"事務用品類"}},
		},
		Regions:     []string{"関東・甲信越", "東海・北陸"},
		Financials:  FinancialItems{AverageSalesYen: 350_000_000, EquityYen: 80_000_000, CurrentAssetsYen: 120_000_000, CurrentLiabilitiesYen: 60_000_000, Years: 27},
		TaxDeclared: true}
}

// raw is a's JSON as a careless client makes it: not checked, not
// normalized.
func raw(a *Application) []byte {
	b, err := json.Marshal(applicationJSON{Type: applicationType, Application: *a})
	if err != nil {
		panic(err)
	}
	return b
}

func (e *env) canonical(a *Application) []byte {
	c, err := a.Canonical()
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// apply signs content with card and files it as agent.
func (e *env) apply(agent string, card *signer, content []byte) (*Filed, error) {
	return e.svc.Apply(e.ctx, ApplyRequest{AgentPlatformID: agent, Signed: e.sign(content, card)})
}

func (e *env) mustApply(agent string, card *signer, a *Application) *Filed {
	f, err := e.apply(agent, card, e.canonical(a))
	if err != nil {
		e.t.Fatalf("apply: %v", err)
	}
	return f
}

func (e *env) grant(id string, days int) string {
	qid, err := e.svc.Grant(e.ctx, "procure:審査 太郎", id, e.clock.now(), e.clock.days(days))
	if err != nil {
		e.t.Fatalf("grant: %v", err)
	}
	return qid
}

// must is v, and a panic (failing the test) on err.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
