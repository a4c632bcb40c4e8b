package card

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
)

// The driver's side of the 券面 applications: reading the visual AP's
// records and both APs' issuer files, and checking their signatures the way
// a relying terminal does — the CV certificate (EF 0004) against the J-LIS
// CA key it holds out of band, each record against the key that certificate
// certifies (visual.go, surface.go).

// tlvField is one TLV of a record: tag, value, and its bytes as written.
type tlvField struct {
	tag, val, raw []byte
}

// recordFields splits a record tag { TLV… } into its TLVs, stopping at FF
// or 00 filler.
func recordFields(b, tag []byte) ([]tlvField, error) {
	t, val, _, err := berNext(b)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(t, tag) {
		return nil, fmt.Errorf("%w: record tag % X, want % X", errBER, t, tag)
	}
	var out []tlvField
	for len(val) > 0 && val[0] != 0x00 && val[0] != 0xFF {
		t, v, rest, err := berNext(val)
		if err != nil {
			return nil, err
		}
		out = append(out, tlvField{tag: t, val: v, raw: val[:len(val)-len(rest)]})
		val = rest
	}
	return out, nil
}

func field(fs []tlvField, tag ...byte) []byte {
	for _, f := range fs {
		if bytes.Equal(f.tag, tag) {
			return f.val
		}
	}
	return nil
}

// rawBefore is the bytes of every TLV before the one tagged tag: what a
// record's signature covers.
func rawBefore(fs []tlvField, tag ...byte) []byte {
	var out []byte
	for _, f := range fs {
		if bytes.Equal(f.tag, tag) {
			break
		}
		out = append(out, f.raw...)
	}
	return out
}

// CardFace is the card's face as the visual AP's EF 0002 holds it.
type CardFace struct {
	BirthDate string // YYYYMMDD
	Sex       string // "1", "2", "9"
	Expiry    string // YYYYMMDD
	// NamePNG, AddressPNG and SecurityCodePNG are 1-bit PNGs of the text
	// printed on the card; FaceJP2 is the photo, JPEG 2000.
	NamePNG, AddressPNG, FaceJP2, SecurityCodePNG []byte
	PublicKey                                     *rsa.PublicKey
	Signature                                     []byte
	// digests are the three SHA-256 digests the signature covers.
	digests []byte
}

// Verify checks the card face's signature with the key the AP's CV
// certificate certifies. The expiry and the security code come after the
// signature and are not covered by it, on the real card as here.
func (f *CardFace) Verify(key *rsa.PublicKey) error {
	return rsa.VerifyPKCS1v15(key, 0, digestInfo(f.digests), f.Signature)
}

// CardFace reads the visual AP's EF 0002; VerifyPIN(VisualPINA or
// VisualPINB, …) must come first.
func (c *Client) CardFace() (*CardFace, error) {
	b, err := c.readFile(apVisual, efCardFace)
	if err != nil {
		return nil, err
	}
	fs, err := recordFields(b, []byte{0xFF, 0x20})
	if err != nil {
		return nil, err
	}
	raw := func(tags ...byte) []byte {
		var out []byte
		for _, t := range tags {
			for _, f := range fs {
				if bytes.Equal(f.tag, []byte{0xDF, t}) {
					out = append(out, f.raw...)
				}
			}
		}
		return out
	}
	pub, err := parseRSAPublicTLVs(field(fs, 0xDF, 0x24))
	if err != nil {
		return nil, err
	}
	return &CardFace{
		BirthDate: string(field(fs, 0xDF, 0x22)), Sex: string(field(fs, 0xDF, 0x23)),
		PublicKey: pub, NamePNG: field(fs, 0xDF, 0x25), AddressPNG: field(fs, 0xDF, 0x26),
		FaceJP2: field(fs, 0xDF, 0x27), Signature: field(fs, 0xDF, 0x28),
		Expiry: string(field(fs, 0xDF, 0x29)), SecurityCodePNG: field(fs, 0xDF, 0x2A),
		digests: faceDigests([][]byte{raw(0x22, 0x23, 0x24)}, [][]byte{raw(0x25, 0x26)}, [][]byte{raw(0x27)}),
	}, nil
}

