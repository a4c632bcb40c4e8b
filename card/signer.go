package card

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
)

// digestInfoPrefix holds the DER DigestInfo header for each hash, which
// precedes the digest in a PKCS#1 v1.5 signature (RFC 8017 §9.2, note 1).
var digestInfoPrefix = map[crypto.Hash][]byte{
	crypto.SHA1:   {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14},
	crypto.SHA224: {0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04, 0x05, 0x00, 0x04, 0x1c},
	crypto.SHA256: {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20},
	crypto.SHA384: {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30},
	crypto.SHA512: {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40},
}

// ErrUnsupportedSignature: the card's COMPUTE DIGITAL SIGNATURE cannot
// produce what the SignerOpts ask for.
var ErrUnsupportedSignature = errors.New("card: unsupported signature scheme")

// cardSigner is a crypto.Signer whose private key stays on the card.
type cardSigner struct {
	c   *Client
	p   Purpose
	pub *rsa.PublicKey
}

var _ crypto.Signer = (*cardSigner)(nil)

// Signer returns a crypto.Signer for p's key. It reads p's certificate for
// the public key, so for Sign the signing password must already be verified.
// Each Sign call needs the PIN still verified in the card session.
func (c *Client) Signer(p Purpose) (crypto.Signer, error) {
	der, err := c.Certificate(p)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("card: %s certificate: %w", p, err)
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("card: %s certificate has a %T key, want RSA", p, cert.PublicKey)
	}
	return &cardSigner{c: c, p: p, pub: pub}, nil
}

func (s *cardSigner) Public() crypto.PublicKey { return s.pub }

// Sign makes an RSASSA-PKCS1-v1_5 signature of digest. opts.HashFunc() must be
// SHA-1, SHA-224, SHA-256, SHA-384 or SHA-512 (the DigestInfo is built here,
// as OpenSC does), or 0 to sign digest as given. PSS is refused: the card does
// PSS only over SHA-256 with a salt length it chooses. rand is unused.
func (s *cardSigner) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if _, ok := opts.(*rsa.PSSOptions); ok {
		return nil, fmt.Errorf("%w: RSASSA-PSS", ErrUnsupportedSignature)
	}
	h := opts.HashFunc()
	if h == 0 {
		return s.c.SignDigestInfo(s.p, digest)
	}
	prefix, ok := digestInfoPrefix[h]
	if !ok {
		return nil, fmt.Errorf("%w: hash %v", ErrUnsupportedSignature, h)
	}
	if len(digest) != h.Size() {
		return nil, fmt.Errorf("card: sign: %d-byte digest for %v, want %d", len(digest), h, h.Size())
	}
	return s.c.SignDigestInfo(s.p, append(append([]byte(nil), prefix...), digest...))
}
