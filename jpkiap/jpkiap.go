// Package jpkiap names the two key pairs of the JPKI AP on the My Number
// Card (shared/docs/jpki-card.md): the card's emulator and driver (package
// card) and the JPKI centre's issuing counter (package jpki), which writes
// keys and certificates to a card through an interface, both speak of
// them. It is a package of its own so that the centre, a server role, need
// not import the card.
package jpkiap

import "fmt"

// Purpose names one of the card's two key pairs and certificates.
type Purpose int

const (
	// Auth is the 利用者証明用 key: EF 0017, certificate 000A, CA 000B,
	// guarded by the 4-digit auth PIN (EF 0018).
	Auth Purpose = iota + 1
	// Sign is the 署名用 key: EF 001A, certificate 0001, CA 0002, guarded by
	// the signing password (EF 001B).
	Sign
)

func (p Purpose) String() string {
	switch p {
	case Auth:
		return "auth"
	case Sign:
		return "sign"
	}
	return fmt.Sprintf("Purpose(%d)", int(p))
}

// Valid reports whether p is Auth or Sign.
func (p Purpose) Valid() bool { return p == Auth || p == Sign }
