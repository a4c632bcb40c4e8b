package card

import (
	"bytes"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/mynaplat/mynaplat/apdu"
)

// The 券面事項確認AP (visual AP, AID D3 92 10 00 31 00 01 01 04 02) and the
// text AP's issuer files. File map and access, as measured on a real card by
// SOL (src/ap/surface.rs) and named by AOKI (constants.ts):
//
//	EF 0001  age record      FF10 { DF11 birth YYYYMMDD, DF12 public key, DF13 signature }    birth-date key
//	EF 0002  card face       FF20 { DF21 offsets, DF22 birth, DF23 sex, DF24 public key,
//	                                DF25 name PNG, DF26 address PNG, DF27 face JPEG 2000,
//	                                DF28 signature, DF29 expiry, DF2A security code PNG }     照合番号A or B
//	EF 0003  AP basic info   FF30 { DF31 layout, DF32 key ID, DF33 version, DF34 municipality } free
//	EF 0004  CV certificate  7F21                                                             free
//	EF 0005  My Number image FF40 { DF41 PNG, DF42 public key, DF43 signature }              照合番号A
//	EF 0011  birth-date key (era YYMMDD), EF 0012 照合番号B (14 digits), EF 0013 照合番号A (the My Number)
//
// The text AP gains (SOL src/ap/text.rs; MYNA-GO text_ap.go; jpki-card.md §7):
//
//	EF 0003  integrity       FF30 { DF31 SHA-256 of EF 0001 as stored (17 bytes, filler
//	                                included), DF32 SHA-256 of EF 0002's value after DF21,
//	                                DF33 signature over DF31‖DF32 }                            PIN, A or B
//	EF 0004  CV certificate  7F21                                                             free
//	EF 0005  AP basic info   FF40 { DF41 04, DF42 key ID, DF43 128 bytes }, FF to 256 bytes  free
//
// Every signature is PKCS#1 v1.5 by the issuer's record key, the one EF
// 0004 certifies (surface.go); the card face's is over a DigestInfo of three
// SHA-256 digests (DF22–DF24, DF25–DF26, DF27), so the expiry and the
// security code after DF28 are not covered, as on the real card.
//
// Where the sources stop, the emulator chooses (docs/card-emulation.md):
// the public keys in the records (the real card's own challenge key) are the
// issuer's record key, since the emulator offers no COMPUTE SIGNATURE in
// these APs; EF 0003's municipality code is 00000 and its opaque DF35 block
// and EF 0006 are left out; text EF 0005's DF43 is 128 FF bytes.

var aidVisual = []byte{0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x02}

// EF identifiers of the visual AP.
const (
	efAgeRecord     uint16 = 0x0001
	efCardFace      uint16 = 0x0002
	efVisualInfo    uint16 = 0x0003
	efCVCert        uint16 = 0x0004 // also the text AP's
	efMyNumberImage uint16 = 0x0005
	efVisualBirth   uint16 = 0x0011
	efVisualPINB    uint16 = 0x0012
	efVisualPINA    uint16 = 0x0013
)

// EF identifiers of the text AP's issuer files.
const (
	efTextIntegrity uint16 = 0x0003
	efTextInfo      uint16 = 0x0005
	efTextBlocked   uint16 = 0x0012 // blocked on issue on every card SOL saw
)

// readableWith lists, for a protected EF of the text or visual AP, the PINs
// any one of which opens it; nil means free to read.
func (c *Card) readableWith(fid uint16) []PIN {
	switch c.ap {
	case apText:
		switch fid {
		case efMyNumber:
			return []PIN{TextPIN, TextPINA}
		case efAttributes:
			return []PIN{TextPIN, TextPINB}
		case efTextIntegrity:
			return []PIN{TextPIN, TextPINA, TextPINB}
		}
	case apVisual:
		switch fid {
		case efAgeRecord:
			return []PIN{VisualBirth}
		case efCardFace:
			return []PIN{VisualPINA, VisualPINB}
		case efMyNumberImage:
			return []PIN{VisualPINA}
		}
	}
	return nil
}

