package oidcop

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/mynaplat/mynaplat/cms"
	"github.com/mynaplat/mynaplat/internal/testutil"
	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/verify"
)

// ccToken is a client-credentials token of RP1.
func (w *world) ccToken(t *testing.T) string {
	t.Helper()
	st, body := w.token(t, w.rp1Auth(t, url.Values{"grant_type": {"client_credentials"}}))
	if st != http.StatusOK || body["access_token"] == nil || body["id_token"] != nil || body["refresh_token"] != nil {
		t.Fatalf("client_credentials: %d %v", st, body)
	}
	return body["access_token"].(string)
}

// call sends a bearer request to the sign API and returns status and body.
func (w *world) call(t *testing.T, method, path, token string, body []byte) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, w.srv.URL+path, bytes.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// startSign starts a sign transaction of raw with RP1's cc token.
func (w *world) startSign(t *testing.T, cc string, raw []byte) string {
	t.Helper()
	st, b := w.call(t, http.MethodPost, SignTransactionsPath, cc, []byte(`{"digest":"`+base64.StdEncoding.EncodeToString(raw)+`"}`))
	var out map[string]string
	json.Unmarshal(b, &out)
	if st != http.StatusCreated || !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(out["sign_transaction_id"]) {
		t.Fatalf("start: %d %s", st, b)
	}
	return out["sign_transaction_id"]
}

// TestSignTransactionInputs: a 32-byte digest and a SHA-256 DigestInfo
// start transactions; other lengths, another algorithm's DigestInfo, bad
// Base64 are 400; no token 401; a login's access token 403; and the
// client-credentials token is refused by UserInfo.
func TestSignTransactionInputs(t *testing.T) {
	w := newWorld(t, storetest.SQLite(t))
	cc := w.ccToken(t)
	h := sha256.Sum256([]byte("住所変更届"))
	w.startSign(t, cc, h[:])
	w.startSign(t, cc, append(append([]byte(nil), sha256DigestInfoPrefix...), h[:]...))
	sha1Info := append(append([]byte(nil), sha256DigestInfoPrefix...), h[:]...)
	sha1Info[14] = 0x03 // SHA-512's OID arc, same length
	for _, tc := range []struct {
		name, body string
		want       int
	}{
		{"31 bytes", `{"digest":"` + base64.StdEncoding.EncodeToString(h[:31]) + `"}`, 400},
		{"33 bytes", `{"digest":"` + base64.StdEncoding.EncodeToString(append(h[:], 0)) + `"}`, 400},
		{"another algorithm's DigestInfo", `{"digest":"` + base64.StdEncoding.EncodeToString(sha1Info) + `"}`, 400},
		{"base64url", `{"digest":"` + base64.RawURLEncoding.EncodeToString(h[:]) + `"}`, 400},
		{"no digest", `{}`, 400},
		{"not JSON", `digest`, 400},
		{"the hash field", `{"hash":"` + base64.StdEncoding.EncodeToString(h[:]) + `"}`, 201},
	} {
		if st, b := w.call(t, http.MethodPost, SignTransactionsPath, cc, []byte(tc.body)); st != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, st, b, tc.want)
		}
	}
	if st, _ := w.call(t, http.MethodPost, SignTransactionsPath, "", []byte(`{"digest":"x"}`)); st != http.StatusUnauthorized {
		t.Errorf("no token: %d", st)
	}
	if st, _ := w.call(t, http.MethodPost, SignTransactionsPath, cc+"x", []byte(`{"digest":"x"}`)); st != http.StatusUnauthorized {
		t.Errorf("a forged token: %d", st)
	}
	user := w.codeTokens(t, nil)["access_token"].(string)
	if st, _ := w.call(t, http.MethodPost, SignTransactionsPath, user, []byte(`{"digest":"`+base64.StdEncoding.EncodeToString(h[:])+`"}`)); st != http.StatusForbidden {
		t.Errorf("a login's token: %d", st)
	}
	if st, _ := w.userinfo(t, cc); st != http.StatusUnauthorized {
		t.Errorf("userinfo with a client-credentials token: %d", st)
	}
	if st, body := w.token(t, w.rp1Auth(t, url.Values{"grant_type": {"client_credentials"}, "scope": {"openid"}})); st != http.StatusBadRequest || body["error"] != "invalid_scope" {
		t.Errorf("client_credentials with openid: %d %v", st, body)
	}
}

