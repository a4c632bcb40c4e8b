package corpreg

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3"
	"github.com/zmap/zlint/v3/lint"

	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// t0 is the tests' start: 令和8年4月1日 09:00 JST.
var t0 = time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)

// Test corporations: numbers with valid check digits made for the tests.
const (
	numberA = "4010001000011" // 株式会社テスト商事
	numberB = "1010001000022" // テスト工業株式会社
	numberC = "7010001000033" // never registered
)

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time            { return c.t }
func (c *clock) set(t time.Time) time.Time { c.t = t; return t }

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newRegistry(t testing.TB, db *store.DB, c *clock) *Registry {
	t.Helper()
	a, err := OpenAuthority(filepath.Join(t.TempDir(), "corpreg-ca"), c.now)
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(context.Background(), Config{DB: db, Authority: a, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestNumbersOfTheTests(t *testing.T) {
	for _, n := range []string{numberA, numberB, numberC} {
		if err := ValidNumber(n); err != nil {
			t.Error(err)
		}
	}
}

func TestQueriesKeepPlaceholderOrder(t *testing.T) {
	for _, q := range []string{qInsertCorporation, qCorporation, qClosedAt, qCloseCorporation, qCurrent, qEndTerm,
		qInsertRep, qRepresentatives, qRepBySerial, qInsertEvent, qEvents, qFormerNames, qNameSince, qInsertFormer, qRename, qRenameRead} {
		if err := store.CheckPlaceholders(q); err != nil {
			t.Errorf("%v in %s", err, q)
		}
	}
}

// TestRegistry walks one corporation through its life — registration, two
// representatives, closure — and asks RepresentativeAt at every boundary.
func TestRegistry(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := &clock{t: t0}
		r := newRegistry(t, db, c)

		if err := r.RegisterCorporation(ctx, numberA, "株式会社テスト商事", "東京都千代田区霞が関三丁目1番1号"); err != nil {
			t.Fatal(err)
		}
		if err := r.RegisterCorporation(ctx, numberB, "テスト工業株式会社", "大阪府大阪市北区1番"); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name, number, corp, addr string
			want                     error
		}{
			{"duplicate", numberA, "別の名前", "どこか", ErrDuplicate},
			{"bad check digit", "4010001000012", "x", "y", ErrInvalidNumber},
			{"12 digits", "010001000011", "x", "y", ErrInvalid},
			{"empty name", numberC, "", "y", ErrInvalid},
			{"control character", numberC, "a\nb", "y", ErrInvalid},
			{"surrounding space", numberC, " a", "y", ErrInvalid},
		} {
			if err := r.RegisterCorporation(ctx, tc.number, tc.corp, tc.addr); !errors.Is(err, tc.want) {
				t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
			}
		}

		key1, key2, keyB := newKey(t), newKey(t), newKey(t)
		rep1, err := r.AppointRepresentative(ctx, numberA, "代表 一郎", key1.Public())
		if err != nil {
			t.Fatal(err)
		}
		checkProfile(t, rep1, "代表 一郎", "株式会社テスト商事", numberA, r.CA())
		repB, err := r.AppointRepresentative(ctx, numberB, "工業 花子", keyB.Public())
		if err != nil {
			t.Fatal(err)
		}
		t1 := c.set(t0.Add(30 * 24 * time.Hour))
		rep2, err := r.AppointRepresentative(ctx, numberA, "代表 二郎", key2.Public())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.AppointRepresentative(ctx, numberC, "誰か", newKey(t).Public()); !errors.Is(err, ErrUnknownCorporation) {
			t.Errorf("appoint for an unknown corporation: %v", err)
		}
		weak, _ := rsa.GenerateKey(rand.Reader, 1024)
		if _, err := r.AppointRepresentative(ctx, numberA, "弱い 鍵", weak.Public()); !errors.Is(err, ErrInvalid) {
			t.Errorf("appoint with an RSA-1024 key: %v, want ErrInvalid", err)
		}
		t2 := c.set(t1.Add(30 * 24 * time.Hour))
		if err := r.Close(ctx, numberA); err != nil {
			t.Fatal(err)
		}
		if err := r.Close(ctx, numberA); !errors.Is(err, ErrClosed) {
			t.Errorf("close twice: %v, want ErrClosed", err)
		}
		if _, err := r.AppointRepresentative(ctx, numberA, "代表 三郎", newKey(t).Public()); !errors.Is(err, ErrClosed) {
			t.Errorf("appoint after closure: %v, want ErrClosed", err)
		}

		// A certificate with the same subject and key as representative 1,
		// but not issued by the registry.
		fake := selfSigned(t, key1, rep1.Subject, rep1.SerialNumber)
		ms := time.Millisecond
		for _, tc := range []struct {
			name   string
			number string
			cert   *x509.Certificate
			at     time.Time
			want   error
		}{
			{"first representative at the start of the term", numberA, rep1, t0, nil},
			{"first representative before the appointment", numberA, rep1, t0.Add(-ms), ErrNotRepresentative},
			{"first representative at the end of the term", numberA, rep1, t1.Add(-ms), nil},
			{"first representative after the new appointment", numberA, rep1, t1, ErrNotRepresentative},
			{"second representative at the appointment", numberA, rep2, t1, nil},
			{"second representative before the appointment", numberA, rep2, t1.Add(-ms), ErrNotRepresentative},
			{"second representative just before closure", numberA, rep2, t2.Add(-ms), nil},
			{"second representative at closure", numberA, rep2, t2, ErrClosed},
			{"another corporation's representative", numberA, repB, t1, ErrNotRepresentative},
			{"representative of B", numberB, repB, t2, nil},
			{"a look-alike certificate not issued by the registry", numberA, fake, t0.Add(time.Hour), ErrNotRepresentative},
			{"no certificate", numberA, nil, t0, ErrNotRepresentative},
			{"unknown corporation", numberC, rep1, t0, ErrUnknownCorporation},
			{"malformed number", "123", rep1, t0, ErrUnknownCorporation},
			{"after the certificate's end", numberB, repB, repB.NotAfter.Add(time.Second), ErrNotRepresentative},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := r.RepresentativeAt(ctx, tc.number, tc.cert, tc.at)
				if tc.want == nil && err != nil || !errors.Is(err, tc.want) {
					t.Errorf("RepresentativeAt: %v, want %v", err, tc.want)
				}
			})
		}

		got, err := r.Corporation(ctx, numberA)
		if err != nil {
			t.Fatal(err)
		}
		want := &Corporation{Number: numberA, Name: "株式会社テスト商事", NameSince: t0, FormerNames: []FormerName{}, Address: "東京都千代田区霞が関三丁目1番1号",
			Status: Closed, RegisteredAt: t0, ClosedAt: t2, Representatives: []Representative{
				{Name: "代表 一郎", Serial: serialHex(rep1), Certificate: rep1.Raw, From: t0, Until: t1},
				{Name: "代表 二郎", Serial: serialHex(rep2), Certificate: rep2.Raw, From: t1, Until: t2},
			}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("corporation (-want +got):\n%s", diff)
		}
		if got.Current() != nil {
			t.Errorf("a closed corporation has a current representative: %+v", got.Current())
		}
		if b, _ := r.Corporation(ctx, numberB); b == nil || b.Current() == nil || b.Current().Serial != serialHex(repB) {
			t.Errorf("current representative of B: %+v", b)
		}
		if _, err := r.Corporation(ctx, numberC); !errors.Is(err, ErrUnknownCorporation) {
			t.Errorf("unknown corporation: %v", err)
		}

		events, err := r.Events(ctx, numberA)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, e := range events {
			kinds = append(kinds, e.Kind)
		}
		if diff := cmp.Diff([]string{"registered", "appointed", "term_ended", "appointed", "term_ended", "closed"}, kinds); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
	})
}

