package corpreg

import (
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/mynaplat/mynaplat/anchors"
)

// TestCAIssuers follows a representative certificate's AIA caIssuers URL
// to the CA the corpreg role publishes: the answer verifies it, and the
// profile still passes the RFC lints.
func TestCAIssuers(t *testing.T) {
	a, err := OpenAuthority(filepath.Join(t.TempDir(), "ca"), (&clock{t: t0}).now)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	anchors.Serve(mux, anchors.CorpReg, a.Root())
	srv := httptest.NewServer(mux)
	defer srv.Close()
	cert, err := a.WithBaseURL(srv.URL).issue("代表 一郎", "株式会社テスト商事", numberA, newKey(t).Public(), t0)
	if err != nil {
		t.Fatal(err)
	}
	checkProfile(t, cert, "代表 一郎", "株式会社テスト商事", numberA, a.Root())
	if got := cert.IssuingCertificateURL; len(got) != 1 || got[0] != srv.URL+"/pki/corpreg.crt" {
		t.Fatalf("caIssuers %v", got)
	}
	resp, err := srv.Client().Get(cert.IssuingCertificateURL[0])
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET caIssuers: %s %v", resp.Status, err)
	}
	ca, err := x509.ParseCertificate(body)
	if err != nil {
		t.Fatal(err)
	}
	if err := cert.CheckSignatureFrom(ca); err != nil {
		t.Errorf("the published CA does not verify the representative: %v", err)
	}
}
