package card

import (
	"bytes"
	"crypto/aes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/mynaplat/mynaplat/apdu"
)

// The card's management: how only the municipal counter resets a PIN.
//
// A real My Number Card unblocks and resets a PIN only under the card
// issuer's administrative key, which the municipality's terminal holds in a
// secure module and which no resident's software ever has. The emulator
// models that with ISO/IEC 7816-4 commands:
//
//	GET CHALLENGE          00 84 00 00 08            → 8 random bytes
//	EXTERNAL AUTHENTICATE  00 82 00 81 10 <cryptogram>
//	RESET RETRY COUNTER    00 2C 02 P2 Lc <new PIN>  (P2 as for VERIFY)
//
// The cryptogram is AES-256 of the challenge followed by eight zero bytes,
// under the card's management key (key reference 81). That key is
// HMAC-SHA256 of the issuer's master key and the card ID (key
// diversification, as issuers do), so a leaked card key opens one card only.
// The master key is the SAM's: in this emulation the card store plays both
// the card factory, which puts each card's key into the chip, and the
// counter's secure module, so the master lives in the store's directory
// (management.key, mode 0600) and the counter gets it as a *SAM; the
// residents' tools (Client, OpenSC) speak APDUs and have no key.
//
// P1 = 02 of RESET RETRY COUNTER is ISO's "new reference data only": the
// proven management key stands in for a resetting code (PUK), which the
// card does not have. Without the proof in this AP session the card answers
// 6982; a challenge is good for one EXTERNAL AUTHENTICATE, whose wrong
// cryptogram answers 6300. A reset sets the new PIN and its tries back to the
// maximum, so it also unblocks the PIN. SELECT of an AP, reset and power-off
// end the proof, as they end a verified PIN.

// Instruction bytes of the management commands (ISO/IEC 7816-4 §7.5.10,
// §7.5.4, §7.5.3).
const (
	insResetRetry   = 0x2C
	insExternalAuth = 0x82
	insGetChallenge = 0x84
)

const (
	challengeLen = 8
	// mgmtKeyRef is EXTERNAL AUTHENTICATE's P2: a specific key (bit 8), number 1.
	mgmtKeyRef = 0x81
	// p1NewRefData is RESET RETRY COUNTER's P1 for "new reference data only".
	p1NewRefData = 0x02
	// swAuthFailed is ISO/IEC 7816-4's 6300: authentication failed.
	swAuthFailed apdu.StatusWord = 0x6300
)

// ErrNotAuthorised: the card refused a reset without a proven management key
// (6982), or the cryptogram was wrong (6300).
var ErrNotAuthorised = errors.New("card: the counter's management key was not accepted")

// SAM is the counter's secure access module: it holds the issuer's master key
// and answers a card's challenge with the cryptogram that proves the card's
// management key, without the key ever leaving it.
type SAM struct{ master []byte }

// NewSAM returns a SAM holding master (at least 32 bytes).
func NewSAM(master []byte) (*SAM, error) {
	if len(master) < 32 {
		return nil, errors.New("card: the management master key must be at least 32 bytes")
	}
	return &SAM{master: bytes.Clone(master)}, nil
}

// cardKey is the management key of the card with ID id.
func (s *SAM) cardKey(id string) []byte {
	m := hmac.New(sha256.New, s.master)
	m.Write([]byte("mynaplat card management key\x00" + id))
	return m.Sum(nil)
}

// Authenticator returns what Client.ResetPIN needs for the card id: the
// cryptogram of a challenge.
func (s *SAM) Authenticator(id string) func(challenge []byte) ([]byte, error) {
	return func(challenge []byte) ([]byte, error) {
		if len(challenge) != challengeLen {
			return nil, fmt.Errorf("card: a challenge of %d bytes, want %d", len(challenge), challengeLen)
		}
		return cryptogram(s.cardKey(id), challenge), nil
	}
}

// cryptogram is AES-256 of challenge‖00×8 under key.
func cryptogram(key, challenge []byte) []byte {
	b, err := aes.NewCipher(key)
	if err != nil {
		panic(err) // key is always 32 bytes
	}
	in := make([]byte, aes.BlockSize)
	copy(in, challenge)
	out := make([]byte, aes.BlockSize)
	b.Encrypt(out, in)
	return out
}

// managementKeyFile is the master key's file in a store's directory.
const managementKeyFile = "management.key"

// loadSAM reads the store's master key, making it on first use. O_EXCL lets
// two processes opening a new store agree on one key.
func loadSAM(dir string) (*SAM, error) {
	path := filepath.Join(dir, managementKeyFile)
	for range 2 {
		b, err := os.ReadFile(path)
		if err == nil {
			return NewSAM(b)
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("card: management key: %w", err)
		}
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path+".new", os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return nil, fmt.Errorf("card: management key: %w", err)
		}
		_, werr := f.Write(key)
		if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
			return nil, fmt.Errorf("card: management key: %w", err)
		}
		// Link, not rename: the first process to make the key wins and
		// every other reads that one.
		err = os.Link(path+".new", path)
		os.Remove(path + ".new")
		if err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("card: management key: %w", err)
		}
	}
	return nil, errors.New("card: management key: could not be made")
}

