package card

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"sync"
)

// The card issuer's side of the two 券面 applications (text AP EF 0003–0005,
// 券面事項確認AP EF 0001–0005), as the public sources describe the real card
// (SOL src/ap/surface.rs, src/ap/text.rs, src/data.rs; AOKI schema.ts;
// MYNA-GO text_ap.go):
//
//   - Each AP's EF 0004 is a card-verifiable certificate (tag 7F21: body
//     5F4E = issuer key ID ‖ subject key ID ‖ RSA-2048 public key in the
//     card's 90/91 encoding; 5F37 = PKCS#1 v1.5 SHA-256 signature over the
//     body) made by a CA of J-LIS whose key is not on the card: a verifier
//     holds it out of band and finds it by the issuer key ID.
//   - The key it certifies is the card issuer's record key, which signs the
//     AP's records: text EF 0003 (digests of EF 0001 and 0002) and the
//     visual AP's EF 0001, 0002 and 0005.
//
// In the emulation the card store plays the card factory and J-LIS's CA at
// once (as it already plays the counter's SAM, manage.go): Issuer holds the
// two card-verifiable CAs (one per AP) and the record key, made on first use
// and kept in the store's directory (surface-issuer.key, mode 0600). The key
// IDs start with 7, not 5 (production) or 6 (J-LIS test cards), so that no
// real verifier takes them for its own CA's. The records are signed when a
// card first shows them and kept in the chip's memory cache; PKCS#1 v1.5 is
// deterministic, so they are byte for byte what a factory would have
// written at issuance.

// Card-verifiable key identifiers: 7 digits, 08 05, a 3-digit group, 4 zero
// bytes (SOL data.rs KeyId).
var (
	keyIDVisualCA   = cvKeyID("7000023") // J-LIS CA of the 券面事項確認AP
	keyIDTextCA     = cvKeyID("7000033") // J-LIS CA of the text AP
	keyIDIssuer     = cvKeyID("7100001") // the card issuer's record key
	keyIDVisualInfo = cvKeyID("7000024") // named by visual EF 0003; its use is unknown
	keyIDTextInfo   = cvKeyID("7000034") // named by text EF 0005; its use is unknown
)

func cvKeyID(number string) []byte {
	b := make([]byte, 16)
	copy(b, number)
	b[7], b[8] = 0x08, 0x05
	copy(b[9:], "001")
	return b
}

// Issuer is the card issuer's key material for the 券面 applications.
type Issuer struct {
	visualCA, textCA, key *rsa.PrivateKey
	visualCert, textCert  []byte

	fontOnce sync.Once
	fonts    *fontSet
}

// issuerFile is the file of a store's Issuer.
const issuerFile = "surface-issuer.key"

type issuerKeys struct {
	VisualCA []byte `json:"visual_ca"` // PKCS#8
	TextCA   []byte `json:"text_ca"`
	Issuer   []byte `json:"issuer"`
}

// NewIssuer returns an Issuer with new keys.
func NewIssuer() (*Issuer, error) {
	var keys [3]*rsa.PrivateKey
	for i := range keys {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("card: issuer key: %w", err)
		}
		keys[i] = k
	}
	return newIssuer(keys[0], keys[1], keys[2])
}

func newIssuer(visualCA, textCA, key *rsa.PrivateKey) (*Issuer, error) {
	is := &Issuer{visualCA: visualCA, textCA: textCA, key: key}
	var err error
	if is.visualCert, err = cvCertificate(visualCA, keyIDVisualCA, keyIDIssuer, &key.PublicKey); err != nil {
		return nil, err
	}
	if is.textCert, err = cvCertificate(textCA, keyIDTextCA, keyIDIssuer, &key.PublicKey); err != nil {
		return nil, err
	}
	return is, nil
}

