package jpki

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"io"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
	"golang.org/x/crypto/ocsp"
)

// withNonce adds a nonce extension to an OCSP request made by x/crypto/ocsp,
// as openssl ocsp does by default.
func withNonce(t testing.TB, reqDER, nonce []byte) []byte {
	t.Helper()
	var req ocspRequest
	if _, err := asn1.Unmarshal(reqDER, &req); err != nil {
		t.Fatal(err)
	}
	req.TBS.Extensions = []pkix.Extension{{Id: oidOCSPNonce, Value: mustMarshal(nonce)}}
	return mustMarshal(req)
}

// responseNonce digs the nonce out of responseExtensions.
func responseNonce(t *testing.T, der []byte) []byte {
	t.Helper()
	var resp ocspResponse
	if _, err := asn1.Unmarshal(der, &resp); err != nil {
		t.Fatal(err)
	}
	var basic struct {
		TBS asn1.RawValue
	}
	if _, err := asn1.Unmarshal(resp.Response.Response, &basic); err != nil {
		t.Fatal(err)
	}
	var rd responseData
	if _, err := asn1.Unmarshal(basic.TBS.FullBytes, &rd); err != nil {
		t.Fatal(err)
	}
	for _, e := range rd.Extensions {
		if e.Id.Equal(oidOCSPNonce) {
			var n []byte
			asn1.Unmarshal(e.Value, &n)
			return n
		}
	}
	return nil
}

func TestOCSPEdges(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	_, is := e.newCard(t, adult)
	cert, _ := x509.ParseCertificate(is.Auth.DER)
	issuer := e.c.CA(Auth)
	post := func(body []byte) []byte {
		t.Helper()
		resp, err := http.Post(e.srv.URL+"/jpki/ocsp", "application/ocsp-request", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/ocsp-response" {
			t.Fatalf("%s %s", resp.Status, resp.Header.Get("Content-Type"))
		}
		b, _ := io.ReadAll(resp.Body)
		return b
	}

	t.Run("nonce echoed", func(t *testing.T) {
		req, _ := ocsp.CreateRequest(cert, issuer, nil) // SHA-1 CertID, like openssl
		nonce := []byte("0123456789abcdef")
		der := post(withNonce(t, req, nonce))
		if got := responseNonce(t, der); !bytes.Equal(got, nonce) {
			t.Fatalf("nonce %x, want %x", got, nonce)
		}
		r, err := ocsp.ParseResponseForCert(der, cert, issuer)
		if err != nil || r.Status != ocsp.Good {
			t.Fatalf("%v %v", r, err)
		}
		// Two requests with different nonces get different responses.
		if bytes.Equal(der, post(withNonce(t, req, []byte("another nonce!!")))) {
			t.Fatal("nonce response reused")
		}
	})
	t.Run("unknown serial", func(t *testing.T) {
		fake := *cert
		fake.SerialNumber = big.NewInt(99)
		req, _ := ocsp.CreateRequest(&fake, issuer, nil)
		r, err := ocsp.ParseResponse(post(req), nil)
		if err != nil || r.Status != ocsp.Unknown {
			t.Fatalf("%v %v", r, err)
		}
	})
	t.Run("foreign issuer", func(t *testing.T) {
		key, _ := rsa.GenerateKey(rand.Reader, 2048)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "other CA"},
			NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
		der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		other, _ := x509.ParseCertificate(der)
		req, _ := ocsp.CreateRequest(cert, other, nil)
		_, err := ocsp.ParseResponse(post(req), nil)
		if err != (ocsp.ResponseError{Status: ocsp.Unauthorized}) {
			t.Fatalf("err = %v, want unauthorized", err)
		}
	})
	t.Run("malformed", func(t *testing.T) {
		for _, body := range [][]byte{nil, []byte("hello"), {0x30, 0x03, 0x30, 0x01, 0x00}} {
			_, err := ocsp.ParseResponse(post(body), nil)
			if err != (ocsp.ResponseError{Status: ocsp.Malformed}) {
				t.Errorf("%x: err = %v, want malformed", body, err)
			}
		}
	})
	t.Run("GET with slashes and plus signs", func(t *testing.T) {
		// Four 0xFF bytes encode to at least "//" at any alignment, so the
		// ServeMux bypass is exercised.
		req, _ := ocsp.CreateRequest(cert, issuer, nil)
		enc := base64.StdEncoding.EncodeToString(withNonce(t, req, []byte{0xff, 0xff, 0xff, 0xff, 0xfb}))
		if !strings.Contains(enc, "//") {
			t.Fatalf("%s has no //", enc)
		}
		for _, path := range []string{enc, strings.NewReplacer("+", "%2B", "/", "%2F", "=", "%3D").Replace(enc)} {
			resp, err := http.Get(e.srv.URL + "/jpki/ocsp/" + path)
			if err != nil {
				t.Fatal(err)
			}
			der, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("%s: %s", path, resp.Status)
			}
			if r, err := ocsp.ParseResponseForCert(der, cert, issuer); err != nil || r.Status != ocsp.Good {
				t.Fatalf("%v %v", r, err)
			}
		}
	})
	t.Run("cached response follows revocation", func(t *testing.T) {
		req, _ := ocsp.CreateRequest(cert, issuer, &ocsp.RequestOptions{Hash: crypto.SHA256})
		first := post(req)
		if !bytes.Equal(first, post(req)) {
			t.Error("a nonce-less request was signed twice within the cache period")
		}
		if err := e.c.Revoke(context.Background(), Auth, is.Auth.Serial, KeyCompromise); err != nil {
			t.Fatal(err)
		}
		r, err := ocsp.ParseResponseForCert(post(req), cert, issuer)
		if err != nil || r.Status != ocsp.Revoked || r.RevocationReason != ocsp.KeyCompromise {
			t.Fatalf("after revocation: %+v %v", r, err)
		}
	})
}