// checkProfile checks a representative certificate against the profile of
// the package doc, and runs zlint's RFC lints over it.
func checkProfile(t *testing.T, cert *x509.Certificate, name, corp, number string, ca *x509.Certificate) {
	t.Helper()
	if err := cert.CheckSignatureFrom(ca); err != nil {
		t.Errorf("not signed by the registry CA: %v", err)
	}
	if cert.Subject.CommonName != name || !slices.Equal(cert.Subject.Organization, []string{corp}) {
		t.Errorf("subject %v", cert.Subject)
	}
	if got := CertificateNumber(cert); got != number {
		t.Errorf("organizationIdentifier gives %q, want %q", got, number)
	}
	if cert.KeyUsage != x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment || cert.IsCA {
		t.Errorf("key usage %v, CA %v", cert.KeyUsage, cert.IsCA)
	}
	reg, err := lint.GlobalRegistry().Filter(lint.FilterOptions{
		IncludeSources: lint.SourceList{lint.RFC5280, lint.RFC5480, lint.RFC5891},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*x509.Certificate{cert, ca} {
		zc, err := zx509.ParseCertificate(c.Raw)
		if err != nil {
			t.Fatal(err)
		}
		results := zlint.LintCertificateEx(zc, reg).Results
		var names []string
		for n := range results {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			if s := results[n].Status; s == lint.Error || s == lint.Fatal {
				t.Errorf("%s: %s: %s %s", c.Subject.CommonName, n, s, results[n].Details)
			}
		}
	}
}

// selfSigned makes a look-alike of a representative certificate: same
// subject, key and serial number, but not issued by the registry.
func selfSigned(t testing.TB, key *ecdsa.PrivateKey, subject pkix.Name, serial *big.Int) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: subject, NotBefore: t0.Add(-time.Hour), NotAfter: t0.AddDate(2, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment}
	tmpl.Subject.ExtraNames = subject.Names
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestAuthorityKeepsItsRoot: a second open reads the same root; the key is
// owner-only.
func TestAuthorityKeepsItsRoot(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "ca")
	a, err := OpenAuthority(dir, func() time.Time { return t0 })
	if err != nil {
		t.Fatal(err)
	}
	b, err := OpenAuthority(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Root().Equal(b.Root()) {
		t.Error("the second open made a new root")
	}
	for name, mode := range map[string]os.FileMode{"ca.key": 0o600, "ca.crt": 0o644, ".": 0o700} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: %v %v, want mode %v", name, fi, err, mode)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "ca.crt"), []byte("junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenAuthority(dir, nil); err == nil {
		t.Error("a broken ca.crt was accepted")
	}
}
