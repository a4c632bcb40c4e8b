package card

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"sync"
)

// Transport carries command APDUs to a card and brings back its response
// APDU (data‖SW1‖SW2). *Card, a PC/SC reader (package card/pcsc) and test
// doubles implement it.
type Transport interface {
	Transmit(cmd []byte) ([]byte, error)
}

var _ Transport = (*Card)(nil)

// Card is one emulated My Number Card: its persistent memory and the
// volatile session state of the chip (current application and EF, PINs
// verified since the last reset). It is safe for concurrent use, but like a
// real card it has a single session: two clients interleaving commands see
// each other's SELECTs.
type Card struct {
	mu   sync.Mutex
	st   state
	keys map[Purpose]*rsa.PrivateKey
	// save writes the state durably; nil for a card that lives only in
	// memory (tests, fuzzing).
	save func(*state) error
	// mgmtKey is the card's management key (manage.go), nil for a card
	// no counter can reset.
	mgmtKey []byte
	// issuer returns the card issuer's keys for the 券面 APs' signed files
	// (surface.go); nil for a card without them, whose issuer files are
	// then absent (6A82).
	issuer func() (*Issuer, error)
	// files caches the issuer files built from the state; cleared by
	// every change of state.
	files map[fileKey][]byte

	// Session state, cleared by reset, power-off and SELECT of an AP.
	ap        application
	ef        uint16
	hasEF     bool
	verified  map[PIN]bool
	challenge []byte // the last GET CHALLENGE's, until EXTERNAL AUTHENTICATE
	mgmtAuth  bool   // the management key was proven
}

func newCard(st state, save func(*state) error) (*Card, error) {
	keys, err := stateKeys(&st)
	if err != nil {
		return nil, err
	}
	return &Card{st: st, save: save, keys: keys, verified: map[PIN]bool{}}, nil
}

// stateKeys parses the private keys a card's state holds.
func stateKeys(st *state) (map[Purpose]*rsa.PrivateKey, error) {
	keys := map[Purpose]*rsa.PrivateKey{}
	for _, p := range []Purpose{Auth, Sign} {
		if der := st.key(p).Key; der != nil {
			k, err := parseKey(der)
			if err != nil {
				return nil, fmt.Errorf("card %s: %s key: %w", st.ID, p, err)
			}
			keys[p] = k
		}
	}
	return keys, nil
}

// ID returns the card's store ID.
func (c *Card) ID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st.ID
}

// Info returns what may be shown about the card (see Info).
func (c *Card) Info() Info {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st.info()
}

// ATR returns the card's answer to reset.
func (c *Card) ATR() []byte { return ATR() }

// Reset is a warm reset: the chip forgets the current AP and EF and every
// verified PIN. Persistent state (tries left) is untouched.
func (c *Card) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clearSession()
}

// PowerOff removes power; for the emulator it is the same as Reset.
func (c *Card) PowerOff() { c.Reset() }

func (c *Card) clearSession() {
	c.ap = apNone
	c.hasEF = false
	c.ef = 0
	clear(c.verified)
	c.challenge, c.mgmtAuth = nil, false
}

// commit applies change to a copy of the state, writes the copy durably and
// only then makes it the card's state, so a failed write leaves the card as
// it was. Callers hold c.mu.
func (c *Card) commit(change func(*state)) error {
	next := c.st
	change(&next)
	if c.save != nil {
		if err := c.save(&next); err != nil {
			return err
		}
	}
	c.st = next
	clear(c.files)
	return nil
}

// --- Personalisation: what the municipal counter's terminal does to a card,
// outside the APDU interface. ---

