package seal

import (
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/mynaplat/mynaplat/anchors"
)

// TestPublishedIssuerAndCRL follows a seal certificate's AIA caIssuers and
// CRL distribution point over HTTP, as a verifier holding only the
// certificate would: the first gives the certificate that verifies it, the
// second a CRL that CA signed and that does not list it.
func TestPublishedIssuerAndCRL(t *testing.T) {
	a := testAuthority(t)
	mux := http.NewServeMux()
	anchors.Serve(mux, anchors.Seal, a.Root())
	a.ServeCRL(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	plain, err := a.Seal(sakata)
	if err != nil {
		t.Fatal(err)
	}
	if len(plain.Cert.IssuingCertificateURL) != 0 || len(plain.Cert.CRLDistributionPoints) != 0 {
		t.Errorf("without a base URL the seal certificate names %v and %v", plain.Cert.IssuingCertificateURL, plain.Cert.CRLDistributionPoints)
	}
	// A fresh authority on the same directory, now published: the kept
	// certificate lacks the URLs, so a new one is issued.
	b, err := OpenAuthority(a.dir, a.now)
	if err != nil {
		t.Fatal(err)
	}
	s, err := b.WithBaseURL(srv.URL + "/").Seal(sakata)
	if err != nil {
		t.Fatal(err)
	}
	get := func(u string) ([]byte, string) {
		t.Helper()
		resp, err := srv.Client().Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s %v", u, resp.Status, err)
		}
		return body, resp.Header.Get("Content-Type")
	}
	if got := s.Cert.IssuingCertificateURL; len(got) != 1 || got[0] != srv.URL+"/pki/seal.crt" {
		t.Fatalf("caIssuers %v", got)
	}
	der, typ := get(s.Cert.IssuingCertificateURL[0])
	issuer, err := x509.ParseCertificate(der)
	if err != nil || typ != "application/pkix-cert" {
		t.Fatalf("caIssuers answer (%s): %v", typ, err)
	}
	if err := s.Cert.CheckSignatureFrom(issuer); err != nil {
		t.Errorf("the published issuer does not verify the seal certificate: %v", err)
	}
	if got := s.Cert.CRLDistributionPoints; len(got) != 1 || got[0] != srv.URL+CRLPath {
		t.Fatalf("CRL DP %v", got)
	}
	der, typ = get(s.Cert.CRLDistributionPoints[0])
	crl, err := x509.ParseRevocationList(der)
	if err != nil || typ != "application/pkix-crl" {
		t.Fatalf("CRL answer (%s): %v", typ, err)
	}
	if err := crl.CheckSignatureFrom(issuer); err != nil {
		t.Errorf("the published CRL is not the CA's: %v", err)
	}
	for _, e := range crl.RevokedCertificateEntries {
		if e.SerialNumber.Cmp(s.Cert.SerialNumber) == 0 {
			t.Error("the CRL lists the seal")
		}
	}
}