// surfaceContent returns a text- or visual-AP EF's bytes once the session
// may read it.
func (c *Card) surfaceContent(fid uint16) ([]byte, apdu.StatusWord) {
	if pins := c.readableWith(fid); pins != nil {
		ok := false
		for _, p := range pins {
			ok = ok || c.verified[p]
		}
		if !ok {
			return nil, apdu.SecurityStatus
		}
	}
	s := &c.st
	if c.ap == apText {
		switch fid {
		case efMyNumber:
			return myNumberFile(s.MyNumber), apdu.OK
		case efAttributes:
			return attributesFile(s.Attrs), apdu.OK
		}
	}
	b, err := c.issuerFile(c.ap, fid)
	if err != nil {
		return nil, apdu.NoPreciseDiagnosis
	}
	return b, apdu.OK
}

type fileKey struct {
	ap  application
	fid uint16
}

// issuerFile builds (once per state) a file that carries the issuer's
// signature or certificate. Callers hold c.mu.
func (c *Card) issuerFile(ap application, fid uint16) ([]byte, error) {
	if b, ok := c.files[fileKey{ap, fid}]; ok {
		return b, nil
	}
	is, err := c.issuer()
	if err != nil {
		return nil, err
	}
	s := &c.st
	var b []byte
	switch {
	case ap == apText && fid == efTextIntegrity:
		b, err = textIntegrityFile(is, s)
	case ap == apText && fid == efCVCert:
		b = is.textCert
	case ap == apText && fid == efTextInfo:
		b = textInfoFile()
	case ap == apVisual && fid == efAgeRecord:
		b, err = signedRecord(is, []byte{0xFF, 0x10}, 0x13,
			berTLV([]byte{0xDF, 0x11}, []byte(s.Attrs.BirthDate)),
			berTLV([]byte{0xDF, 0x12}, rsaPublicTLVs(&is.key.PublicKey)))
	case ap == apVisual && fid == efCardFace:
		b, err = cardFaceFile(is, s)
	case ap == apVisual && fid == efVisualInfo:
		b = visualInfoFile()
	case ap == apVisual && fid == efCVCert:
		b = is.visualCert
	case ap == apVisual && fid == efMyNumberImage:
		b, err = signedRecord(is, []byte{0xFF, 0x40}, 0x43,
			berTLV([]byte{0xDF, 0x41}, digitsPNG(s.MyNumber)),
			berTLV([]byte{0xDF, 0x42}, rsaPublicTLVs(&is.key.PublicKey)))
	default:
		return nil, fmt.Errorf("card: no issuer file %04X", fid)
	}
	if err != nil {
		return nil, err
	}
	if c.files == nil {
		c.files = map[fileKey][]byte{}
	}
	c.files[fileKey{ap, fid}] = b
	return b, nil
}

// signedRecord is tag { parts…, DF<sigTag> signature over the parts }.
func signedRecord(is *Issuer, tag []byte, sigTag byte, parts ...[]byte) ([]byte, error) {
	body := bytes.Join(parts, nil)
	sig, err := signSHA256(is.key, body)
	if err != nil {
		return nil, err
	}
	return berTLV(tag, append(body, berTLV([]byte{0xDF, sigTag}, sig)...)), nil
}

// withOffsets is tag { DF21 <u16 offsets from the file's start of each
// part>, parts… }, the layout of text EF 0002 and visual EF 0002.
func withOffsets(tag []byte, parts [][]byte) []byte {
	dirLen := 2 + len(berLength(2*len(parts))) + 2*len(parts)
	inner := dirLen
	for _, p := range parts {
		inner += len(p)
	}
	off := len(tag) + len(berLength(inner)) + dirLen
	dir := make([]byte, 2*len(parts))
	for i, p := range parts {
		binary.BigEndian.PutUint16(dir[2*i:], uint16(off))
		off += len(p)
	}
	body := berTLV([]byte{0xDF, 0x21}, dir)
	for _, p := range parts {
		body = append(body, p...)
	}
	return berTLV(tag, body)
}

