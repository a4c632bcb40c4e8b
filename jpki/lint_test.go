package jpki

import (
	"context"
	"sort"
	"testing"

	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3"
	"github.com/zmap/zlint/v3/lint"

	"github.com/mynaplat/mynaplat/store/storetest"
)

// TestProfilesPassRFCLints runs zlint's RFC 5280/5480/5891 lints (the CA/B
// Forum TLS lints do not apply to personal certificates) over every profile
// the centre issues and over its CRLs.
func TestProfilesPassRFCLints(t *testing.T) {
	reg, err := lint.GlobalRegistry().Filter(lint.FilterOptions{
		IncludeSources: lint.SourceList{lint.RFC5280, lint.RFC5480, lint.RFC5891},
	})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, storetest.SQLite(t))
	_, is := e.newCard(t, adult)
	if err := e.c.Revoke(context.Background(), Auth, is.Auth.Serial, KeyCompromise); err != nil {
		t.Fatal(err)
	}
	certs := map[string][]byte{
		"auth CA": e.c.CACertificate(Auth), "sign CA": e.c.CACertificate(Sign),
		"auth OCSP responder": e.c.ResponderCertificate(Auth), "sign OCSP responder": e.c.ResponderCertificate(Sign),
		"auth end entity": is.Auth.DER, "sign end entity": is.Sign.DER,
	}
	for name, der := range certs {
		t.Run(name, func(t *testing.T) {
			c, err := zx509.ParseCertificate(der)
			if err != nil {
				t.Fatal(err)
			}
			report(t, zlint.LintCertificateEx(c, reg).Results)
		})
	}
	for _, k := range Kinds {
		t.Run(string(k)+" CRL", func(t *testing.T) {
			crl, err := e.c.LatestCRL(context.Background(), k)
			if err != nil {
				t.Fatal(err)
			}
			r, err := zx509.ParseRevocationList(crl.DER)
			if err != nil {
				t.Fatal(err)
			}
			report(t, zlint.LintRevocationListEx(r, reg).Results)
		})
	}
}

func report(t *testing.T, results map[string]*lint.LintResult) {
	t.Helper()
	var names []string
	for n := range results {
		names = append(names, n)
	}
	sort.Strings(names)
	ran := 0
	for _, n := range names {
		r := results[n]
		switch r.Status {
		case lint.Error, lint.Fatal:
			t.Errorf("%s: %s %s", n, r.Status, r.Details)
		case lint.Warn:
			t.Logf("warning %s: %s", n, r.Details)
		}
		if r.Status != lint.NA && r.Status != lint.NE {
			ran++
		}
	}
	t.Logf("%d lints applied", ran)
}
