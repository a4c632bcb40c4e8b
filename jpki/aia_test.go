package jpki

import (
	"crypto/x509"
	"io"
	"net/http"
	"testing"

	"github.com/mynaplat/mynaplat/anchors"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// TestCAIssuers follows the AIA caIssuers URL of a card's two certificates
// to the anchors the jpki role publishes (anchors.Serve, as role_jpki
// mounts them): each answer is the certificate that verifies it.
func TestCAIssuers(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	mux := http.NewServeMux()
	anchors.Serve(mux, anchors.JPKIAuth, e.c.CA(Auth))
	anchors.Serve(mux, anchors.JPKISign, e.c.CA(Sign))
	mux.Handle("/", e.srv.Config.Handler)
	e.srv.Config.Handler = mux
	_, is := e.newCard(t, adult)
	for _, tc := range []struct {
		kind Kind
		der  []byte
	}{{Auth, is.Auth.DER}, {Sign, is.Sign.DER}} {
		cert, err := x509.ParseCertificate(tc.der)
		if err != nil {
			t.Fatal(err)
		}
		if len(cert.IssuingCertificateURL) != 1 || cert.IssuingCertificateURL[0] != e.srv.URL+"/pki/jpki-"+string(tc.kind)+".crt" {
			t.Fatalf("%s: caIssuers %v", tc.kind, cert.IssuingCertificateURL)
		}
		resp, err := e.srv.Client().Get(cert.IssuingCertificateURL[0])
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: GET caIssuers: %s %v", tc.kind, resp.Status, err)
		}
		issuer, err := x509.ParseCertificate(body)
		if err != nil {
			t.Fatal(err)
		}
		if err := cert.CheckSignatureFrom(issuer); err != nil {
			t.Errorf("%s: the published CA does not verify the certificate: %v", tc.kind, err)
		}
	}
}