// CAKeys returns the public keys of the two J-LIS card-verifiable CAs: what
// a verifier of the 券面 applications holds out of band.
func (is *Issuer) CAKeys() (visual, text *rsa.PublicKey) {
	return &is.visualCA.PublicKey, &is.textCA.PublicKey
}

// loadIssuer reads the store's issuer keys, making them on first use (O_EXCL
// through a link, as loadSAM does, so that two processes agree on one).
func loadIssuer(dir string) (*Issuer, error) {
	path := filepath.Join(dir, issuerFile)
	for range 2 {
		b, err := os.ReadFile(path)
		if err == nil {
			return parseIssuer(b)
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("card: issuer keys: %w", err)
		}
		is, err := NewIssuer()
		if err != nil {
			return nil, err
		}
		var k issuerKeys
		for _, p := range []struct {
			dst *[]byte
			key *rsa.PrivateKey
		}{{&k.VisualCA, is.visualCA}, {&k.TextCA, is.textCA}, {&k.Issuer, is.key}} {
			if *p.dst, err = x509.MarshalPKCS8PrivateKey(p.key); err != nil {
				return nil, err
			}
		}
		b, err = json.Marshal(k)
		if err != nil {
			return nil, err
		}
		tmp := fmt.Sprintf("%s.%x.new", path, is.key.N.Bytes()[:4])
		if err := os.WriteFile(tmp, b, 0o600); err != nil {
			return nil, fmt.Errorf("card: issuer keys: %w", err)
		}
		err = os.Link(tmp, path)
		os.Remove(tmp)
		if err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("card: issuer keys: %w", err)
		}
	}
	return nil, errors.New("card: issuer keys: could not be made")
}

func parseIssuer(b []byte) (*Issuer, error) {
	var k issuerKeys
	if err := json.Unmarshal(b, &k); err != nil {
		return nil, fmt.Errorf("card: issuer keys: %w", err)
	}
	var keys [3]*rsa.PrivateKey
	for i, der := range [][]byte{k.VisualCA, k.TextCA, k.Issuer} {
		key, err := parseKey(der)
		if err != nil {
			return nil, fmt.Errorf("card: issuer keys: %w", err)
		}
		keys[i] = key
	}
	return newIssuer(keys[0], keys[1], keys[2])
}

// rsaPublicTLVs is an RSA public key in the card's encoding: 90 exponent,
// 91 modulus (SOL data.rs RsaPublicKey); 265 bytes for RSA-2048.
func rsaPublicTLVs(pub *rsa.PublicKey) []byte {
	e := exponentBytes(pub.E)
	return append(berTLV([]byte{0x90}, e), berTLV([]byte{0x91}, pub.N.FillBytes(make([]byte, (pub.N.BitLen()+7)/8)))...)
}

func exponentBytes(e int) []byte {
	var b []byte
	for ; e > 0; e >>= 8 {
		b = append([]byte{byte(e)}, b...)
	}
	return b
}

// cvCertificate is a card-verifiable certificate of pub under ca.
func cvCertificate(ca *rsa.PrivateKey, issuerID, subjectID []byte, pub *rsa.PublicKey) ([]byte, error) {
	body := append(append(bytes.Clone(issuerID), subjectID...), rsaPublicTLVs(pub)...)
	sig, err := signSHA256(ca, body)
	if err != nil {
		return nil, err
	}
	return berTLV([]byte{0x7F, 0x21}, append(berTLV([]byte{0x5F, 0x4E}, body), berTLV([]byte{0x5F, 0x37}, sig)...)), nil
}

func signSHA256(key crypto.Signer, msg []byte) ([]byte, error) {
	h := sha256.Sum256(msg)
	return key.Sign(rand.Reader, h[:], crypto.SHA256)
}

// sha256DigestInfoPrefix is the DER DigestInfo header of SHA-256 up to the
// OCTET STRING's tag.
var sha256DigestInfoPrefix = []byte{0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00}

