package platform

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"time"
)

// Claims are the contents of an assertion.
type Claims struct {
	Issuer       string       `json:"iss"`
	Subject      string       `json:"sub"` // the platform ID
	Audience     string       `json:"aud"`
	IssuedAt     int64        `json:"iat"`
	Expiry       int64        `json:"exp"`
	ID           string       `json:"jti"`
	AuthTime     int64        `json:"auth_time"`
	Terminal     string       `json:"terminal"`
	TerminalKind TerminalKind `json:"terminal_kind"`
	// AMR names the method: "jpki-auth" = the 利用者証明用 certificate with its PIN.
	AMR []string `json:"amr"`
	// Purpose is the AuthRequest's purpose, if any.
	Purpose string `json:"purpose,omitempty"`
	// CertNotAfter is the end of the authentication certificate's validity;
	// an eligibility assertion may carry one already past (within the grace).
	CertNotAfter int64 `json:"cert_not_after,omitempty"`
	// Offline is set when the card signed at AuthTime on a terminal that
	// could not reach the platform, and the platform confirmed it later.
	Offline bool `json:"offline,omitempty"`
}

// ErrNotForHolder is an assertion made for another party's sign-in: a
// staff member's at an office (PurposeStaff) or the OpenID provider's
// (PurposeOIDC). Those parties keep it on their servers; were one to leak,
// it still would not open the holder's own records.
var ErrNotForHolder = errors.New("platform: the login was made for another party, not for the holder's own records")

// ForHolder refuses an assertion that may not open the holder's own
// records (their audit and histories): see ErrNotForHolder.
func (c *Claims) ForHolder() error {
	if c.Purpose == PurposeStaff || c.Purpose == PurposeOIDC {
		return fmt.Errorf("%w: purpose %q", ErrNotForHolder, c.Purpose)
	}
	return nil
}

// Audience is the audience of every assertion: the services of this platform.
const Audience = "mynaplat-services"

func (p *Platform) claims(rep *Report, t *Terminal, now, authTime time.Time, purpose string) Claims {
	return Claims{Issuer: p.issuer, Subject: rep.PlatformID, Audience: Audience, IssuedAt: now.Unix(),
		Expiry: now.Add(p.assertionTTL).Unix(), ID: newID(), AuthTime: authTime.Unix(), Terminal: t.ID,
		TerminalKind: t.Kind, AMR: []string{"jpki-auth"}, Purpose: purpose, CertNotAfter: rep.NotAfter.Unix(),
		Offline: !authTime.Equal(now)}
}

// keyring holds the ES256 keys: the newest signs, all recent ones are
// published so assertions signed before a rotation still verify.
type keyring struct {
	mu   sync.RWMutex
	keys []signingKey // newest first
}

type signingKey struct {
	kid     string
	priv    *ecdsa.PrivateKey
	created time.Time
}

// RotateKeys loads the keys from the database and makes a new one when the
// newest is older than the rotation period. Every instance shares them.
func (p *Platform) RotateKeys(ctx context.Context) error {
	load := func() ([]signingKey, error) {
		rows, err := p.db.QueryContext(ctx, qKeys, p.now().Add(-2*p.keyRotation-p.assertionTTL).Unix())
		if err != nil {
			return nil, fmt.Errorf("platform: load keys: %w", err)
		}
		defer rows.Close()
		var out []signingKey
		for rows.Next() {
			var k signingKey
			var der []byte
			var created int64
			if err := rows.Scan(&k.kid, &der, &created); err != nil {
				return nil, err
			}
			priv, err := x509.ParseECPrivateKey(der)
			if err != nil {
				return nil, fmt.Errorf("platform: key %s: %w", k.kid, err)
			}
			k.priv, k.created = priv, time.Unix(created, 0)
			out = append(out, k)
		}
		return out, rows.Err()
	}
	keys, err := load()
	if err != nil {
		return err
	}
	if len(keys) == 0 || p.now().Sub(keys[0].created) >= p.keyRotation {
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		der, err := x509.MarshalECPrivateKey(priv)
		if err != nil {
			return err
		}
		pub, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
		sum := sha256.Sum256(pub)
		kid := base64.RawURLEncoding.EncodeToString(sum[:12])
		if _, err := p.db.Write(ctx, qInsertKey, kid, der, p.now().Unix()); err != nil {
			return fmt.Errorf("platform: store key: %w", err)
		}
		if keys, err = load(); err != nil {
			return err
		}
	}
	p.keys.mu.Lock()
	p.keys.keys = keys
	p.keys.mu.Unlock()
	return nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// KeyPublishLead is how long a new assertion key is published (in the JWK
// set) before assertions are signed with it, so that a service whose cached
// copy of the set is younger than this (KeyCache) knows the key before it
// sees it. Until a key is that old, the one before it signs; a platform with
// only new keys (its first start) signs with the newest.
const KeyPublishLead = 2 * time.Minute

// sign makes a compact JWS (RFC 7515) with ES256 over the claims, with the
// newest key published for KeyPublishLead at now.
func (kr *keyring) sign(c Claims, now time.Time) (string, error) {
	kr.mu.RLock()
	if len(kr.keys) == 0 {
		kr.mu.RUnlock()
		return "", fmt.Errorf("platform: no signing key")
	}
	k := kr.keys[0]
	for _, old := range kr.keys {
		if now.Sub(old.created) >= KeyPublishLead {
			k = old
			break
		}
	}
	kr.mu.RUnlock()
	hdr, _ := json.Marshal(map[string]string{"alg": "ES256", "typ": "JWT", "kid": k.kid})
	body, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	input := b64(hdr) + "." + b64(body)
	sum := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, k.priv, sum[:])
	if err != nil {
		return "", fmt.Errorf("platform: sign assertion: %w", err)
	}
	// JWS ES256 signatures are R || S, each 32 bytes (RFC 7518 §3.4).
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + b64(sig), nil
}

