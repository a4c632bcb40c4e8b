package nissayweb

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/mynaplat/mynaplat/internal/oidcrp"
)

// ErrProvider is the provider not answering, or not as a provider should.
var ErrProvider = oidcrp.ErrProvider

// ErrBadSignature is a signing result that does not prove the customer
// signed this page's document.
var ErrBadSignature = errors.New("nissayweb: the signature")

// login is a verified login and the attributes granted.
type login struct {
	*oidcrp.Login
	Claims struct {
		Name      string `json:"name"`
		Address   string `json:"address"`
		Birthdate string `json:"birthdate"`
	}
}

// exchange redeems the code (oidcrp: the ID token checked) and reads the
// attributes UserInfo gave.
func (p *Page) exchange(ctx context.Context, code, verifier, nonce string) (*login, error) {
	l, err := p.rp.Exchange(ctx, code, verifier, nonce)
	if err != nil {
		return nil, err
	}
	out := &login{Login: l}
	if l.UserInfo != nil {
		if err := l.UserInfo.Claims(&out.Claims); err != nil {
			return nil, fmt.Errorf("%w: userinfo: %w", ErrProvider, err)
		}
	}
	return out, nil
}

// baseURL is the provider's base URL: its issuer without the realm path
// (the sign-transaction API sits beside the realm, DAA 8).
func (p *Page) baseURL() string {
	return strings.TrimSuffix(strings.TrimRight(p.cfg.Issuer, "/"), realmSuffix)
}

// startSignTransaction gets a client-credentials token and starts a sign
// transaction for digest (SHA-256); it returns the transaction ID.
func (p *Page) startSignTransaction(ctx context.Context, digest []byte) (string, error) {
	tok, err := p.rp.ClientCredentials(ctx, "sign")
	if err != nil {
		return "", err
	}
	body, _ := json.Marshal(map[string]string{"digest": base64.StdEncoding.EncodeToString(digest)})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.baseURL()+signTransactionsPath, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	b, status, err := p.do(req)
	if err != nil {
		return "", err
	}
	if status != http.StatusCreated {
		return "", fmt.Errorf("%w: start a sign transaction: %d %s", ErrProvider, status, b)
	}
	var out struct {
		ID string `json:"sign_transaction_id"`
	}
	if err := json.Unmarshal(b, &out); err != nil || out.ID == "" {
		return "", fmt.Errorf("%w: start a sign transaction: no ID in %s", ErrProvider, b)
	}
	return out.ID, nil
}

func (p *Page) do(req *http.Request) ([]byte, int, error) {
	resp, err := p.cfg.HTTP.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %w", ErrProvider, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %w", ErrProvider, err)
	}
	return b, resp.StatusCode, nil
}

// signed is a checked signing result.
type signed struct {
	Signature []byte
	Cert      *x509.Certificate
	SignedAt  time.Time
}

// fetchResult fetches the sign transaction's result with the grant's
// access token, decrypts it with the PF key and checks that it is a
// signature over digest by a certificate 日本生命's verifier accepts.
func (p *Page) fetchResult(ctx context.Context, id, accessToken string, digest []byte) (*signed, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.baseURL()+signTransactionsPath+"/"+url.PathEscape(id)+"/result", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	b, status, err := p.do(req)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("%w: sign result: %d %s", ErrProvider, status, b)
	}
	jwe, err := jose.ParseEncryptedCompact(strings.TrimSpace(string(b)), []jose.KeyAlgorithm{jose.RSA_OAEP_256}, []jose.ContentEncryption{jose.A256GCM})
	if err != nil {
		return nil, fmt.Errorf("%w: the result is not a JWE to the PF key: %w", ErrBadSignature, err)
	}
	var key any = p.cfg.PFKey
	if rk, ok := p.cfg.PFKey.(*rsa.PrivateKey); ok {
		key = rk
	}
	plain, err := jwe.Decrypt(key)
	if err != nil {
		return nil, fmt.Errorf("%w: decrypt the result: %w", ErrBadSignature, err)
	}
	var res struct {
		Signature   string `json:"signature"`
		Certificate string `json:"certificate"`
		Digest      string `json:"digest"`
		DigestType  string `json:"digest_type"`
		SignedAt    string `json:"signed_at"`
	}
	if err := json.Unmarshal(plain, &res); err != nil {
		return nil, fmt.Errorf("%w: the result: %w", ErrBadSignature, err)
	}
	got, err := base64.StdEncoding.DecodeString(res.Digest)
	if err != nil || !bytes.Equal(got, digest) || res.DigestType != "sha256" {
		return nil, fmt.Errorf("%w: the result is not over this document's digest", ErrBadSignature)
	}
	sig, err := base64.StdEncoding.DecodeString(res.Signature)
	if err != nil {
		return nil, fmt.Errorf("%w: the signature's encoding: %w", ErrBadSignature, err)
	}
	der, err := base64.StdEncoding.DecodeString(res.Certificate)
	if err != nil {
		return nil, fmt.Errorf("%w: the certificate's encoding: %w", ErrBadSignature, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w: the certificate: %w", ErrBadSignature, err)
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: the certificate's key is not RSA", ErrBadSignature)
	}
	// RSASSA-PKCS1-v1_5 over the SHA-256 DigestInfo, as the card signs.
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest, sig); err != nil {
		return nil, fmt.Errorf("%w: does not verify with the certificate: %w", ErrBadSignature, err)
	}
	now := p.now()
	if err := p.cfg.CheckCert(ctx, cert, now); err != nil {
		return nil, fmt.Errorf("%w: the certificate: %w", ErrBadSignature, err)
	}
	at, err := time.Parse(time.RFC3339, res.SignedAt)
	if err != nil {
		at = now
	}
	return &signed{Signature: sig, Cert: cert, SignedAt: at}, nil
}
