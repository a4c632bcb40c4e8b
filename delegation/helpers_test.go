package delegation

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smallstep/pkcs7"

	"github.com/mynaplat/mynaplat/corpreg"
	"github.com/mynaplat/mynaplat/store"
)

// The tests sign with smallstep/pkcs7 and carry the signing time in a
// signed attribute of their own (oidTestSigningTime, under the RFC 5612
// documentation arc), standing in for the RFC 3161 time-stamp that the
// platform's verifier (package cms) takes the time from. smallstep also
// adds a wall-clock signing-time attribute and checks it against the
// signer's certificate, so the tests' times are relative to the real clock
// (base), and every certificate is valid now.
var oidTestSigningTime = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 32473, 1, 1}

// base is the tests' day 0, 200 days ago: all the scenario's times lie
// between it and now.
var base = time.Now().UTC().Truncate(time.Second).AddDate(0, 0, -200)

func day(n int) time.Time { return base.AddDate(0, 0, n) }

// Numbers of test corporations (valid check digits, made up).
const (
	numberA = "4010001000011" // 株式会社テスト商事
	numberB = "1010001000022" // テスト工業株式会社, closed on day 100
	numberC = "7010001000033" // not registered
)

// signer is a key with its certificate and chain, as a card or a
// representative's token holds it.
type signer struct {
	cert  *x509.Certificate
	key   crypto.Signer
	chain []*x509.Certificate
}

// signCMS makes an enveloping SignedData over content, signed at at.
func signCMS(t testing.TB, content []byte, s *signer, at time.Time) []byte {
	t.Helper()
	sd, err := pkcs7.NewSignedData(content)
	if err != nil {
		t.Fatal(err)
	}
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	if err := sd.AddSignerChain(s.cert, s.key, s.chain, pkcs7.SignerInfoConfig{
		ExtraSignedAttributes: []pkcs7.Attribute{{Type: oidTestSigningTime, Value: at.UTC()}},
	}); err != nil {
		t.Fatal(err)
	}
	der, err := sd.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// verifyCMS is the tests' SignatureVerifier.
func verifyCMS(der []byte) ([]byte, *x509.Certificate, time.Time, error) {
	p7, err := pkcs7.Parse(der)
	if err != nil {
		return nil, nil, time.Time{}, err
	}
	if len(p7.Signers) != 1 {
		return nil, nil, time.Time{}, fmt.Errorf("%d signers", len(p7.Signers))
	}
	if err := p7.Verify(); err != nil {
		return nil, nil, time.Time{}, err
	}
	var at time.Time
	if err := p7.UnmarshalSignedAttribute(oidTestSigningTime, &at); err != nil {
		return nil, nil, time.Time{}, fmt.Errorf("no signing time: %w", err)
	}
	return p7.Content, p7.GetOnlySigner(), at, nil
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func serial(t testing.TB) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		t.Fatal(err)
	}
	return n.Add(n, big.NewInt(1))
}

// issue makes a certificate for key under issuer (self-signed when issuer
// is nil), valid from day -1 to five years from now.
func issue(t testing.TB, subject pkix.Name, key crypto.Signer, issuer *signer, ca bool) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: serial(t), Subject: subject, NotBefore: day(-1), NotAfter: time.Now().AddDate(5, 0, 0),
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

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time  { return c.t }
func (c *clock) set(t time.Time) { c.t = t }

// env is a corporate registry and a delegation register on one database,
// with a stand-in JPKI signing CA whose certificates SignerPerson resolves.
type env struct {
	t       testing.TB
	clock   *clock
	reg     *corpreg.Registry
	svc     *Service
	jpki    *signer
	persons map[string]string // certificate serial → platform ID
}

func newEnv(t testing.TB, db *store.DB) *env {
	t.Helper()
	e := &env{t: t, clock: &clock{t: day(0)}, persons: map[string]string{}}
	ctx := context.Background()
	a, err := corpreg.OpenAuthority(filepath.Join(t.TempDir(), "corpreg-ca"), e.clock.now)
	if err != nil {
		t.Fatal(err)
	}
	if e.reg, err = corpreg.New(ctx, corpreg.Config{DB: db, Authority: a, Now: e.clock.now}); err != nil {
		t.Fatal(err)
	}
	jk := newKey(t)
	e.jpki = &signer{key: jk}
	e.jpki.cert = issue(t, pkix.Name{CommonName: "JPKI signing CA (test)"}, jk, nil, true)
	if e.svc, err = New(ctx, Config{DB: db, Corporations: e.reg, Verify: verifyCMS, SignerPerson: e.signerPerson, Now: e.clock.now}); err != nil {
		t.Fatal(err)
	}
	return e
}