// JWK is one public key of a JWK set (RFC 7517), P-256 only.
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
}

// JWKS is a JWK set.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// PublicKeys is the JWK set services verify assertions with.
func (p *Platform) PublicKeys() JWKS {
	p.keys.mu.RLock()
	defer p.keys.mu.RUnlock()
	out := JWKS{Keys: []JWK{}}
	for _, k := range p.keys.keys {
		// The uncompressed point is 04 || X || Y, 32 bytes each for P-256.
		pt, err := k.priv.PublicKey.Bytes()
		if err != nil || len(pt) != 65 {
			continue
		}
		out.Keys = append(out.Keys, JWK{Kty: "EC", Crv: "P-256", X: b64(pt[1:33]), Y: b64(pt[33:]), Kid: k.kid, Use: "sig", Alg: "ES256"})
	}
	return out
}

// VerifyAssertion checks an assertion against a JWK set, locally: signature,
// issuer (when issuer is not empty), audience and expiry. Services call it
// with keys fetched from the platform's JWKS URL.
func VerifyAssertion(token string, keys JWKS, issuer string, now time.Time) (*Claims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("%w: not a compact JWS", ErrBadAssertion)
	}
	hdrJSON, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	body, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || len(sig) != 64 {
		return nil, fmt.Errorf("%w: bad encoding", ErrBadAssertion)
	}
	var hdr struct{ Alg, Kid string }
	if err := json.Unmarshal(hdrJSON, &hdr); err != nil || hdr.Alg != "ES256" {
		return nil, fmt.Errorf("%w: want alg ES256", ErrBadAssertion)
	}
	var pub *ecdsa.PublicKey
	for _, k := range keys.Keys {
		if k.Kid == hdr.Kid && k.Kty == "EC" && k.Crv == "P-256" {
			x, errX := base64.RawURLEncoding.DecodeString(k.X)
			y, errY := base64.RawURLEncoding.DecodeString(k.Y)
			if errX != nil || errY != nil || len(x) != 32 || len(y) != 32 {
				return nil, fmt.Errorf("%w: malformed key %q", ErrBadAssertion, k.Kid)
			}
			var err error
			if pub, err = ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...)); err != nil {
				return nil, fmt.Errorf("%w: key %q: %w", ErrBadAssertion, k.Kid, err)
			}
		}
	}
	if pub == nil {
		return nil, fmt.Errorf("%w: unknown key %q", ErrBadAssertion, hdr.Kid)
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ecdsa.Verify(pub, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return nil, fmt.Errorf("%w: signature", ErrBadAssertion)
	}
	var c Claims
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, fmt.Errorf("%w: claims: %w", ErrBadAssertion, err)
	}
	switch {
	case c.Audience != Audience:
		return nil, fmt.Errorf("%w: audience %q", ErrBadAssertion, c.Audience)
	case issuer != "" && c.Issuer != issuer:
		return nil, fmt.Errorf("%w: issuer %q", ErrBadAssertion, c.Issuer)
	case now.Unix() >= c.Expiry:
		return nil, fmt.Errorf("%w: expired", ErrBadAssertion)
	case c.Subject == "":
		return nil, fmt.Errorf("%w: no subject", ErrBadAssertion)
	}
	return &c, nil
}