// SignedRecord is a record of the visual AP other than the face: the age
// record (EF 0001: the birth date) or the My Number image (EF 0005).
type SignedRecord struct {
	// Value is the record's first field: the birth date (YYYYMMDD) or the
	// PNG of the My Number.
	Value     []byte
	PublicKey *rsa.PublicKey
	Signature []byte
	signed    []byte
}

// Verify checks the record's signature with the certified key.
func (r *SignedRecord) Verify(key *rsa.PublicKey) error {
	h := sha256.Sum256(r.signed)
	return rsa.VerifyPKCS1v15(key, crypto.SHA256, h[:], r.Signature)
}

// AgeRecord reads the visual AP's EF 0001; VerifyPIN(VisualBirth, …) first.
func (c *Client) AgeRecord() (*SignedRecord, error) {
	return c.signedRecord(efAgeRecord, []byte{0xFF, 0x10}, 0x11)
}

// MyNumberImage reads the visual AP's EF 0005, the My Number as printed;
// VerifyPIN(VisualPINA, …) first.
func (c *Client) MyNumberImage() (*SignedRecord, error) {
	return c.signedRecord(efMyNumberImage, []byte{0xFF, 0x40}, 0x41)
}

func (c *Client) signedRecord(fid uint16, tag []byte, first byte) (*SignedRecord, error) {
	b, err := c.readFile(apVisual, fid)
	if err != nil {
		return nil, err
	}
	fs, err := recordFields(b, tag)
	if err != nil {
		return nil, err
	}
	pub, err := parseRSAPublicTLVs(field(fs, 0xDF, first+1))
	if err != nil {
		return nil, err
	}
	return &SignedRecord{Value: field(fs, 0xDF, first), PublicKey: pub,
		Signature: field(fs, 0xDF, first+2), signed: rawBefore(fs, 0xDF, first+2)}, nil
}

// SurfaceCertificate reads EF 0004 of the visual AP (visual) or of the text
// AP: the card-verifiable certificate of the key that signs its records.
// Free to read.
func (c *Client) SurfaceCertificate(visual bool) (*CVCertificate, error) {
	ap := apText
	if visual {
		ap = apVisual
	}
	b, err := c.readFile(ap, efCVCert)
	if err != nil {
		return nil, err
	}
	return ParseCVCertificate(b)
}

// TextIntegrity is the text AP's EF 0003: digests of its EF 0001 and 0002
// and the issuer's signature over them.
type TextIntegrity struct {
	MyNumberDigest, AttributesDigest []byte
	Signature                        []byte
	signed                           []byte
}

// Verify checks the signature with the key the text AP's CV certificate
// certifies.
func (r *TextIntegrity) Verify(key *rsa.PublicKey) error {
	h := sha256.Sum256(r.signed)
	return rsa.VerifyPKCS1v15(key, crypto.SHA256, h[:], r.Signature)
}

// TextIntegrity reads the text AP's EF 0003; the text PIN or either
// 照合番号 must be verified first.
func (c *Client) TextIntegrity() (*TextIntegrity, error) {
	b, err := c.readFile(apText, efTextIntegrity)
	if err != nil {
		return nil, err
	}
	fs, err := recordFields(b, []byte{0xFF, 0x30})
	if err != nil {
		return nil, err
	}
	return &TextIntegrity{MyNumberDigest: field(fs, 0xDF, 0x31), AttributesDigest: field(fs, 0xDF, 0x32),
		Signature: field(fs, 0xDF, 0x33), signed: rawBefore(fs, 0xDF, 0x33)}, nil
}

// CheckTextFiles reports whether the text AP's EF 0001 and 0002, as read
// (the My Number file with its 2 filler bytes, the attributes TLV), are the
// ones r's digests vouch for.
func (r *TextIntegrity) CheckTextFiles(myNumberFile, attributesFile []byte) error {
	h1 := sha256.Sum256(myNumberFile)
	h2 := sha256.Sum256(attributesDigestSource(attributesFile))
	if !bytes.Equal(h1[:], r.MyNumberDigest) || !bytes.Equal(h2[:], r.AttributesDigest) {
		return fmt.Errorf("card: the text AP's files do not match its integrity record")
	}
	return nil
}

func (c *Client) readFile(ap application, fid uint16) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.selectEF(ap, fid); err != nil {
		return nil, err
	}
	return c.readTLV()
}
