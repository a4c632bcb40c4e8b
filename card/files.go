package card

import (
	"bytes"
	"errors"
	"fmt"
)

// Application identifiers, selected by DF name (jpki-card.md §1).
var (
	aidJPKI = []byte{0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01}
	aidText = []byte{0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x08}
)

// ATR is the answer to reset the emulator presents: the Juki-card ATR that
// OpenSC's jpki driver matches exactly (jpki-card.md §6): T=1, no historical
// bytes, valid TCK.
var atr = [...]byte{0x3B, 0xE0, 0x00, 0xFF, 0x81, 0x31, 0xFE, 0x45, 0x14}

// ATR returns the card's answer to reset.
func ATR() []byte { return atr[:] }

// application is the AP currently selected.
type application int

const (
	apNone application = iota // after reset: the MF is current
	apJPKI
	apText
	apVisual
)

// EF identifiers of the JPKI AP (jpki-card.md §2).
const (
	efSignCert     uint16 = 0x0001
	efSignCACert   uint16 = 0x0002
	efTokenInfo    uint16 = 0x0006
	efAvailability uint16 = 0x0008
	efAuthCert     uint16 = 0x000A
	efAuthCACert   uint16 = 0x000B
	efAuthKey      uint16 = 0x0017
	efAuthPIN      uint16 = 0x0018
	efSignKey      uint16 = 0x001A
	efSignPIN      uint16 = 0x001B
)

// EF identifiers of the text AP (jpki-card.md §7).
const (
	efMyNumber   uint16 = 0x0001
	efAttributes uint16 = 0x0002
	efTextPIN    uint16 = 0x0011
	efTextPINA   uint16 = 0x0014 // 照合番号A
	efTextPINB   uint16 = 0x0015 // 照合番号B
)

// tokenLabel is the CK_TOKEN_INFO label of a My Number Card (jpki-card.md §2.3).
const tokenLabel = "JPKIAPICCTOKEN2"

// tokenInfo builds EF 0006: a 160-byte PKCS#11 CK_TOKEN_INFO. Only the label is
// fixed by the reference; clients read just those 32 bytes and strip trailing
// blanks, so every text field is padded with 0x20 as PKCS#11 §3.3 wants, and the
// numeric fields after them are left zero.
func tokenInfo() []byte {
	b := make([]byte, 160)
	put := func(off, n int, s string) {
		copy(b[off:off+n], bytes.Repeat([]byte{' '}, n))
		copy(b[off:off+n], s)
	}
	put(0, 32, tokenLabel)  // label
	put(32, 32, "JPKI")     // manufacturerID
	put(64, 16, "mynaplat") // model
	put(80, 16, "00000000") // serialNumber, as OpenSC reports
	return b
}

// Bytes of EF 0008: one byte per certificate, 8F when present, 00 when not.
// The reference only gives 8F 8F 00 for "both"; we take byte 1 as the auth
// certificate (000A) and byte 2 as the signing certificate (0001), so an
// under-15 card with only the auth certificate reads 8F 00 00.
const certPresent = 0x8F

func availability(auth, sign bool) []byte {
	b := []byte{0, 0, 0}
	if auth {
		b[0] = certPresent
	}
	if sign {
		b[1] = certPresent
	}
	return b
}

// myNumberFile builds text-AP EF 0001: FF 10 0C + 12 ASCII digits, then two FF
// filler bytes, 17 bytes in all (jpki-card.md §7).
func myNumberFile(myNumber string) []byte {
	b := berTLV([]byte{0xFF, 0x10}, []byte(myNumber))
	return append(b, 0xFF, 0xFF)
}