// TestSignFlow: the RP starts a transaction, the person signs it at the
// card page (the page states the RP and the digest), and the RP fetches
// the result with that login's token: a JWE to its PF key that the RP
// decrypts, whose signature openssl pkeyutl -verify and crypto/rsa accept
// under the certificate's key. The result is refused to a
// client-credentials token, another login's token and another client;
// unsigned is 409, expired 410; the fetch is a disclosure.
func TestSignFlow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		pf, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		der, _ := x509.MarshalPKIXPublicKey(&pf.PublicKey)
		if err := w.p.SetPFKey(t.Context(), rp1, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), "test"); err != nil {
			t.Fatal(err)
		}
		cc := w.ccToken(t)
		doc := []byte("住所変更届: 長野県須坂市大字須坂１２３４番地")
		h := sha256.Sum256(doc)
		id := w.startSign(t, cc, h[:])
		unsigned := w.startSign(t, cc, h[:])

		q := authParams(rp1, cb1, s256(verifier))
		q.Set("scope", "openid sign")
		q.Set("sign_transaction_id", id)
		c := webtest.New(t, w.srv.URL)
		cb := w.consentLogin(t, c, q, w.good, []string{}, "SUZAKA1980")
		tok := w.redeem(t, cb)
		if tok["scope"] != "openid sign" {
			t.Fatalf("scope %v", tok["scope"])
		}
		access := tok["access_token"].(string)
		st, b := w.call(t, http.MethodGet, SignTransactionsPath+"/"+id+"/result", access, nil)
		if st != http.StatusOK {
			t.Fatalf("result: %d %s", st, b)
		}
		jwe, err := jose.ParseEncryptedCompact(string(b), []jose.KeyAlgorithm{jose.RSA_OAEP_256}, []jose.ContentEncryption{jose.A256GCM})
		if err != nil {
			t.Fatal(err)
		}
		plain, err := jwe.Decrypt(pf)
		if err != nil {
			t.Fatal(err)
		}
		var res signResultPayload
		if err := json.Unmarshal(plain, &res); err != nil {
			t.Fatal(err)
		}
		sig, _ := base64.StdEncoding.DecodeString(res.Signature)
		certDER, _ := base64.StdEncoding.DecodeString(res.Certificate)
		cert, err := x509.ParseCertificate(certDER)
		if err != nil || res.DigestType != DigestSHA256 || res.Digest != base64.StdEncoding.EncodeToString(h[:]) {
			t.Fatalf("payload %+v %v", res, err)
		}
		if err := rsa.VerifyPKCS1v15(cert.PublicKey.(*rsa.PublicKey), crypto.SHA256, h[:], sig); err != nil {
			t.Errorf("the signature: %v", err)
		}
		// Debian's openssl, as an RP would check it.
		openssl := testutil.NeedProgram(t, "openssl", "openssl")
		if openssl != "" {
			dir := t.TempDir()
			pub, _ := x509.MarshalPKIXPublicKey(cert.PublicKey)
			os.WriteFile(filepath.Join(dir, "pub.pem"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644)
			os.WriteFile(filepath.Join(dir, "doc"), doc, 0o644)
			os.WriteFile(filepath.Join(dir, "sig"), sig, 0o644)
			out, err := exec.Command(openssl, "dgst", "-sha256", "-verify", filepath.Join(dir, "pub.pem"), "-signature", filepath.Join(dir, "sig"), filepath.Join(dir, "doc")).CombinedOutput()
			if err != nil || !bytes.Contains(out, []byte("Verified OK")) {
				t.Errorf("openssl dgst -verify: %v %s", err, out)
			}
			os.WriteFile(filepath.Join(dir, "hash"), h[:], 0o644)
			out, err = exec.Command(openssl, "pkeyutl", "-verify", "-pubin", "-inkey", filepath.Join(dir, "pub.pem"), "-pkeyopt", "digest:sha256",
				"-in", filepath.Join(dir, "hash"), "-sigfile", filepath.Join(dir, "sig")).CombinedOutput()
			if err != nil || !bytes.Contains(out, []byte("Signature Verified Successfully")) {
				t.Errorf("openssl pkeyutl -verify: %v %s", err, out)
			}
		}
		want := platform.DisclosureReason(platform.Disclosure{Recipient: "須坂市ウェブサイト (RP00000001)", Items: []string{"signature"}, SignTransactionID: id})
		if ds := w.disclosures(t, w.goodPID); len(ds) != 1 || ds[0] != want {
			t.Errorf("disclosures %v, want [%s]", ds, want)
		}

		// Refusals.
		other := w.codeTokens(t, nil)["access_token"].(string)
		key, alg := rpKey(t, "rp-ec.key")
		cb2q := w.login(t, authParams(rp2, cb2, s256(verifier)), w.good, "1234")
		_, t2 := w.token(t, url.Values{"grant_type": {"authorization_code"}, "code": {cb2q.Query().Get("code")}, "redirect_uri": {cb2},
			"code_verifier": {verifier}, "client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
			"client_assertion": {assertion(t, key, alg, "", rp2, w.p.Issuer()+TokenPath, func(c map[string]any) { c["jti"] = randomToken(12) })}})
		for _, tc := range []struct {
			name, id, token string
			want            int
		}{
			{"a client-credentials token", id, cc, http.StatusForbidden},
			{"another login's token", id, other, http.StatusForbidden},
			{"another client's token", id, t2["access_token"].(string), http.StatusForbidden},
			{"no token", id, "", http.StatusUnauthorized},
			{"unsigned", unsigned, access, http.StatusConflict},
			{"unknown", newUUID(), access, http.StatusForbidden},
		} {
			if st, b := w.call(t, http.MethodGet, SignTransactionsPath+"/"+tc.id+"/result", tc.token, nil); st != tc.want {
				t.Errorf("%s: %d %s, want %d", tc.name, st, b, tc.want)
			}
		}
		db.Write(t.Context(), `UPDATE oidc_sign_transactions SET expires_at = 1 WHERE id = $1`, unsigned)
		if st, _ := w.call(t, http.MethodGet, SignTransactionsPath+"/"+unsigned+"/result", access, nil); st != http.StatusGone {
			t.Errorf("expired unsigned: %d", st)
		}
		// The transaction was used: a second authorization may not name it.
		q.Set("state", "again")
		if u := w.login(t, q, w.good, "1234"); u.Query().Get("error") != "invalid_request" {
			t.Errorf("a used transaction: %s", u)
		}
		if len(w.disclosures(t, w.goodPID)) != 1 {
			t.Error("a refused fetch was disclosed")
		}
	})
}