// signerPerson is the tests' SignerPerson: certificates of the stand-in
// JPKI CA that were handed out by person.
func (e *env) signerPerson(_ context.Context, cert *x509.Certificate) (string, error) {
	if cert.CheckSignatureFrom(e.jpki.cert) != nil {
		return "", fmt.Errorf("%w: not issued by the JPKI signing CA", ErrUnknownSigner)
	}
	id, ok := e.persons[cert.SerialNumber.String()]
	if !ok {
		return "", ErrUnknownSigner
	}
	return id, nil
}

// person makes a JPKI signing key and certificate for a platform ID.
func (e *env) person(platformID string) *signer {
	k := newKey(e.t)
	s := &signer{key: k, cert: issue(e.t, pkix.Name{CommonName: strings.ToUpper(platformID)}, k, e.jpki, false), chain: []*x509.Certificate{e.jpki.cert}}
	e.persons[s.cert.SerialNumber.String()] = platformID
	return s
}

// corporation registers a corporation.
func (e *env) corporation(number, name string) {
	if err := e.reg.RegisterCorporation(context.Background(), number, name, "東京都千代田区1番"); err != nil {
		e.t.Fatal(err)
	}
}

// representative appoints a representative now, with a fresh key.
func (e *env) representative(number, name string) *signer {
	k := newKey(e.t)
	cert, err := e.reg.AppointRepresentative(context.Background(), number, name, k.Public())
	if err != nil {
		e.t.Fatal(err)
	}
	return &signer{cert: cert, key: k, chain: []*x509.Certificate{e.reg.CA()}}
}

// power builds a power's content with a fresh ID.
func power(principal Principal, agentID string, from, to time.Time, sub bool, matters ...string) *Power {
	id, err := NewID()
	if err != nil {
		panic(err)
	}
	return &Power{ID: id, Principal: principal, Agent: Agent{PlatformID: agentID, Name: "受任者 " + agentID},
		Powers: matters, NotBefore: from, NotAfter: to, SubDelegation: sub}
}

// child builds a sub-delegation of parent.
func child(parent *Power, agentID string, from, to time.Time, matters ...string) *Power {
	p := power(parent.Principal, agentID, from, to, false, matters...)
	p.Parent = parent.ID
	return p
}

// sign signs a power's canonical form.
func (e *env) sign(p *Power, s *signer, at time.Time) []byte {
	b, err := p.Canonical()
	if err != nil {
		e.t.Fatal(err)
	}
	return signCMS(e.t, b, s, at)
}

// register registers a signed power now and fails the test on error.
func (e *env) register(der []byte) {
	if _, err := e.svc.Register(context.Background(), der); err != nil {
		e.t.Fatal(err)
	}
}

// revocation signs a revocation of p.
func (e *env) revocation(p *Power, s *signer, at time.Time) []byte {
	b, err := Revocation{PowerID: p.ID, CorporateNumber: p.Principal.CorporateNumber}.Canonical()
	if err != nil {
		e.t.Fatal(err)
	}
	return signCMS(e.t, b, s, at)
}

// errIs reports whether err matches want (nil matching nil only).
func errIs(err, want error) bool {
	if want == nil {
		return err == nil
	}
	return errors.Is(err, want)
}

// rawJSON is a power's signed form without Canonical's checks.
func rawJSON(t testing.TB, p *Power) []byte {
	t.Helper()
	b, err := json.Marshal(powerJSON{Type: powerType, Power: *p})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// signCMSNoTime signs without the tests' signing-time attribute.
func signCMSNoTime(t testing.TB, content []byte, s *signer) []byte {
	t.Helper()
	sd, err := pkcs7.NewSignedData(content)
	if err != nil {
		t.Fatal(err)
	}
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	if err := sd.AddSignerChain(s.cert, s.key, s.chain, pkcs7.SignerInfoConfig{}); err != nil {
		t.Fatal(err)
	}
	der, err := sd.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
