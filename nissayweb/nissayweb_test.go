package nissayweb

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/web"
)

// noCustomers are records the store tests do not reach.
type noCustomers struct{}

func (noCustomers) Match(context.Context, string, time.Time) (Customer, error) {
	return Customer{}, ErrNoCustomer
}
func (noCustomers) Get(context.Context, string) (Customer, error) { return Customer{}, ErrNoCustomer }
func (noCustomers) ChangeAddress(context.Context, string, string, string, string, time.Time) (bool, error) {
	return false, nil
}

var errRevoked = errors.New("revoked")

// newPage opens the page on db for a provider at issuer; checkCert is its
// certificate verifier.
func newPage(t *testing.T, db *store.DB, issuer string, pf *rsa.PrivateKey, checkCert func(context.Context, *x509.Certificate, time.Time) error) *Page {
	t.Helper()
	ctx := context.Background()
	site, err := web.New(ctx, web.Options{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Open(ctx, Config{DB: db, Site: site, Issuer: issuer, ClientID: "RP00000002", Key: key, PFKey: pf,
		BaseURL: "http://127.0.0.1:2", HTTP: &http.Client{Timeout: 5 * time.Second}, Customers: noCustomers{}, CheckCert: checkCert})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestQueryPlaceholders(t *testing.T) {
	for _, q := range queries {
		if err := store.CheckPlaceholders(q); err != nil {
			t.Errorf("%v\n%s", err, q)
		}
	}
}

// TestRequestSignedOnce: a request becomes signed once; the link is kept
// per sub.
func TestRequestSignedOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		pf, _ := rsa.GenerateKey(rand.Reader, 2048)
		p := newPage(t, db, "http://127.0.0.1:1/api/realms/main", pf, func(context.Context, *x509.Certificate, time.Time) error { return nil })
		if _, err := db.Write(ctx, qUpsertLink, "sub-a", "NL-1", int64(1)); err != nil {
			t.Fatal(err)
		}
		if ref, err := p.linkOf(ctx, "sub-a"); err != nil || ref != "NL-1" {
			t.Errorf("link %q %v", ref, err)
		}
		if ref, err := p.linkOf(ctx, "sub-b"); err != nil || ref != "" {
			t.Errorf("no link: %q %v", ref, err)
		}
		if _, err := db.Write(ctx, qInsertRequest, "tx-1", "sub-a", "NL-1", "新住所", []byte("doc"), []byte("digest"), int64(1)); err != nil {
			t.Fatal(err)
		}
		var n []int64
		for range 2 {
			res, err := db.Write(ctx, qSignRequest, []byte("sig"), []byte("cert"), int64(2), "tx-1")
			if err != nil {
				t.Fatal(err)
			}
			k, _ := res.RowsAffected()
			n = append(n, k)
		}
		if n[0] != 1 || n[1] != 0 {
			t.Errorf("rows signed %v, want [1 0]", n)
		}
		cs, err := p.signedChanges(ctx, "NL-1")
		if err != nil || len(cs) != 1 || cs[0].NewAddress != "新住所" {
			t.Errorf("changes %+v %v", cs, err)
		}
	})
}

// TestFetchResult: the result is accepted only when it is a JWE to the PF
// key of a signature over this digest by a certificate the verifier
// accepts.
func TestFetchResult(t *testing.T) {
	pf, _ := rsa.GenerateKey(rand.Reader, 2048)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	signer, _ := rsa.GenerateKey(rand.Reader, 2048)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(10), Subject: pkix.Name{CommonName: "signer"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &signer.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte("住所変更届"))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, signer, crypto.SHA256, digest[:])
	otherDigest := sha256.Sum256([]byte("another document"))
	good := map[string]string{"signature": base64.StdEncoding.EncodeToString(sig), "certificate": base64.StdEncoding.EncodeToString(der),
		"digest": base64.StdEncoding.EncodeToString(digest[:]), "digest_type": "sha256", "signed_at": time.Now().UTC().Format(time.RFC3339)}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range good {
			m[a] = b
		}
		m[k] = v
		return m
	}
	for _, tc := range []struct {
		name    string
		payload map[string]string
		to      *rsa.PublicKey
		check   error
		wantErr bool
	}{
		{"good", good, &pf.PublicKey, nil, false},
		{"to another PF key", good, &other.PublicKey, nil, true},
		{"another digest", with("digest", base64.StdEncoding.EncodeToString(otherDigest[:])), &pf.PublicKey, nil, true},
		{"a signature of another digest", with("signature", base64.StdEncoding.EncodeToString(func() []byte {
			s, _ := rsa.SignPKCS1v15(rand.Reader, signer, crypto.SHA256, otherDigest[:])
			return s
		}())), &pf.PublicKey, nil, true},
		{"a certificate the verifier refuses", good, &pf.PublicKey, errRevoked, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			enc, err := jose.NewEncrypter(jose.A256GCM, jose.Recipient{Algorithm: jose.RSA_OAEP_256, Key: tc.to}, nil)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(tc.payload)
			obj, err := enc.Encrypt(b)
			if err != nil {
				t.Fatal(err)
			}
			jwe, _ := obj.CompactSerialize()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/api/sign-transactions/tx-1/result" || r.Header.Get("Authorization") != "Bearer at" {
					http.Error(w, "no", http.StatusForbidden)
					return
				}
				w.Write([]byte(jwe))
			}))
			defer srv.Close()
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				p := newPage(t, db, srv.URL+"/api/realms/main", pf, func(context.Context, *x509.Certificate, time.Time) error { return tc.check })
				got, err := p.fetchResult(context.Background(), "tx-1", "at", digest[:])
				if tc.wantErr {
					if !errors.Is(err, ErrBadSignature) {
						t.Errorf("%v, want ErrBadSignature", err)
					}
					return
				}
				if err != nil || got.Cert.SerialNumber.Int64() != 10 {
					t.Errorf("%+v %v", got, err)
				}
			})
		})
	}
}
