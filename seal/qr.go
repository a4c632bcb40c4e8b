package seal

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"image/png"
	"regexp"
	"strings"
	"time"

	"github.com/skip2/go-qrcode"
)

// QRPrefix starts the text of every certificate QR code (version 1).
const QRPrefix = "MS1."

// qrDomain separates QR signatures from anything else the key could sign.
const qrDomain = "mynaplat seal QR v1\n"

// Sizes of the QR payload's fixed fields.
const (
	digestSize = sha256.Size
	secretSize = 16
	maxNumber  = 32
)

// certNumber is a certificate number: printable ASCII without spaces.
var certNumber = regexp.MustCompile(`^[!-~]{1,32}$`)

// QRPayload is what the QR code printed on a certificate carries.
//
// Binary layout before base64url (RFC 4648 §5, no padding), after QRPrefix:
//
//	1 byte      length n of Number
//	n bytes     Number (ASCII)
//	6 bytes     Municipality (ASCII digits)
//	8 bytes     IssuedAt, Unix seconds, big-endian
//	32 bytes    Digest
//	16 bytes    Secret
//	64 bytes    Signature (Ed25519 over qrDomain and all the bytes above)
//
// With a 12-character number the text is 201 characters: a version 10 QR
// code at error correction level M.
type QRPayload struct {
	Number       string
	Municipality string
	IssuedAt     time.Time
	// Digest is ContentDigest of the certificate's canonical content.
	Digest [digestSize]byte
	// Secret opens the register's copy of the content (see the package doc).
	Secret [secretSize]byte
	// Signature is the municipality's QR key's signature.
	Signature []byte
}

// ContentDigest is the SHA-256 of a certificate's canonical content text,
// its exact UTF-8 bytes.
func ContentDigest(content string) [digestSize]byte { return sha256.Sum256([]byte(content)) }

// NewQRPayload fills a payload with a fresh secret; SignQR signs it.
func NewQRPayload(number, municipality string, issuedAt time.Time, content string) (*QRPayload, error) {
	if !certNumber.MatchString(number) || !municipalityCode.MatchString(municipality) {
		return nil, fmt.Errorf("%w: certificate number must be 1–%d printable ASCII characters and the municipality code 6 digits", ErrInvalid, maxNumber)
	}
	p := &QRPayload{Number: number, Municipality: municipality, IssuedAt: issuedAt.Truncate(time.Second), Digest: ContentDigest(content)}
	if _, err := rand.Read(p.Secret[:]); err != nil {
		return nil, err
	}
	return p, nil
}

// signed is the payload's bytes before the signature.
func (p *QRPayload) signed() []byte {
	b := make([]byte, 0, 1+len(p.Number)+6+8+digestSize+secretSize+ed25519.SignatureSize)
	b = append(b, byte(len(p.Number)))
	b = append(b, p.Number...)
	b = append(b, p.Municipality...)
	b = binary.BigEndian.AppendUint64(b, uint64(p.IssuedAt.Unix()))
	b = append(b, p.Digest[:]...)
	b = append(b, p.Secret[:]...)
	return b
}

func (p *QRPayload) message() []byte { return append([]byte(qrDomain), p.signed()...) }

// SignQR signs the payload with a municipality's QR key, which must be an
// Ed25519 signer.
func SignQR(p *QRPayload, signer crypto.Signer) error {
	if _, ok := signer.Public().(ed25519.PublicKey); !ok {
		return fmt.Errorf("%w: the QR key must be Ed25519", ErrInvalid)
	}
	sig, err := signer.Sign(rand.Reader, p.message(), crypto.Hash(0))
	if err != nil {
		return fmt.Errorf("seal: sign QR: %w", err)
	}
	p.Signature = sig
	return nil
}

// Text is the QR code's text: QRPrefix and the base64url payload.
func (p *QRPayload) Text() string {
	return QRPrefix + base64.RawURLEncoding.EncodeToString(append(p.signed(), p.Signature...))
}

// ParseQR reads a QR code's text. Surrounding white space (a scanner's line
// end) is ignored. Any other deviation is ErrMalformed.
func ParseQR(text string) (*QRPayload, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(text), QRPrefix)
	if !ok {
		return nil, fmt.Errorf("%w: does not start with %s", ErrMalformed, QRPrefix)
	}
	if len(rest) > 512 {
		return nil, fmt.Errorf("%w: too long", ErrMalformed)
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(rest)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if len(b) < 1 {
		return nil, fmt.Errorf("%w: empty", ErrMalformed)
	}
	n := int(b[0])
	if len(b) != 1+n+6+8+digestSize+secretSize+ed25519.SignatureSize {
		return nil, fmt.Errorf("%w: %d bytes for a number of %d", ErrMalformed, len(b), n)
	}
	p := &QRPayload{Number: string(b[1 : 1+n]), Municipality: string(b[1+n : 7+n])}
	b = b[7+n:]
	secs := int64(binary.BigEndian.Uint64(b))
	b = b[8:]
	copy(p.Digest[:], b)
	copy(p.Secret[:], b[digestSize:])
	p.Signature = bytes.Clone(b[digestSize+secretSize:])
	if !certNumber.MatchString(p.Number) || !municipalityCode.MatchString(p.Municipality) {
		return nil, fmt.Errorf("%w: bad number or municipality code", ErrMalformed)
	}
	// 2000 … 2200: a QR of this system was issued in between.
	if secs < 946684800 || secs > 7258118400 {
		return nil, fmt.Errorf("%w: issue time out of range", ErrMalformed)
	}
	p.IssuedAt = time.Unix(secs, 0)
	return p, nil
}

// QRKeys finds the public key that checks a municipality's QR codes;
// *Authority is one.
type QRKeys interface {
	QRPublicKey(municipality string) (ed25519.PublicKey, error)
}

// VerifyQR checks the payload's signature with its municipality's key. A
// municipality without a key, or a signature that does not verify, is
// ErrBadSignature.
func VerifyQR(p *QRPayload, keys QRKeys) error {
	pub, err := keys.QRPublicKey(p.Municipality)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	if !ed25519.Verify(pub, p.message(), p.Signature) {
		return ErrBadSignature
	}
	return nil
}

// QRPNG draws the payload's QR code as a 512×512 PNG at error correction
// level M (ISO/IEC 18004 §4.13: about 15% of the code may be damaged), for
// the renderer to place on the page.
func QRPNG(p *QRPayload) ([]byte, error) {
	q, err := qrcode.New(p.Text(), qrcode.Medium)
	if err != nil {
		return nil, fmt.Errorf("seal: draw QR: %w", err)
	}
	// Eight pixels a module (negative size; four did not survive pdftoppm at
	// 150 dpi in a 72 pt square), a two-colour image
	// compressed for speed: drawing the QR was 15 % of an
	// issuance at 512 px with the default compression.
	var b bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&b, q.Image(-8)); err != nil {
		return nil, fmt.Errorf("seal: draw QR: %w", err)
	}
	return b.Bytes(), nil
}