// TestSignResultJWS: a client without a PF key (a government body) gets
// the result as a JWS of the provider's key.
func TestSignResultJWS(t *testing.T) {
	w := newWorld(t, storetest.SQLite(t))
	h := sha256.Sum256([]byte("doc"))
	id := w.startSign(t, w.ccToken(t), append(append([]byte(nil), sha256DigestInfoPrefix...), h[:]...))
	q := authParams(rp1, cb1, s256(verifier))
	q.Set("scope", "openid sign name")
	q.Set("sign_transaction_id", id)
	tok := w.redeem(t, w.consentLogin(t, webtest.New(t, w.srv.URL), q, w.good, []string{"name"}, "SUZAKA1980"))
	if tok["scope"] != "openid name sign" {
		t.Errorf("scope %v", tok["scope"])
	}
	st, b := w.call(t, http.MethodGet, SignTransactionsPath+"/"+id+"/result", tok["access_token"].(string), nil)
	if st != http.StatusOK {
		t.Fatalf("result: %d %s", st, b)
	}
	jws, err := jose.ParseSignedCompact(string(b), []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := w.p.keys.all(t.Context())
	payload, err := jws.Verify(keys[0].Public)
	if err != nil {
		t.Fatal(err)
	}
	var res signResultPayload
	json.Unmarshal(payload, &res)
	sig, _ := base64.StdEncoding.DecodeString(res.Signature)
	certDER, _ := base64.StdEncoding.DecodeString(res.Certificate)
	cert, _ := x509.ParseCertificate(certDER)
	if res.DigestType != DigestDigestInfo || rsa.VerifyPKCS1v15(cert.PublicKey.(*rsa.PublicKey), crypto.SHA256, h[:], sig) != nil {
		t.Errorf("the DigestInfo's signature: %+v", res)
	}
}

// remoteSigner is an RP's crypto.Signer whose signatures the person makes
// at the provider: each Sign is one sign transaction, signed at the card
// page and fetched as a JWE to the RP's PF key.
type remoteSigner struct {
	t    *testing.T
	w    *world
	pub  crypto.PublicKey
	pf   *rsa.PrivateKey
	used int
}

func (s *remoteSigner) Public() crypto.PublicKey { return s.pub }

func (s *remoteSigner) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	t, w := s.t, s.w
	if opts.HashFunc() != crypto.SHA256 {
		t.Fatalf("the RP signs with %v", opts.HashFunc())
	}
	s.used++
	id := w.startSign(t, w.ccToken(t), digest)
	q := authParams(rp1, cb1, s256(verifier))
	q.Set("scope", "openid sign")
	q.Set("sign_transaction_id", id)
	tok := w.redeem(t, w.consentLogin(t, webtest.New(t, w.srv.URL), q, w.good, []string{}, "SUZAKA1980"))
	st, b := w.call(t, http.MethodGet, SignTransactionsPath+"/"+id+"/result", tok["access_token"].(string), nil)
	if st != http.StatusOK {
		t.Fatalf("result: %d %s", st, b)
	}
	jwe, err := jose.ParseEncryptedCompact(string(b), []jose.KeyAlgorithm{jose.RSA_OAEP_256}, []jose.ContentEncryption{jose.A256GCM})
	if err != nil {
		return nil, err
	}
	plain, err := jwe.Decrypt(s.pf)
	if err != nil {
		return nil, err
	}
	var res signResultPayload
	if err := json.Unmarshal(plain, &res); err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(res.Signature)
}

