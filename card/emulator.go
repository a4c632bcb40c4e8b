package card

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"

	"github.com/mynaplat/mynaplat/apdu"
)

// Instruction bytes (ISO/IEC 7816-4 §5.4; 2A with CLA 80 is the card's own).
const (
	insVerify        = 0x20
	insChangeRefData = 0x24
	insSign          = 0x2A
	insSelect        = 0xA4
	insReadBinary    = 0xB0
)

// Transmit processes one command APDU and returns the response APDU, as the
// chip would. The response is always at least SW1-SW2. err is non-nil only
// when a change of persistent state (a try counter, a PIN) could not be
// written; the response is then 6581 (memory failure) and the command took no
// effect, except that a wrong PIN still costs its try in memory, so a failing
// disk can never be used to guess PINs without limit.
func (c *Card) Transmit(cmd []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	data, sw, err := c.process(cmd)
	if err != nil {
		return apdu.Response{SW: apdu.MemoryFailure}.Bytes(), fmt.Errorf("card %s: %w", c.st.ID, err)
	}
	return apdu.Response{Data: data, SW: sw}.Bytes(), nil
}

func (c *Card) process(raw []byte) ([]byte, apdu.StatusWord, error) {
	cmd, err := apdu.Parse(raw)
	if err != nil {
		return nil, apdu.WrongLength, nil
	}
	// CLA (ISO/IEC 7816-4 §5.4.1): bits b4-b3 ask for secure messaging, which
	// the card does not offer here; only 00 (interindustry) and 80
	// (proprietary, for COMPUTE DIGITAL SIGNATURE) are known.
	if cmd.CLA&0x70 == 0 && cmd.CLA&0x0C != 0 {
		return nil, apdu.SecureMessagingUnsupp, nil
	}
	switch {
	case cmd.CLA == 0x00 && cmd.INS == insSelect:
		return nil, c.selectFile(cmd), nil
	case cmd.CLA == 0x00 && cmd.INS == insReadBinary:
		d, sw := c.readBinary(cmd)
		return d, sw, nil
	case cmd.CLA == 0x00 && cmd.INS == insVerify:
		sw, err := c.verify(cmd)
		return nil, sw, err
	case cmd.CLA == 0x00 && cmd.INS == insChangeRefData:
		sw, err := c.changeRefData(cmd)
		return nil, sw, err
	case cmd.CLA == 0x00 && cmd.INS == insGetChallenge:
		d, sw := c.getChallenge(cmd)
		return d, sw, nil
	case cmd.CLA == 0x00 && cmd.INS == insExternalAuth:
		return nil, c.externalAuth(cmd), nil
	case cmd.CLA == 0x00 && cmd.INS == insResetRetry:
		sw, err := c.resetRetry(cmd)
		return nil, sw, err
	case cmd.CLA == 0x80 && cmd.INS == insSign:
		d, sw := c.sign(cmd)
		return d, sw, nil
	case cmd.CLA == 0x00 && cmd.INS == insSign:
		// The card signs only with its proprietary class.
		return nil, apdu.CLANotSupported, nil
	case cmd.CLA == 0x00 || cmd.CLA == 0x80:
		// GET DATA (CA, CB) and the rest: OpenSC's other
		// drivers probe with these and must be told no (jpki-card.md §6).
		return nil, apdu.INSNotSupported, nil
	}
	return nil, apdu.CLANotSupported, nil
}

// efKind says what an EF is.
type efKind int

const (
	efData        efKind = iota + 1 // transparent, readable
	efPIN                           // PIN reference data, VERIFY target
	efKey                           // private key, signing target
	efPINUnusable                   // a PIN this emulator does not implement
)

// lookupEF finds an EF of the current AP. Certificate and key EFs exist only
// once they have been written, so a card without a signing certificate answers
// 6A82 to SELECT 0001, which the driver reports as ErrNotFound.
func (c *Card) lookupEF(fid uint16) (efKind, bool) {
	s := &c.st
	switch c.ap {
	case apJPKI:
		switch fid {
		case efSignCert:
			return efData, s.Sign.Cert != nil
		case efSignCACert:
			return efData, s.Sign.CACert != nil
		case efAuthCert:
			return efData, s.Auth.Cert != nil
		case efAuthCACert:
			return efData, s.Auth.CACert != nil
		case efTokenInfo, efAvailability:
			return efData, true
		case efAuthKey:
			return efKey, c.keys[Auth] != nil
		case efSignKey:
			return efKey, c.keys[Sign] != nil
		case efAuthPIN, efSignPIN:
			return efPIN, true
		}
	case apText:
		switch fid {
		case efMyNumber, efAttributes:
			return efData, true
		case efTextIntegrity, efCVCert, efTextInfo:
			return efData, c.issuer != nil
		case efTextPIN, efTextPINA, efTextPINB:
			return efPIN, true
		case efTextBlocked:
			return efPINUnusable, true
		}
	case apVisual:
		switch fid {
		case efAgeRecord, efCardFace, efVisualInfo, efCVCert, efMyNumberImage:
			return efData, c.issuer != nil
		case efVisualBirth, efVisualPINA, efVisualPINB:
			return efPIN, true
		}
	}
	return 0, false
}

