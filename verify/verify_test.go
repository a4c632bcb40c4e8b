package verify_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/signintech/gopdf"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/cms"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/tsa"
	"github.com/mynaplat/mynaplat/verify"
	"github.com/mynaplat/mynaplat/wareki"
)

// fixture is a JPKI centre with one card holder, a TSA and a policy, all
// in one process on a clock that tests move.
type fixture struct {
	clock   atomic.Int64
	centre  *jpki.Centre
	card    *card.Card
	stamper *tsa.Authority
	policy  *verify.Policy
	ocspOff atomic.Bool
}

func (f *fixture) now() time.Time { return time.Unix(0, f.clock.Load()) }

func (f *fixture) advance(d time.Duration) { f.clock.Add(int64(d)) }

const password = "SAKATA1975"

func newFixture(t testing.TB) *fixture { return newFixtureIssued(t, 0) }

// newFixtureIssued issues the card years before the clock's time.
func newFixtureIssued(t testing.TB, years int) *fixture {
	t.Helper()
	f := &fixture{}
	// Three days before the wall clock: the time-stamp library checks its
	// token's signing-time against the wall clock.
	present := time.Now().AddDate(0, 0, -3).Truncate(time.Second)
	f.clock.Store(present.AddDate(-years, 0, 0).UnixNano())
	ctx := context.Background()
	var err error
	if f.centre, err = jpki.Open(ctx, jpki.Config{DB: storetest.SQLite(t), Dir: t.TempDir(), BaseURL: "http://jpki.test", Now: f.now}); err != nil {
		t.Fatal(err)
	}
	cards, err := card.NewStore(t.TempDir(), f.now)
	if err != nil {
		t.Fatal(err)
	}
	if f.card, err = cards.Create(card.Spec{AuthPIN: "1111", SignPIN: password, TextPIN: "1111", MyNumber: "123456789018",
		Name: "酒田　一郎", Address: "山形県酒田市本町二丁目２番４５号", BirthDate: "19750630", Sex: "1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.centre.IssueCard(ctx, jpki.Resident{Name: "酒田　一郎", Kana: "サカタ　イチロウ",
		BirthDate: time.Date(1975, 6, 30, 0, 0, 0, 0, wareki.JST()), Sex: jpki.Male,
		Address: "山形県酒田市本町二丁目２番４５号", Municipality: "062049"}, f.card); err != nil {
		t.Fatal(err)
	}
	f.clock.Store(present.UnixNano())
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
	return f
}

