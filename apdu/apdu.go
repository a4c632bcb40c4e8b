// Package apdu encodes and parses ISO/IEC 7816-4 short APDUs (§5.1, command
// cases 1–4; §5.6, status bytes SW1-SW2) as exchanged with the My Number
// Card's JPKI and text applications (JICSAP 4.2 uses only short APDUs).
//
// It knows nothing about any application: the emulator in package card uses
// it to read commands and the driver uses it to build them. Extended-length
// APDUs are rejected on purpose: no JPKI client sends them and an emulator that
// accepted them would hide client bugs.
package apdu

import (
	"errors"
	"fmt"
)

// MaxData is the largest command data field (Nc) of a short APDU.
const MaxData = 255

// MaxLe is the largest response length (Ne) of a short APDU; it is encoded as
// Le = 00 (ISO/IEC 7816-4 §5.1).
const MaxLe = 256

// ErrMalformed is wrapped by every error Parse and ParseResponse return.
var ErrMalformed = errors.New("apdu: malformed")

// Command is a short command APDU.
type Command struct {
	CLA, INS, P1, P2 byte
	// Data is the command data field; empty means no Lc.
	Data []byte
	// Le is the expected response length Ne: 0 means no Le field, 1–256
	// is encoded as one byte with 256 as 00.
	Le int
}

// Case returns the ISO/IEC 7816-4 command case: 1 (no data, no Le), 2 (Le
// only), 3 (data only) or 4 (data and Le).
func (c Command) Case() int {
	switch {
	case len(c.Data) == 0 && c.Le == 0:
		return 1
	case len(c.Data) == 0:
		return 2
	case c.Le == 0:
		return 3
	}
	return 4
}

// Parse decodes a short command APDU. Following ISO/IEC 7816-4 §5.1, the case
// follows from the length: 4 bytes is case 1, 5 bytes case 2, and otherwise
// byte 5 is Lc and the body must be exactly Lc bytes (case 3) or Lc bytes
// plus one Le byte (case 4). Lc = 00 would announce an extended APDU and is
// rejected.
func Parse(b []byte) (Command, error) {
	if len(b) < 4 {
		return Command{}, fmt.Errorf("%w: %d bytes, want at least 4", ErrMalformed, len(b))
	}
	c := Command{CLA: b[0], INS: b[1], P1: b[2], P2: b[3]}
	body := b[4:]
	switch len(body) {
	case 0:
		return c, nil
	case 1:
		c.Le = leToNe(body[0])
		return c, nil
	}
	lc := int(body[0])
	if lc == 0 {
		return Command{}, fmt.Errorf("%w: Lc = 00 (extended APDUs are not supported)", ErrMalformed)
	}
	switch len(body) - 1 {
	case lc:
	case lc + 1:
		c.Le = leToNe(body[len(body)-1])
	default:
		return Command{}, fmt.Errorf("%w: Lc = %d but %d bytes follow", ErrMalformed, lc, len(body)-1)
	}
	c.Data = append([]byte(nil), body[1:1+lc]...)
	return c, nil
}

func leToNe(le byte) int {
	if le == 0 {
		return MaxLe
	}
	return int(le)
}

// Validate reports whether c can be encoded as a short APDU.
func (c Command) Validate() error {
	if len(c.Data) > MaxData {
		return fmt.Errorf("apdu: %d data bytes, short APDUs carry at most %d", len(c.Data), MaxData)
	}
	if c.Le < 0 || c.Le > MaxLe {
		return fmt.Errorf("apdu: Le %d out of range 0–%d", c.Le, MaxLe)
	}
	return nil
}

// Bytes encodes c. It panics when Validate fails, because that is a bug in
// the caller, never a runtime condition: use Encode to get an error instead.
func (c Command) Bytes() []byte {
	b, err := c.Encode()
	if err != nil {
		panic(err)
	}
	return b
}

// Encode encodes c as a short APDU.
func (c Command) Encode() ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	b := make([]byte, 0, 4+1+len(c.Data)+1)
	b = append(b, c.CLA, c.INS, c.P1, c.P2)
	if len(c.Data) > 0 {
		b = append(b, byte(len(c.Data)))
		b = append(b, c.Data...)
	}
	if c.Le > 0 {
		b = append(b, byte(c.Le)) // 256 wraps to 00, as §5.1 wants
	}
	return b, nil
}

// String shows the header and lengths, never the data: VERIFY data is a PIN.
func (c Command) String() string {
	return fmt.Sprintf("%02X %02X %02X %02X (Nc=%d Ne=%d)", c.CLA, c.INS, c.P1, c.P2, len(c.Data), c.Le)
}

// Response is a response APDU: the data field followed by SW1-SW2.
type Response struct {
	Data []byte
	SW   StatusWord
}

// ParseResponse splits a response APDU into data and status word.
func ParseResponse(b []byte) (Response, error) {
	if len(b) < 2 {
		return Response{}, fmt.Errorf("%w: response of %d bytes, want at least 2", ErrMalformed, len(b))
	}
	n := len(b) - 2
	return Response{
		Data: append([]byte(nil), b[:n]...),
		SW:   StatusWord(b[n])<<8 | StatusWord(b[n+1]),
	}, nil
}

// Bytes encodes r as data‖SW1‖SW2.
func (r Response) Bytes() []byte {
	b := make([]byte, 0, len(r.Data)+2)
	b = append(b, r.Data...)
	return append(b, r.SW.SW1(), r.SW.SW2())
}

// Err returns nil for 9000 and a *StatusError otherwise.
func (r Response) Err() error {
	if r.SW == OK {
		return nil
	}
	return &StatusError{SW: r.SW}
}