// pinOf maps a PIN EF of the current AP to its PIN.
func (c *Card) pinOf(fid uint16) PIN {
	switch {
	case c.ap == apJPKI && fid == efAuthPIN:
		return AuthPIN
	case c.ap == apJPKI && fid == efSignPIN:
		return SignPIN
	case c.ap == apText && fid == efTextPIN:
		return TextPIN
	case c.ap == apText && fid == efTextPINA:
		return TextPINA
	case c.ap == apText && fid == efTextPINB:
		return TextPINB
	case c.ap == apVisual && fid == efVisualPINA:
		return VisualPINA
	case c.ap == apVisual && fid == efVisualPINB:
		return VisualPINB
	case c.ap == apVisual && fid == efVisualBirth:
		return VisualBirth
	}
	return 0
}

// content returns the bytes of a readable EF, or the status word that
// forbids reading it.
func (c *Card) content(fid uint16) ([]byte, apdu.StatusWord) {
	kind, ok := c.lookupEF(fid)
	switch {
	case !ok:
		return nil, apdu.FileNotFound
	case kind != efData:
		return nil, apdu.IncompatibleFile
	}
	s := &c.st
	if c.ap == apText || c.ap == apVisual {
		return c.surfaceContent(fid)
	}
	switch fid {
	case efSignCert:
		// The signing certificate holds the holder's name and address, so
		// the card shows it only to whoever knows the password.
		if !c.verified[SignPIN] {
			return nil, apdu.SecurityStatus
		}
		return s.Sign.Cert, apdu.OK
	case efSignCACert:
		return s.Sign.CACert, apdu.OK
	case efAuthCert:
		return s.Auth.Cert, apdu.OK
	case efAuthCACert:
		return s.Auth.CACert, apdu.OK
	case efTokenInfo:
		return tokenInfo(), apdu.OK
	}
	return availability(s.Auth.Cert != nil, s.Sign.Cert != nil), apdu.OK
}

// selectFile is SELECT (ISO/IEC 7816-4 §7.1.1) with the JPKI card's quirks
// (jpki-card.md §3.1).
func (c *Card) selectFile(cmd apdu.Command) apdu.StatusWord {
	switch cmd.P1 {
	case 0x04: // by DF name
		if cmd.P2 != 0x0C && cmd.P2 != 0x00 {
			return apdu.IncorrectP1P2
		}
		var ap application
		switch {
		case bytes.Equal(cmd.Data, aidJPKI):
			ap = apJPKI
		case bytes.Equal(cmd.Data, aidText):
			ap = apText
		case bytes.Equal(cmd.Data, aidVisual):
			ap = apVisual
		case len(cmd.Data) == 0:
			return apdu.WrongLength
		default:
			// OpenSC's other drivers probe with their own AIDs; answering
			// anything but 6A82 would make one of them claim the card.
			return apdu.FileNotFound
		}
		// Selecting an AP is also how clients log out: it clears the
		// security state, even when the AP was already current.
		c.clearSession()
		c.ap = ap
		return apdu.OK
	case 0x02: // EF under the current DF
		if cmd.P2 != 0x0C && cmd.P2 != 0x00 {
			return apdu.IncorrectP1P2
		}
		if len(cmd.Data) != 2 {
			return apdu.WrongLength
		}
		fid := uint16(cmd.Data[0])<<8 | uint16(cmd.Data[1])
		if _, ok := c.lookupEF(fid); !ok {
			return apdu.FileNotFound
		}
		c.ef, c.hasEF = fid, true
		return apdu.OK
	case 0x00: // MF
		if len(cmd.Data) != 0 {
			// Selecting 3F00 (or anything) by FID fails on the real card.
			return apdu.FileNotFound
		}
		if c.ap == apNone {
			return apdu.IncorrectP1P2 // the real card's answer right after reset
		}
		return apdu.OK // with an AP current: success, nothing changes
	}
	return apdu.IncorrectP1P2
}