// getChallenge is GET CHALLENGE (ISO/IEC 7816-4 §7.5.3). With no AP current
// the card answers 6D00 as before, which is what OpenSC's other drivers
// expect of it while they probe (jpki-card.md §6).
func (c *Card) getChallenge(cmd apdu.Command) ([]byte, apdu.StatusWord) {
	if c.ap == apNone {
		return nil, apdu.INSNotSupported
	}
	if cmd.P1 != 0 || cmd.P2 != 0 {
		return nil, apdu.IncorrectP1P2
	}
	if len(cmd.Data) != 0 || cmd.Le != challengeLen {
		return nil, apdu.WrongLength
	}
	ch := make([]byte, challengeLen)
	if _, err := rand.Read(ch); err != nil {
		return nil, apdu.NoPreciseDiagnosis
	}
	c.challenge = ch
	return bytes.Clone(ch), apdu.OK
}

// externalAuth is EXTERNAL AUTHENTICATE (ISO/IEC 7816-4 §7.5.4) with the
// management key. The challenge is spent by any well-formed try.
func (c *Card) externalAuth(cmd apdu.Command) apdu.StatusWord {
	if cmd.P1 != 0 {
		return apdu.IncorrectP1P2
	}
	if cmd.P2 != mgmtKeyRef || c.mgmtKey == nil {
		return apdu.RefDataNotFound
	}
	if len(cmd.Data) != aes.BlockSize || cmd.Le != 0 {
		return apdu.WrongLength
	}
	ch := c.challenge
	c.challenge = nil
	if ch == nil {
		return apdu.ConditionsNotSatisfied
	}
	if subtle.ConstantTimeCompare(cmd.Data, cryptogram(c.mgmtKey, ch)) != 1 {
		c.mgmtAuth = false
		return swAuthFailed
	}
	c.mgmtAuth = true
	return apdu.OK
}

// resetRetry is RESET RETRY COUNTER (ISO/IEC 7816-4 §7.5.10) with P1 = 02:
// the new PIN, under the proven management key. A PIN verified before is
// verified no more.
func (c *Card) resetRetry(cmd apdu.Command) (apdu.StatusWord, error) {
	var target PIN
	sw, err := c.newRefData(cmd, p1NewRefData, func(ref PIN) apdu.StatusWord {
		if !c.mgmtAuth {
			return apdu.SecurityStatus
		}
		target = ref
		return apdu.OK
	})
	if sw == apdu.OK && err == nil {
		c.verified[target] = false
	}
	return sw, err
}

// ResetPIN has the card set newPIN for ref and its tries back to the
// maximum (unblocking it), as the municipal counter does: GET CHALLENGE,
// EXTERNAL AUTHENTICATE with the cryptogram from auth (the counter's SAM),
// RESET RETRY COUNTER. The signing password is upper-cased; the format is
// checked before anything is sent. A refused proof is ErrNotAuthorised.
func (c *Client) ResetPIN(ref PIN, newPIN string, auth func(challenge []byte) ([]byte, error)) error {
	newPIN = normalizePIN(ref, newPIN)
	if err := ValidatePIN(ref, newPIN); err != nil {
		return err
	}
	ap, fid, err := pinEF(ref)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.selectEF(ap, fid); err != nil {
		return err
	}
	ch, err := c.exchange("GET CHALLENGE", apdu.Command{INS: insGetChallenge, Le: challengeLen})
	if err != nil {
		return err
	}
	crypt, err := auth(ch)
	if err != nil {
		return err
	}
	resp, err := c.transmit(apdu.Command{INS: insExternalAuth, P2: mgmtKeyRef, Data: crypt})
	if err != nil {
		return err
	}
	switch resp.SW {
	case apdu.OK:
	case swAuthFailed:
		return fmt.Errorf("%w: %w", ErrNotAuthorised, &apdu.StatusError{SW: resp.SW, Op: "EXTERNAL AUTHENTICATE"})
	default:
		return statusError("EXTERNAL AUTHENTICATE", resp.SW)
	}
	resp, err = c.transmit(apdu.Command{INS: insResetRetry, P1: p1NewRefData, P2: 0x80, Data: []byte(newPIN)})
	if err != nil {
		return err
	}
	if resp.SW == apdu.SecurityStatus {
		return fmt.Errorf("%w: %w", ErrNotAuthorised, &apdu.StatusError{SW: resp.SW, Op: "RESET RETRY COUNTER"})
	}
	return refDataError("RESET RETRY COUNTER "+ref.String(), resp.SW)
}