// GenerateKey makes a new RSA-2048 (e = 65537) key pair inside the card for p,
// replacing any old one. The old certificate and CA certificate are removed,
// since they no longer match. PIN tries are left as they are.
func (c *Card) GenerateKey(p Purpose) (*rsa.PublicKey, error) {
	if !p.Valid() {
		return nil, fmt.Errorf("%w: purpose %d", ErrInvalidSpec, int(p))
	}
	// Generate outside the lock: it takes long, and the card keeps answering.
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("card: generate %s key: %w", p, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("card: encode %s key: %w", p, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.commit(func(s *state) { *s.key(p) = keySlot{Key: der} }); err != nil {
		return nil, fmt.Errorf("card: save %s key: %w", p, err)
	}
	c.keys[p] = k
	return &k.PublicKey, nil
}

// WriteCertificate writes the certificate for p and its CA certificate. Both
// must be single DER certificates with the 30 82 header OpenSC relies on
// (jpki-card.md §3.2), and cert must certify the card's current key for p.
func (c *Card) WriteCertificate(p Purpose, cert, caCert []byte) error {
	if !p.Valid() {
		return fmt.Errorf("%w: purpose %d", ErrInvalidSpec, int(p))
	}
	leaf, err := checkCertDER(cert)
	if err != nil {
		return fmt.Errorf("card: %s certificate: %w", p, err)
	}
	if _, err := checkCertDER(caCert); err != nil {
		return fmt.Errorf("card: %s CA certificate: %w", p, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	k := c.keys[p]
	if k == nil {
		return fmt.Errorf("card: write %s certificate: %w", p, ErrNoKey)
	}
	if pub, ok := leaf.PublicKey.(*rsa.PublicKey); !ok || !pub.Equal(&k.PublicKey) {
		return fmt.Errorf("%w: %s certificate does not certify the card's %s key", ErrInvalidSpec, p, p)
	}
	err = c.commit(func(s *state) {
		ks := s.key(p)
		*ks = keySlot{Key: ks.Key, Cert: bytes.Clone(cert), CACert: bytes.Clone(caCert)}
	})
	if err != nil {
		return fmt.Errorf("card: save %s certificate: %w", p, err)
	}
	return nil
}

func checkCertDER(der []byte) (*x509.Certificate, error) {
	if len(der) < 4 || der[0] != 0x30 || der[1] != 0x82 || int(der[2])<<8|int(der[3]) != len(der)-4 {
		return nil, fmt.Errorf("%w: not a DER certificate starting 30 82 with its exact length", ErrInvalidSpec)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidSpec, err)
	}
	return cert, nil
}

// RemoveCertificate removes the certificate, CA certificate and key pair of
// p, as the counter does when a signing certificate is revoked (a change of
// name or address) or the holder gives it up: without a certificate the key is
// of no use, and a new one is generated on reissue.
func (c *Card) RemoveCertificate(p Purpose) error {
	if !p.Valid() {
		return fmt.Errorf("%w: purpose %d", ErrInvalidSpec, int(p))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.commit(func(s *state) { *s.key(p) = keySlot{} }); err != nil {
		return fmt.Errorf("card: remove %s certificate: %w", p, err)
	}
	delete(c.keys, p)
	return nil
}

// SetSurface rewrites the name and address in the text AP, after a change
// recorded at the counter. Birth date and sex do not change.
func (c *Card) SetSurface(name, address string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.st.Attrs
	a.Name, a.Address = name, address
	if err := validateAttributes(a); err != nil {
		return err
	}
	if err := c.commit(func(s *state) { s.Attrs = a }); err != nil {
		return fmt.Errorf("card: save attributes: %w", err)
	}
	return nil
}

// ResetPIN sets a new PIN and restores its tries, as only the municipal
// counter can (it also unblocks the PIN). The signing password is
// upper-cased first.
func (c *Card) ResetPIN(ref PIN, newPIN string) error {
	newPIN = normalizePIN(ref, newPIN)
	if err := ValidatePIN(ref, newPIN); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	change := func(s *state) { *s.pin(ref) = pinSlot{Value: newPIN, TriesLeft: ref.MaxTries()} }
	if ref.Derived() {
		// A printed key keeps its value; only its tries are restored.
		if newPIN != c.st.derivedValue(ref) {
			return fmt.Errorf("%w: %s is not the value printed on the card", ErrPINFormat, ref)
		}
		change = func(s *state) { s.setTries(ref, ref.MaxTries()) }
	}
	if err := c.commit(change); err != nil {
		return fmt.Errorf("card: save %s: %w", ref, err)
	}
	c.verified[ref] = false
	return nil
}
