// Package tvlogintest mints the platform's assertions of card logins at a
// TV with a test key, for the tests of the APIs that believe them
// (community/tvlogin).
package tvlogintest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/community/tvlogin"
	"github.com/mynaplat/mynaplat/platform"
)

// Issuer is the test platform's issuer.
const Issuer = "https://platform.test"

// Minter signs assertions with its key at Now.
type Minter struct {
	t   testing.TB
	key *ecdsa.PrivateKey
	Now time.Time
}

// New is a minter with a fresh key, minting at now.
func New(t testing.TB, now time.Time) *Minter {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &Minter{t: t, key: key, Now: now}
}

// Config believes the minter's assertions.
func (m *Minter) Config() tvlogin.Config { return tvlogin.Config{Keys: m.JWKS, Issuer: Issuer} }

// JWKS is the minter's key as the platform publishes its keys.
func (m *Minter) JWKS(context.Context) (platform.JWKS, error) {
	pt, err := m.key.PublicKey.Bytes()
	if err != nil {
		return platform.JWKS{}, err
	}
	b64 := base64.RawURLEncoding.EncodeToString
	return platform.JWKS{Keys: []platform.JWK{{Kty: "EC", Crv: "P-256", X: b64(pt[1:33]), Y: b64(pt[33:]), Kid: "k1", Use: "sig", Alg: "ES256"}}}, nil
}

// Mint is pid's card login at terminal (a TV), with the claims changed by
// edit (nil: none).
func (m *Minter) Mint(pid, terminal string, edit func(c *platform.Claims)) string {
	c := platform.Claims{Issuer: Issuer, Subject: pid, Audience: platform.Audience, IssuedAt: m.Now.Unix(),
		Expiry: m.Now.Add(5 * time.Minute).Unix(), ID: "jti", AuthTime: m.Now.Unix(), Terminal: terminal,
		TerminalKind: platform.TV, AMR: []string{"jpki-auth"}}
	if edit != nil {
		edit(&c)
	}
	hdr, _ := json.Marshal(map[string]string{"alg": "ES256", "typ": "JWT", "kid": "k1"})
	body, _ := json.Marshal(c)
	b64 := base64.RawURLEncoding.EncodeToString
	input := b64(hdr) + "." + b64(body)
	sum := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, m.key, sum[:])
	if err != nil {
		m.t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + b64(sig)
}