func TestOperatorEndpoints(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	_, is := e.newCard(t, adult)
	for _, tc := range []struct {
		name, path, token string
		want              int
	}{
		{"no token", "/jpki/linkage?kind=auth&serial=" + is.Auth.Serial, "", 401},
		{"wrong token", "/jpki/revocations", "jpkiop_nope", 401},
		{"bad kind", "/jpki/linkage?kind=foo&serial=1", e.token, 400},
		{"bad serial", "/jpki/linkage?kind=auth&serial=xyz", e.token, 400},
		{"unknown serial", "/jpki/linkage?kind=auth&serial=1", e.token, 404},
		{"bad cursor", "/jpki/revocations?after=-1", e.token, 400},
		{"bad limit", "/jpki/revocations?limit=100000", e.token, 400},
		{"ok", "/jpki/linkage?kind=auth&serial=" + is.Auth.Serial, e.token, 200},
		{"CA cert", "/jpki/ca/auth.crt", "", 200},
		{"responder cert", "/jpki/responder/sign.crt", "", 200},
		{"no such CA", "/jpki/ca/root.crt", "", 404},
		{"no such CRL", "/jpki/crl/x.crl", "", 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := webtest.Step{Name: tc.name, Path: tc.path, WantStatus: tc.want}
			if tc.want >= 400 {
				want.WantContains = []string{"message_ja"} // an error body with a Japanese message
			}
			webtest.New(t, e.srv.URL).Bearer(tc.token).Step(want)
		})
	}
}

func TestQueriesKeepPlaceholderOrder(t *testing.T) {
	for _, q := range allQueries {
		if err := store.CheckPlaceholders(q); err != nil {
			t.Errorf("%v in %s", err, q)
		}
	}
}

func FuzzParseOCSPRequest(f *testing.F) {
	key, _ := rsa.GenerateKey(rand.Reader, 1024)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "x"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	c, _ := x509.ParseCertificate(der)
	req, _ := ocsp.CreateRequest(c, c, nil)
	f.Add(req)
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseOCSPRequest(b)
		if err == nil && len(r.certs) == 0 {
			t.Fatal("parsed a request with no certificates")
		}
	})
}