// attributesFile builds text-AP EF 0002, the 基本4情報:
//
//	FF 20 L { DF21 08 <4 × u16>; DF22 name; DF23 address; DF24 birth date; DF25 sex }
//
// The four big-endian u16 in DF21 are the byte offsets, from the start of the
// file, of the DF22, DF23, DF24 and DF25 TLVs (their tag bytes), so a reader can
// jump to one attribute without parsing the others.
func attributesFile(a Attributes) []byte {
	return withOffsets([]byte{0xFF, 0x20}, [][]byte{
		berTLV([]byte{0xDF, 0x22}, []byte(a.Name)),
		berTLV([]byte{0xDF, 0x23}, []byte(a.Address)),
		berTLV([]byte{0xDF, 0x24}, []byte(a.BirthDate)),
		berTLV([]byte{0xDF, 0x25}, []byte(a.Sex)),
	})
}

// parseAttributes is the inverse of attributesFile. It follows the TLVs in
// order rather than the offsets, which a real card may compute differently.
func parseAttributes(b []byte) (Attributes, error) {
	tag, val, _, err := berNext(b)
	if err != nil {
		return Attributes{}, err
	}
	if !bytes.Equal(tag, []byte{0xFF, 0x20}) {
		return Attributes{}, fmt.Errorf("%w: attributes tag % X, want FF 20", errBER, tag)
	}
	var a Attributes
	for len(val) > 0 {
		var v []byte
		tag, v, val, err = berNext(val)
		if err != nil {
			return Attributes{}, err
		}
		if len(tag) != 2 || tag[0] != 0xDF {
			continue
		}
		switch tag[1] {
		case 0x22:
			a.Name = string(v)
		case 0x23:
			a.Address = string(v)
		case 0x24:
			a.BirthDate = string(v)
		case 0x25:
			a.Sex = string(v)
		}
	}
	return a, nil
}

// BER-TLV (ISO/IEC 7816-4 §5.2) helpers: enough for the card's files and for
// DER certificates.

var errBER = errors.New("card: malformed BER-TLV")

func berLength(n int) []byte {
	switch {
	case n < 0x80:
		return []byte{byte(n)}
	case n <= 0xFF:
		return []byte{0x81, byte(n)}
	default:
		return []byte{0x82, byte(n >> 8), byte(n)}
	}
}

func berTLV(tag, val []byte) []byte {
	b := append(append([]byte(nil), tag...), berLength(len(val))...)
	return append(b, val...)
}

// berHeader parses a tag and a length at the start of b and returns the size
// of the header and the length of the value. Lengths of up to three bytes
// (83 xx xx xx) are accepted; a card EF is never larger.
func berHeader(b []byte) (hdr, n int, err error) {
	i := 0
	if len(b) < 2 {
		return 0, 0, fmt.Errorf("%w: %d bytes", errBER, len(b))
	}
	if b[0]&0x1F == 0x1F { // multi-byte tag number (§5.2.2.1)
		i = 1
		for {
			if i >= len(b) || i > 3 {
				return 0, 0, fmt.Errorf("%w: tag too long", errBER)
			}
			more := b[i]&0x80 != 0
			i++
			if !more {
				break
			}
		}
	} else {
		i = 1
	}
	if i >= len(b) {
		return 0, 0, fmt.Errorf("%w: no length", errBER)
	}
	l := b[i]
	i++
	switch {
	case l < 0x80:
		return i, int(l), nil
	case l == 0x80 || l > 0x83:
		return 0, 0, fmt.Errorf("%w: length byte %02X", errBER, l)
	}
	k := int(l & 0x7F)
	if i+k > len(b) {
		return 0, 0, fmt.Errorf("%w: truncated length", errBER)
	}
	for _, x := range b[i : i+k] {
		n = n<<8 | int(x)
	}
	return i + k, n, nil
}

// berNext splits the first TLV off b.
func berNext(b []byte) (tag, val, rest []byte, err error) {
	hdr, n, err := berHeader(b)
	if err != nil {
		return nil, nil, nil, err
	}
	if hdr+n > len(b) {
		return nil, nil, nil, fmt.Errorf("%w: value of %d bytes, %d left", errBER, n, len(b)-hdr)
	}
	tagLen := 1
	if b[0]&0x1F == 0x1F {
		for tagLen = 1; b[tagLen]&0x80 != 0; tagLen++ {
		}
		tagLen++
	}
	return b[:tagLen], b[hdr : hdr+n], b[hdr+n:], nil
}