// TestSignResultVerify: an RP builds a CAdES (CMS SignedData) whose
// signature the person made through a sign transaction (the digest is of
// the signed attributes), and the project's verify package judges it
// TOTAL_PASSED with the certificate's revocation status.
func TestSignResultVerify(t *testing.T) {
	w := newWorld(t, storetest.SQLite(t))
	pf, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&pf.PublicKey)
	if err := w.p.SetPFKey(t.Context(), rp1, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), "test"); err != nil {
		t.Fatal(err)
	}
	// The RP learns the signing certificate from a first result.
	probe := &remoteSigner{t: t, w: w, pf: pf}
	h := sha256.Sum256([]byte("probe"))
	id := w.startSign(t, w.ccToken(t), h[:])
	q := authParams(rp1, cb1, s256(verifier))
	q.Set("scope", "openid sign")
	q.Set("sign_transaction_id", id)
	tok := w.redeem(t, w.consentLogin(t, webtest.New(t, w.srv.URL), q, w.good, []string{}, "SUZAKA1980"))
	_, b := w.call(t, http.MethodGet, SignTransactionsPath+"/"+id+"/result", tok["access_token"].(string), nil)
	jwe, err := jose.ParseEncryptedCompact(string(b), []jose.KeyAlgorithm{jose.RSA_OAEP_256}, []jose.ContentEncryption{jose.A256GCM})
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := jwe.Decrypt(pf)
	var res signResultPayload
	json.Unmarshal(plain, &res)
	certDER, _ := base64.StdEncoding.DecodeString(res.Certificate)
	cert, err := x509.ParseCertificate(certDER)
	if err != nil {
		t.Fatal(err)
	}
	probe.pub = cert.PublicKey

	signed, err := cms.Sign(t.Context(), []byte("住所変更届: 長野県須坂市大字須坂１２３４番地"), cms.SignOptions{Signer: probe, Cert: cert})
	if err != nil || probe.used != 1 {
		t.Fatalf("cms.Sign: %v (%d signatures)", err, probe.used)
	}
	rep := (&verify.Policy{Signing: w.signing, Now: time.Now}).Validate(t.Context(), verify.Document{Name: "address.p7m", Format: verify.FormatCMS, Data: signed})
	if !rep.Passed() || rep.Revocation == "" {
		t.Errorf("verify: %s/%s %s (revocation %q)", rep.Indication, rep.SubIndication, rep.MessageEN, rep.Revocation)
	}
	t.Logf("verify: %s, revocation: %s", rep.Indication, rep.Revocation)
}