// readBinary is READ BINARY (ISO/IEC 7816-4 §7.2.3), offset in P1-P2 (15 bits)
// or, with P1 bit 8 set, a short EF identifier in P1 b5-b1 and an 8-bit offset.
func (c *Card) readBinary(cmd apdu.Command) ([]byte, apdu.StatusWord) {
	if len(cmd.Data) != 0 || cmd.Le == 0 {
		return nil, apdu.WrongLength
	}
	var fid uint16
	var off int
	if cmd.P1&0x80 != 0 {
		sfi := cmd.P1 & 0x1F
		if cmd.P1&0x60 != 0 || sfi == 0 {
			return nil, apdu.IncorrectP1P2
		}
		fid, off = uint16(sfi), int(cmd.P2)
		if _, ok := c.lookupEF(fid); !ok {
			return nil, apdu.FileNotFound
		}
		c.ef, c.hasEF = fid, true // §7.2.2: the EF becomes current
	} else {
		if !c.hasEF {
			return nil, apdu.NoCurrentEF
		}
		fid, off = c.ef, int(cmd.P1)<<8|int(cmd.P2)
	}
	b, sw := c.content(fid)
	if sw != apdu.OK {
		return nil, sw
	}
	if off >= len(b) {
		return nil, apdu.WrongParamsOffset
	}
	n := min(cmd.Le, len(b)-off)
	return bytes.Clone(b[off : off+n]), apdu.OK
}

// pinTarget resolves P2 of VERIFY and CHANGE REFERENCE DATA: 80 is the PIN of
// the current EF, 80|SFI names the PIN EF directly (jpki-card.md §3.3).
func (c *Card) pinTarget(p2 byte) (fid uint16, kind efKind, sw apdu.StatusWord) {
	switch {
	case p2 == 0x80:
		if !c.hasEF {
			return 0, 0, apdu.NoCurrentEF
		}
		fid = c.ef
	case p2&0xE0 == 0x80:
		fid = uint16(p2 & 0x1F)
	default:
		return 0, 0, apdu.IncorrectP1P2
	}
	kind, ok := c.lookupEF(fid)
	if !ok || (kind != efPIN && kind != efPINUnusable) {
		return 0, 0, apdu.RefDataNotFound
	}
	return fid, kind, apdu.OK
}

// verify is VERIFY (ISO/IEC 7816-4 §7.5.6; JICSAP 6.4.9).
func (c *Card) verify(cmd apdu.Command) (apdu.StatusWord, error) {
	if cmd.P1 != 0x00 {
		return apdu.IncorrectP1P2, nil
	}
	fid, kind, sw := c.pinTarget(cmd.P2)
	if sw != apdu.OK {
		return sw, nil
	}
	if kind == efPINUnusable {
		// Text EF 0012 is blocked on issue (jpki-card.md §7): 63C0 to the
		// query, 6984 to a VERIFY.
		if len(cmd.Data) == 0 {
			return apdu.Retries(0), nil
		}
		return apdu.RefDataNotUsable, nil
	}
	ref := c.pinOf(fid)
	p := c.st.slot(ref)
	if len(cmd.Data) == 0 {
		// Retry query. Always 63Cx, 63C0 when blocked: OpenSC's JPKI
		// binding needs SW1 = 63 from both PINs (jpki-card.md §3.3).
		if !p.usable() {
			return apdu.Retries(0), nil
		}
		return apdu.Retries(p.TriesLeft), nil
	}
	if !p.usable() {
		return apdu.RefDataNotUsable, nil
	}
	if ref.Derived() && len(cmd.Data) != derivedLen(ref) {
		// A printed key has one length (12, 14 or 6 digits): anything else
		// is refused before the comparison and costs no try.
		return apdu.WrongLength, nil
	}
	if subtle.ConstantTimeCompare(cmd.Data, []byte(p.Value)) == 1 {
		if p.TriesLeft != ref.MaxTries() {
			if err := c.commit(func(s *state) { s.setTries(ref, ref.MaxTries()) }); err != nil {
				return 0, fmt.Errorf("reset %s tries: %w", ref, err)
			}
		}
		c.verified[ref] = true
		return apdu.OK, nil
	}
	// A wrong PIN revokes an earlier verification (ISO/IEC 7816-4 §7.5.6),
	// and its try must be on disk before the answer leaves the card.
	c.verified[ref] = false
	left := p.TriesLeft - 1
	if err := c.commit(func(s *state) { s.setTries(ref, left) }); err != nil {
		c.st.setTries(ref, left)
		return 0, fmt.Errorf("save %s tries: %w", ref, err)
	}
	return apdu.Retries(left), nil
}

// changeRefData is CHANGE REFERENCE DATA with P1 = 01: only the new PIN is
// sent, and the old one must have been verified in this session.
func (c *Card) changeRefData(cmd apdu.Command) (apdu.StatusWord, error) {
	return c.newRefData(cmd, 0x01, func(ref PIN) apdu.StatusWord {
		switch {
		case ref.Derived():
			// A printed key is the card's data, not the holder's choice.
			return apdu.ConditionsNotSatisfied
		case !c.st.pin(ref).usable():
			return apdu.RefDataNotUsable
		case !c.verified[ref]:
			return apdu.SecurityStatus
		}
		return apdu.OK
	})
}