// digestInfo is a SHA-256 DigestInfo around digest, which for the card
// face is three digests in a row (96 bytes; SOL data.rs sha256_digest_info).
func digestInfo(digest []byte) []byte {
	inner := append(bytes.Clone(sha256DigestInfoPrefix), berTLV([]byte{0x04}, digest)...)
	return berTLV([]byte{0x30}, inner)
}

// CVCertificate is a parsed card-verifiable certificate (EF 0004 of the
// 券面 applications).
type CVCertificate struct {
	IssuerKeyID, SubjectKeyID []byte
	PublicKey                 *rsa.PublicKey
	Body, Signature           []byte
}

// ParseCVCertificate parses a 7F21 card-verifiable certificate.
func ParseCVCertificate(b []byte) (*CVCertificate, error) {
	tag, val, _, err := berNext(b)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(tag, []byte{0x7F, 0x21}) {
		return nil, fmt.Errorf("%w: certificate tag % X, want 7F 21", errBER, tag)
	}
	c := &CVCertificate{}
	for len(val) > 0 {
		var v []byte
		if tag, v, val, err = berNext(val); err != nil {
			return nil, err
		}
		switch {
		case bytes.Equal(tag, []byte{0x5F, 0x4E}):
			c.Body = v
		case bytes.Equal(tag, []byte{0x5F, 0x37}):
			c.Signature = v
		}
	}
	if len(c.Body) < 32 || c.Signature == nil {
		return nil, fmt.Errorf("%w: certificate without body or signature", errBER)
	}
	c.IssuerKeyID, c.SubjectKeyID = c.Body[:16], c.Body[16:32]
	if c.PublicKey, err = parseRSAPublicTLVs(c.Body[32:]); err != nil {
		return nil, err
	}
	return c, nil
}

// Verify checks the certificate's signature with the CA key ca.
func (c *CVCertificate) Verify(ca *rsa.PublicKey) error {
	h := sha256.Sum256(c.Body)
	return rsa.VerifyPKCS1v15(ca, crypto.SHA256, h[:], c.Signature)
}

func parseRSAPublicTLVs(b []byte) (*rsa.PublicKey, error) {
	var e, n []byte
	for len(b) > 0 {
		tag, v, rest, err := berNext(b)
		if err != nil {
			return nil, err
		}
		switch {
		case bytes.Equal(tag, []byte{0x90}):
			e = v
		case bytes.Equal(tag, []byte{0x91}):
			n = v
		}
		b = rest
	}
	if len(e) == 0 || len(e) > 4 || len(n) == 0 {
		return nil, fmt.Errorf("%w: no RSA public key (90, 91)", errBER)
	}
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n)}
	for _, x := range e {
		pub.E = pub.E<<8 | int(x)
	}
	return pub, nil
}

// Neutral placeholder face photos, JPEG 2000 as on the real card, with a
// PNG of each for browsers, which do not show JPEG 2000 (faces/gen.go).
//
//go:embed faces/face-*.jp2 faces/face-*.png
var faceFiles embed.FS

const faceVariants = 4

// faceJP2 is the placeholder photo of the card with ID id.
func faceJP2(id string) []byte {
	h := sha256.Sum256([]byte(id))
	b, err := faceFiles.ReadFile(fmt.Sprintf("faces/face-%d.jp2", int(h[0])%faceVariants))
	if err != nil {
		panic(err) // embedded
	}
	return b
}

// FacePNG returns a PNG of a face photo read from a card, for display, when
// the photo is one of the emulator's placeholders; nil otherwise (the
// emulator has no JPEG 2000 decoder).
func FacePNG(jp2 []byte) []byte {
	for i := range faceVariants {
		b, _ := faceFiles.ReadFile(fmt.Sprintf("faces/face-%d.jp2", i))
		if bytes.Equal(b, jp2) {
			p, _ := faceFiles.ReadFile(fmt.Sprintf("faces/face-%d.png", i))
			return p
		}
	}
	return nil
}