// sign has the card sign content, time-stamped unless stamp is false.
func (f *fixture) sign(t testing.TB, c *verify.Content, stamp bool) []byte {
	t.Helper()
	body, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var st cms.Stamper
	if stamp {
		st = f.stamper
	}
	var der []byte
	err = terminal.WithSigner(f.card, password, func(cert *x509.Certificate, s crypto.Signer) error {
		der, err = cms.Sign(context.Background(), body, cms.SignOptions{Signer: s, Cert: cert, Stamper: st})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// signPDF has the card sign a one-page PDF (PAdES, time-stamped: B-T).
func (f *fixture) signPDF(t testing.TB) []byte {
	t.Helper()
	return f.signPDFWith(t, f.stamper)
}

// signPDFUnstamped has the card sign a one-page PDF without a time-stamp
// (PAdES B-B).
func (f *fixture) signPDFUnstamped(t testing.TB) []byte {
	t.Helper()
	return f.signPDFWith(t, nil)
}

// onePage is an unsigned one-page PDF.
func onePage(t testing.TB) []byte {
	t.Helper()
	var p gopdf.GoPdf
	p.Start(gopdf.Config{PageSize: *gopdf.PageSizeA4})
	p.AddPage()
	p.RectFromUpperLeftWithStyle(100, 100, 200, 120, "D")
	in, err := p.GetBytesPdfReturnErr()
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func (f *fixture) signPDFWith(t testing.TB, st cms.Stamper) []byte {
	t.Helper()
	in := onePage(t)
	var out []byte
	var err error
	err = terminal.WithSigner(f.card, password, func(cert *x509.Certificate, s crypto.Signer) error {
		out, err = cms.SignPDF(context.Background(), in, cms.PDFOptions{SignOptions: cms.SignOptions{Signer: s, Cert: cert, Stamper: st},
			Name: "Sakata Ichiro", Reason: "Employment certificate", Location: "Sakata", When: f.now()})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (f *fixture) signSerial(t testing.TB) string {
	t.Helper()
	var serial string
	err := terminal.WithSigner(f.card, password, func(cert *x509.Certificate, _ crypto.Signer) error {
		serial = jpki.Serial(cert.SerialNumber)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return serial
}

var application = &verify.Content{Type: "申告書", Title: "令和8年分 確定申告", Fields: []verify.Field{{Label: "件名", Value: "生命保険料控除"}}}

var certificate = &verify.Content{Type: "保険料控除証明書", Title: "令和8年分 生命保険料控除証明書",
	Issuer: &verify.Issuer{CorporateNumber: "8120005900001", Name: "日本生命保険相互会社"}}

type outcome struct {
	Indication verify.Indication
	Sub        verify.SubIndication
	Delegation string
}

func (o outcome) of(r *verify.Report) outcome {
	got := outcome{Indication: r.Indication, Sub: r.SubIndication}
	if r.Delegation != nil {
		got.Delegation = r.Delegation.Result + "/" + r.Delegation.Reason
	}
	return got
}

// TestValidate runs the sub-indications the post box's receivers see.
func TestValidate(t *testing.T) {
	ctx := context.Background()
	passedDelegation := func(context.Context, verify.DelegationQuery) (*verify.Delegation, error) {
		return &verify.Delegation{Result: verify.DelegationPassed, Corporation: "日本生命保険相互会社"}, nil
	}
	for _, tc := range []struct {
		name string
		// doc makes the document; it may move the clock or revoke.
		doc        func(t *testing.T, f *fixture) verify.Document
		delegation verify.DelegationChecker
		want       outcome
		// issued is how many years before now the card was issued.
		issued int
	}{
		{"valid", func(t *testing.T, f *fixture) verify.Document {
			return verify.Document{Format: verify.FormatCMS, Data: f.sign(t, application, true)}
		}, nil, outcome{Indication: verify.TotalPassed}, 0},
		{"tampered content", func(t *testing.T, f *fixture) verify.Document {
			der := f.sign(t, application, true)
			i := bytes.Index(der, []byte("生命保険料控除"))
			der[i+1] ^= 0x01
			return verify.Document{Format: verify.FormatCMS, Data: der}
		}, nil, outcome{verify.TotalFailed, verify.HashFailure, ""}, 0},
		{"not a signature", func(t *testing.T, f *fixture) verify.Document {
			return verify.Document{Format: verify.FormatCMS, Data: []byte("not DER")}
		}, nil, outcome{verify.TotalFailed, verify.FormatFailure, ""}, 0},
		{"no time-stamp", func(t *testing.T, f *fixture) verify.Document {
			return verify.Document{Format: verify.FormatCMS, Data: f.sign(t, application, false)}
		}, nil, outcome{verify.Indeterminate, verify.NoPOE, ""}, 0},
		{"revoked after the time-stamp", func(t *testing.T, f *fixture) verify.Document {
			der := f.sign(t, application, true)
			f.advance(time.Hour)
			if err := f.centre.Revoke(ctx, jpki.Sign, f.signSerial(t), jpki.AffiliationChanged); err != nil {
				t.Fatal(err)
			}
			f.advance(time.Minute)
			return verify.Document{Format: verify.FormatCMS, Data: der}
		}, nil, outcome{Indication: verify.TotalPassed}, 0},
		{"revoked before the time-stamp", func(t *testing.T, f *fixture) verify.Document {
			if err := f.centre.Revoke(ctx, jpki.Sign, f.signSerial(t), jpki.KeyCompromise); err != nil {
				t.Fatal(err)
			}
			f.advance(time.Minute)
			return verify.Document{Format: verify.FormatCMS, Data: f.sign(t, application, true)}
		}, nil, outcome{verify.TotalFailed, verify.Revoked, ""}, 0},
		{"no revocation data", func(t *testing.T, f *fixture) verify.Document {
			f.ocspOff.Store(true)
			return verify.Document{Format: verify.FormatCMS, Data: f.sign(t, application, true)}
		}, nil, outcome{verify.Indeterminate, verify.TryLater, ""}, 0},
		{"signed after the certificate's end", func(t *testing.T, f *fixture) verify.Document {
			return verify.Document{Format: verify.FormatCMS, Data: f.sign(t, application, true)}
		}, nil, outcome{verify.TotalFailed, verify.Expired, ""}, 6},
		{"not a JPKI signer", func(t *testing.T, f *fixture) verify.Document {
			key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "酒田　一郎"},
				NotBefore: f.now().Add(-time.Hour), NotAfter: f.now().AddDate(1, 0, 0), KeyUsage: x509.KeyUsageDigitalSignature}
			der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
			cert, _ := x509.ParseCertificate(der)
			body, _ := application.Marshal()
			signed, err := cms.Sign(ctx, body, cms.SignOptions{Signer: key, Cert: cert, Stamper: f.stamper})
			if err != nil {
				t.Fatal(err)
			}
			return verify.Document{Format: verify.FormatCMS, Data: signed}
		}, nil, outcome{verify.Indeterminate, verify.NoCertificateChainFound, ""}, 0},
		{"issuer's certificate without a power", func(t *testing.T, f *fixture) verify.Document {
			return verify.Document{Format: verify.FormatCMS, Data: f.sign(t, certificate, true)}
		}, passedDelegation, outcome{verify.Indeterminate, verify.SigConstraintsFailure, "FAILED/no_power"}, 0},
		{"issuer's certificate with a power", func(t *testing.T, f *fixture) verify.Document {
			return verify.Document{Format: verify.FormatCMS, Data: f.sign(t, certificate, true), Power: []byte("power")}
		}, passedDelegation, outcome{verify.TotalPassed, "", "PASSED/"}, 0},
		{"power out of scope", func(t *testing.T, f *fixture) verify.Document {
			return verify.Document{Format: verify.FormatCMS, Data: f.sign(t, certificate, true), Power: []byte("power")}
		}, func(context.Context, verify.DelegationQuery) (*verify.Delegation, error) {
			return &verify.Delegation{Result: verify.DelegationFailed, Reason: "out_of_scope"}, nil
		}, outcome{verify.Indeterminate, verify.SigConstraintsFailure, "FAILED/out_of_scope"}, 0},
		{"delegation register unreachable", func(t *testing.T, f *fixture) verify.Document {
			return verify.Document{Format: verify.FormatCMS, Data: f.sign(t, certificate, true), Power: []byte("power")}
		}, func(context.Context, verify.DelegationQuery) (*verify.Delegation, error) {
			return nil, errors.New("down")
		}, outcome{verify.Indeterminate, verify.TryLater, "UNAVAILABLE/"}, 0},
		{"PAdES", func(t *testing.T, f *fixture) verify.Document {
			return verify.Document{Format: verify.FormatPAdES, Data: f.signPDF(t)}
		}, nil, outcome{Indication: verify.TotalPassed}, 0},
		{"PAdES changed after signing", func(t *testing.T, f *fixture) verify.Document {
			pdf := f.signPDF(t)
			i := bytes.Index(pdf, []byte("/MediaBox"))
			pdf[i+1] = 'm'
			return verify.Document{Format: verify.FormatPAdES, Data: pdf}
		}, nil, outcome{verify.TotalFailed, verify.HashFailure, ""}, 0},
		{"PAdES an organisation delivered, without a power", func(t *testing.T, f *fixture) verify.Document {
			return verify.Document{Format: verify.FormatPAdES, Data: f.signPDF(t), Type: "雇用証明書",
				Claimed: &verify.Issuer{CorporateNumber: "7390001900004", Name: "株式会社庄内精機"}}
		}, passedDelegation, outcome{verify.Indeterminate, verify.SigConstraintsFailure, "FAILED/no_power"}, 0},
		{"PAdES an organisation delivered, with a power", func(t *testing.T, f *fixture) verify.Document {
			return verify.Document{Format: verify.FormatPAdES, Data: f.signPDF(t), Type: "雇用証明書", Power: []byte("power"),
				Claimed: &verify.Issuer{CorporateNumber: "7390001900004", Name: "株式会社庄内精機"}}
		}, func(_ context.Context, q verify.DelegationQuery) (*verify.Delegation, error) {
			if q.DocType != "雇用証明書" || q.CorporateNumber != "7390001900004" {
				return &verify.Delegation{Result: verify.DelegationFailed, Reason: "out_of_scope"}, nil
			}
			return &verify.Delegation{Result: verify.DelegationPassed}, nil
		}, outcome{verify.TotalPassed, "", "PASSED/"}, 0},
		{"unknown format", func(t *testing.T, f *fixture) verify.Document {
			return verify.Document{Format: "xades", Data: []byte("<x/>")}
		}, nil, outcome{verify.TotalFailed, verify.FormatFailure, ""}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixtureIssued(t, tc.issued)
			f.policy.Delegation = tc.delegation
			doc := tc.doc(t, f)
			rep := f.policy.Validate(ctx, doc)
			if diff := cmp.Diff(tc.want, tc.want.of(rep)); diff != "" {
				t.Errorf("report (-want +got):\n%s\n%+v", diff, rep)
			}
			if rep.MessageJA == "" || rep.MessageEN == "" {
				t.Errorf("no message in both languages: %+v", rep)
			}
			if rep.Indication != verify.TotalPassed && rep.Passed() {
				t.Errorf("%s counts as passed", rep.Indication)
			}
			if rep.Indication == verify.TotalPassed && (rep.SigningTime == nil || rep.Signer == nil || rep.Signer.Name != "酒田　一郎") {
				t.Errorf("a passed report without signer and time-stamp: %+v", rep)
			}
		})
	}
}

// BenchmarkValidate is what a receiver does per document: CMS and
// time-stamp verification, the JPKI chain, one OCSP answer (in process).
func BenchmarkValidate(b *testing.B) {
	f := newFixture(b)
	doc := verify.Document{Format: verify.FormatCMS, Data: f.sign(b, application, true)}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if r := f.policy.Validate(ctx, doc); !r.Passed() {
			b.Fatalf("%s %s", r.Indication, r.SubIndication)
		}
	}
}
