package tsa_test

import (
	"bytes"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/mynaplat/mynaplat/anchors"
	"github.com/mynaplat/mynaplat/tsa"
)

// TestUnitCAIssuers follows the TSA unit certificate's AIA caIssuers URL to
// the root the tsa role publishes: the answer verifies the unit. A tool
// that reads the same directory without a URL keeps that certificate.
func TestUnitCAIssuers(t *testing.T) {
	dir := t.TempDir()
	plain, err := tsa.LoadOrCreate(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(plain.Cert.IssuingCertificateURL) != 0 {
		t.Errorf("without a URL the unit names %v", plain.Cert.IssuingCertificateURL)
	}
	srv := httptest.NewServer(nil)
	defer srv.Close()
	keys, err := tsa.LoadOrCreatePublished(dir, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	anchors.Serve(mux, anchors.TSA, keys.Root)
	srv.Config.Handler = mux
	if got := keys.Cert.IssuingCertificateURL; len(got) != 1 || got[0] != srv.URL+"/pki/tsa-root.crt" {
		t.Fatalf("caIssuers %v", got)
	}
	resp, err := srv.Client().Get(keys.Cert.IssuingCertificateURL[0])
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET caIssuers: %s %v", resp.Status, err)
	}
	root, err := x509.ParseCertificate(body)
	if err != nil {
		t.Fatal(err)
	}
	if err := keys.Cert.CheckSignatureFrom(root); err != nil {
		t.Errorf("the published root does not verify the unit: %v", err)
	}
	again, err := tsa.LoadOrCreate(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Cert.Raw, keys.Cert.Raw) {
		t.Error("LoadOrCreate without a URL issued the unit certificate again")
	}
}