// newRefData sets a PIN from the data of a command with P1 = p1 and P2 as
// for VERIFY (CHANGE REFERENCE DATA, RESET RETRY COUNTER) once allowed says
// the session may: the new PIN with its tries at the maximum. No data is
// 6700; a new PIN of the wrong format is 6A80.
func (c *Card) newRefData(cmd apdu.Command, p1 byte, allowed func(PIN) apdu.StatusWord) (apdu.StatusWord, error) {
	if cmd.P1 != p1 {
		return apdu.IncorrectP1P2, nil
	}
	fid, kind, sw := c.pinTarget(cmd.P2)
	if sw != apdu.OK {
		return sw, nil
	}
	if kind == efPINUnusable {
		return apdu.RefDataNotUsable, nil
	}
	if len(cmd.Data) == 0 {
		return apdu.WrongLength, nil
	}
	ref := c.pinOf(fid)
	if sw := allowed(ref); sw != apdu.OK {
		return sw, nil
	}
	newPIN := string(cmd.Data)
	if ValidatePIN(ref, newPIN) != nil {
		return apdu.WrongData, nil
	}
	if ref.Derived() {
		// A printed key cannot be changed: the counter unblocks it by
		// presenting its value (which it reads off the card's face).
		if subtle.ConstantTimeCompare([]byte(newPIN), []byte(c.st.derivedValue(ref))) != 1 {
			return apdu.WrongData, nil
		}
		if err := c.commit(func(s *state) { s.setTries(ref, ref.MaxTries()) }); err != nil {
			return 0, fmt.Errorf("reset %s tries: %w", ref, err)
		}
		return apdu.OK, nil
	}
	err := c.commit(func(s *state) { *s.pin(ref) = pinSlot{Value: newPIN, TriesLeft: ref.MaxTries()} })
	if err != nil {
		return 0, fmt.Errorf("save new %s: %w", ref, err)
	}
	return apdu.OK, nil
}

// sign is COMPUTE DIGITAL SIGNATURE, 80 2A P1 P2 (jpki-card.md §3.4): P1 is
// the scheme, P2 80 the current EF or 97/9A the auth/sign key by SFI.
func (c *Card) sign(cmd apdu.Command) ([]byte, apdu.StatusWord) {
	if cmd.P1 > 0x05 {
		return nil, apdu.IncorrectP1P2
	}
	var fid uint16
	switch cmd.P2 {
	case 0x80:
		if !c.hasEF {
			return nil, apdu.SecurityStatus
		}
		fid = c.ef
	case 0x80 | byte(efAuthKey), 0x80 | byte(efSignKey):
		fid = uint16(cmd.P2 & 0x1F)
	default:
		return nil, apdu.IncorrectP1P2
	}
	if c.ap != apJPKI || (fid != efAuthKey && fid != efSignKey) {
		return nil, apdu.SecurityStatus
	}
	purpose, ref := Auth, AuthPIN
	if fid == efSignKey {
		purpose, ref = Sign, SignPIN
	}
	key := c.keys[purpose]
	if key == nil {
		return nil, apdu.RefDataNotFound
	}
	if !c.verified[ref] {
		return nil, apdu.SecurityStatus
	}
	d := cmd.Data
	if len(d) == 0 {
		return nil, apdu.WrongLength
	}
	var sig []byte
	var err error
	switch cmd.P1 {
	case 0x00: // pad what was sent (a DigestInfo, normally)
		if len(d) > 245 { // k - 11 for a 256-byte modulus
			return nil, apdu.ConditionsNotSatisfied
		}
		sig, err = rsa.SignPKCS1v15(nil, key, 0, d)
	case 0x01: // SHA-256 on card, bare hash padded
		h := sha256.Sum256(d)
		sig, err = rsa.SignPKCS1v15(nil, key, 0, h[:])
	case 0x02: // given SHA-256, wrapped in a DigestInfo
		if len(d) != sha256.Size {
			return nil, apdu.WrongLength
		}
		sig, err = rsa.SignPKCS1v15(nil, key, crypto.SHA256, d)
	case 0x03: // SHA-256 + DigestInfo on card
		h := sha256.Sum256(d)
		sig, err = rsa.SignPKCS1v15(nil, key, crypto.SHA256, h[:])
	case 0x04, 0x05: // RSASSA-PSS over a given / computed SHA-256; salt = hash length
		h := d
		if cmd.P1 == 0x05 {
			s := sha256.Sum256(d)
			h = s[:]
		} else if len(d) != sha256.Size {
			return nil, apdu.WrongLength
		}
		sig, err = rsa.SignPSS(rand.Reader, key, crypto.SHA256, h, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	}
	if err != nil {
		return nil, apdu.NoPreciseDiagnosis
	}
	return sig, apdu.OK
}