// cardFaceFile builds visual EF 0002.
func cardFaceFile(is *Issuer, s *state) ([]byte, error) {
	f := is.faces()
	parts := [][]byte{
		berTLV([]byte{0xDF, 0x22}, []byte(s.Attrs.BirthDate)),
		berTLV([]byte{0xDF, 0x23}, []byte(s.Attrs.Sex)),
		berTLV([]byte{0xDF, 0x24}, rsaPublicTLVs(&is.key.PublicKey)),
		berTLV([]byte{0xDF, 0x25}, f.draw(s.Attrs.Name)),
		berTLV([]byte{0xDF, 0x26}, f.draw(s.Attrs.Address)),
		berTLV([]byte{0xDF, 0x27}, faceJP2(s.ID)),
	}
	digests := faceDigests(parts[0:3], parts[3:5], parts[5:6])
	sig, err := rsa.SignPKCS1v15(nil, is.key, 0, digestInfo(digests))
	if err != nil {
		return nil, err
	}
	parts = append(parts,
		berTLV([]byte{0xDF, 0x28}, sig),
		berTLV([]byte{0xDF, 0x29}, []byte(s.Expiry)),
		berTLV([]byte{0xDF, 0x2A}, digitsPNG(s.SecurityCode)))
	return withOffsets([]byte{0xFF, 0x20}, parts), nil
}

// faceDigests is the three SHA-256 digests the card face's signature
// covers, one per group of TLVs.
func faceDigests(groups ...[][]byte) []byte {
	var out []byte
	for _, g := range groups {
		h := sha256.Sum256(bytes.Join(g, nil))
		out = append(out, h[:]...)
	}
	return out
}

// visualInfoFile builds visual EF 0003 (SOL surface.rs ApBasicData; DF35 left out).
func visualInfoFile() []byte {
	return berTLV([]byte{0xFF, 0x30}, bytes.Join([][]byte{
		berTLV([]byte{0xDF, 0x31}, []byte{0x06, 0x03, 0x0E, 0x01}),
		berTLV([]byte{0xDF, 0x32}, keyIDVisualInfo),
		berTLV([]byte{0xDF, 0x33}, []byte{0x01}),
		berTLV([]byte{0xDF, 0x34}, []byte("00000")),
	}, nil))
}

// textInfoFile builds text EF 0005, padded with FF to the 256 bytes
// MYNA-GO reads.
func textInfoFile() []byte {
	b := berTLV([]byte{0xFF, 0x40}, bytes.Join([][]byte{
		berTLV([]byte{0xDF, 0x41}, []byte{0x01, 0x03, 0x0E, 0x01}),
		berTLV([]byte{0xDF, 0x42}, keyIDTextInfo),
		berTLV([]byte{0xDF, 0x43}, bytes.Repeat([]byte{0xFF}, 128)),
	}, nil))
	return append(b, bytes.Repeat([]byte{0xFF}, 256-len(b))...)
}

// textIntegrityFile builds text EF 0003: 336 bytes.
func textIntegrityFile(is *Issuer, s *state) ([]byte, error) {
	h1 := sha256.Sum256(myNumberFile(s.MyNumber))
	h2 := sha256.Sum256(attributesDigestSource(attributesFile(s.Attrs)))
	return signedRecord(is, []byte{0xFF, 0x30}, 0x33,
		berTLV([]byte{0xDF, 0x31}, h1[:]), berTLV([]byte{0xDF, 0x32}, h2[:]))
}

// attributesDigestSource is what text EF 0003's DF32 hashes: EF 0002's
// value after its DF21 offset table (SOL text.rs digest_source).
func attributesDigestSource(file []byte) []byte {
	_, val, _, err := berNext(file)
	if err != nil {
		return nil
	}
	_, _, rest, err := berNext(val)
	if err != nil {
		return nil
	}
	return rest
}
