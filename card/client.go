package card

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/mynaplat/mynaplat/apdu"
)

// PINError is a wrong PIN: the card said how many tries are left. It matches
// ErrWrongPIN with errors.Is, and also ErrPINBlocked when that try used up
// the last one.
type PINError struct {
	PIN       PIN
	TriesLeft int
}

func (e *PINError) Error() string {
	if e.TriesLeft == 0 {
		return fmt.Sprintf("card: wrong %s, now blocked", e.PIN)
	}
	return fmt.Sprintf("card: wrong %s, %d tries left", e.PIN, e.TriesLeft)
}

// Is makes errors.Is(err, ErrWrongPIN) true, and errors.Is(err,
// ErrPINBlocked) true once no tries are left.
func (e *PINError) Is(target error) bool {
	return target == ErrWrongPIN || (target == ErrPINBlocked && e.TriesLeft == 0)
}

// Client is the driver: it speaks to a My Number Card (or the emulator) only
// in APDUs over a Transport, the way OpenSC and jpki/myna do (jpki-card.md §3).
//
// It remembers which AP it selected last and does not select it again, because
// SELECT of an AP clears the card's security state: VerifyPIN(SignPIN, …)
// followed by Certificate(Sign) must run in the same AP session. A Client is
// safe for concurrent use; its methods are serialised.
type Client struct {
	mu sync.Mutex
	t  Transport
	ap application
}

// NewClient returns a driver talking through t.
func NewClient(t Transport) *Client { return &Client{t: t} }

// Logout selects the JPKI AP again, which clears every verified PIN on the card.
func (c *Client) Logout() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ap = apNone
	return c.selectAP(apJPKI)
}

// transmit sends cmd and returns the response; transport failures forget the
// selected AP, since the card may have been reset.
func (c *Client) transmit(cmd apdu.Command) (apdu.Response, error) {
	raw, err := cmd.Encode()
	if err != nil {
		return apdu.Response{}, err
	}
	out, err := c.t.Transmit(raw)
	if err != nil {
		c.ap = apNone
		return apdu.Response{}, fmt.Errorf("card: transmit %s: %w", cmd, err)
	}
	resp, err := apdu.ParseResponse(out)
	if err != nil {
		c.ap = apNone
		return apdu.Response{}, err
	}
	return resp, nil
}

// statusError maps a status word to the driver's errors; the *apdu.StatusError
// is always in the chain.
func statusError(op string, sw apdu.StatusWord) error {
	se := &apdu.StatusError{SW: sw, Op: op}
	switch sw {
	case apdu.SecurityStatus:
		return fmt.Errorf("%w: %w", ErrSecurityStatus, se)
	case apdu.FileNotFound:
		return fmt.Errorf("%w: %w", ErrNotFound, se)
	case apdu.RefDataNotUsable, apdu.AuthMethodBlocked:
		return fmt.Errorf("%w: %w", ErrPINBlocked, se)
	}
	return se
}

// exchange sends cmd and returns its data, or an error for any SW but 9000.
func (c *Client) exchange(op string, cmd apdu.Command) ([]byte, error) {
	resp, err := c.transmit(cmd)
	if err != nil {
		return nil, err
	}
	if resp.SW != apdu.OK {
		return nil, statusError(op, resp.SW)
	}
	return resp.Data, nil
}

func (c *Client) selectAP(ap application) error {
	if c.ap == ap {
		return nil
	}
	aid, name := aidJPKI, "JPKI AP"
	switch ap {
	case apText:
		aid, name = aidText, "text AP"
	case apVisual:
		aid, name = aidVisual, "visual AP"
	}
	c.ap = apNone
	if _, err := c.exchange("SELECT "+name, apdu.Command{INS: insSelect, P1: 0x04, P2: 0x0C, Data: aid}); err != nil {
		return err
	}
	c.ap = ap
	return nil
}

func (c *Client) selectEF(ap application, fid uint16) error {
	if err := c.selectAP(ap); err != nil {
		return err
	}
	_, err := c.exchange(fmt.Sprintf("SELECT %04X", fid), apdu.Command{INS: insSelect, P1: 0x02, P2: 0x0C, Data: []byte{byte(fid >> 8), byte(fid)}})
	return err
}

func (c *Client) readBinary(off, n int) ([]byte, error) {
	if off > 0x7FFF {
		return nil, fmt.Errorf("card: READ BINARY offset %d beyond 15 bits", off)
	}
	return c.exchange(fmt.Sprintf("READ BINARY at %d", off), apdu.Command{INS: insReadBinary, P1: byte(off >> 8), P2: byte(off), Le: n})
}

// readTLV reads the BER-TLV object at the start of the current EF and nothing
// after it (real cards pad EFs with FF filler, jpki-card.md §2.1): 7 bytes
// first for the header, then the rest in chunks of at most 256 bytes.
func (c *Client) readTLV() ([]byte, error) {
	head, err := c.readBinary(0, 7)
	if err != nil {
		return nil, err
	}
	hdr, n, err := berHeader(head)
	if err != nil {
		return nil, err
	}
	total := hdr + n
	if total > 0x7FFF+apdu.MaxLe {
		return nil, fmt.Errorf("%w: object of %d bytes is larger than an EF", errBER, total)
	}
	buf := head[:min(len(head), total)]
	for len(buf) < total {
		chunk, err := c.readBinary(len(buf), min(apdu.MaxLe, total-len(buf)))
		if err != nil {
			return nil, err
		}
		if len(chunk) == 0 {
			return nil, fmt.Errorf("card: READ BINARY at %d returned nothing", len(buf))
		}
		buf = append(buf, chunk...)
	}
	return buf[:total], nil
}

func certEF(p Purpose, ca bool) (uint16, error) {
	switch {
	case p == Auth && !ca:
		return efAuthCert, nil
	case p == Auth:
		return efAuthCACert, nil
	case p == Sign && !ca:
		return efSignCert, nil
	case p == Sign:
		return efSignCACert, nil
	}
	return 0, fmt.Errorf("card: unknown purpose %d", int(p))
}

// Certificate reads the DER certificate of p. The signing certificate is
// readable only after VerifyPIN(SignPIN, …) on this Client (else the error
// matches ErrSecurityStatus). A certificate not on the card is ErrNotFound.
func (c *Client) Certificate(p Purpose) ([]byte, error) {
	return c.readCert(p, false)
}

// CACertificate reads the DER certificate of the CA that issued p's
// certificate.
func (c *Client) CACertificate(p Purpose) ([]byte, error) {
	return c.readCert(p, true)
}

func (c *Client) readCert(p Purpose, ca bool) ([]byte, error) {
	fid, err := certEF(p, ca)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.selectEF(apJPKI, fid); err != nil {
		return nil, err
	}
	return c.readTLV()
}

// TokenLabel reads the token label from the first 32 bytes of EF 0006:
// "JPKIAPICCTOKEN2" on a My Number Card (jpki-card.md §2.3).
func (c *Client) TokenLabel() (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.selectEF(apJPKI, efTokenInfo); err != nil {
		return "", err
	}
	b, err := c.readBinary(0, 32)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(b), " \x00"), nil
}

func pinEF(ref PIN) (application, uint16, error) {
	switch ref {
	case AuthPIN:
		return apJPKI, efAuthPIN, nil
	case SignPIN:
		return apJPKI, efSignPIN, nil
	case TextPIN:
		return apText, efTextPIN, nil
	case TextPINA:
		return apText, efTextPINA, nil
	case TextPINB:
		return apText, efTextPINB, nil
	case VisualPINA:
		return apVisual, efVisualPINA, nil
	case VisualPINB:
		return apVisual, efVisualPINB, nil
	case VisualBirth:
		return apVisual, efVisualBirth, nil
	}
	return 0, 0, fmt.Errorf("%w: unknown PIN %d", ErrPINFormat, int(ref))
}

// PINStatus returns the tries left on ref without spending one (the empty
// VERIFY of JICSAP 6.4.9). A blocked PIN is 0 tries and no error.
func (c *Client) PINStatus(ref PIN) (int, error) {
	ap, fid, err := pinEF(ref)
	if err != nil {
		return 0, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.selectEF(ap, fid); err != nil {
		return 0, err
	}
	resp, err := c.transmit(apdu.Command{INS: insVerify, P2: 0x80})
	if err != nil {
		return 0, err
	}
	if n, ok := resp.SW.RetriesLeft(); ok {
		return n, nil
	}
	switch resp.SW {
	case apdu.OK: // some cards: already verified, so the counter is full
		return ref.MaxTries(), nil
	case apdu.RefDataNotUsable, apdu.AuthMethodBlocked:
		return 0, nil
	}
	return 0, statusError("VERIFY (retry query) "+ref.String(), resp.SW)
}

// VerifyPIN presents pin for ref. The format is checked before anything is
// sent (ErrPINFormat), so a typo costs no try; the signing password is
// upper-cased. A wrong PIN is a *PINError (errors.Is ErrWrongPIN); a blocked
// one ErrPINBlocked.
func (c *Client) VerifyPIN(ref PIN, pin string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.verifyPIN(ref, pin)
}

func (c *Client) verifyPIN(ref PIN, pin string) error {
	pin = normalizePIN(ref, pin)
	if err := ValidatePIN(ref, pin); err != nil {
		return err
	}
	ap, fid, err := pinEF(ref)
	if err != nil {
		return err
	}
	if err := c.selectEF(ap, fid); err != nil {
		return err
	}
	resp, err := c.transmit(apdu.Command{INS: insVerify, P2: 0x80, Data: []byte(pin)})
	if err != nil {
		return err
	}
	if resp.SW == apdu.OK {
		return nil
	}
	if n, ok := resp.SW.RetriesLeft(); ok {
		return &PINError{PIN: ref, TriesLeft: n}
	}
	return statusError("VERIFY "+ref.String(), resp.SW)
}

// ChangePIN verifies oldPIN and sets newPIN (CHANGE REFERENCE DATA, P1 = 01).
func (c *Client) ChangePIN(ref PIN, oldPIN, newPIN string) error {
	newPIN = normalizePIN(ref, newPIN)
	if err := ValidatePIN(ref, newPIN); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.verifyPIN(ref, oldPIN); err != nil {
		return err
	}
	resp, err := c.transmit(apdu.Command{INS: insChangeRefData, P1: 0x01, P2: 0x80, Data: []byte(newPIN)})
	if err != nil {
		return err
	}
	return refDataError("CHANGE REFERENCE DATA "+ref.String(), resp.SW)
}

// refDataError is the error of a command that set a new PIN (op), by its
// status word: none for 9000, ErrPINFormat for 6A80.
func refDataError(op string, sw apdu.StatusWord) error {
	switch sw {
	case apdu.OK:
		return nil
	case apdu.WrongData:
		return fmt.Errorf("%w: %w", ErrPINFormat, &apdu.StatusError{SW: sw, Op: op})
	}
	return statusError(op, sw)
}

// SignDigestInfo has the card pad digestInfo (PKCS#1 v1.5, type 01) and sign it
// with p's key: the SELECT of the key EF and 80 2A 00 80 that OpenSC sends. The
// matching PIN must have been verified on this Client.
func (c *Client) SignDigestInfo(p Purpose, digestInfo []byte) ([]byte, error) {
	if len(digestInfo) == 0 || len(digestInfo) > 245 {
		return nil, fmt.Errorf("card: sign: %d bytes of DigestInfo, want 1–245", len(digestInfo))
	}
	fid := efAuthKey
	switch p {
	case Auth:
	case Sign:
		fid = efSignKey
	default:
		return nil, fmt.Errorf("card: unknown purpose %d", int(p))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.selectEF(apJPKI, fid); err != nil {
		return nil, err
	}
	sig, err := c.exchange("COMPUTE DIGITAL SIGNATURE "+p.String(), apdu.Command{CLA: 0x80, INS: insSign, P1: 0x00, P2: 0x80, Data: digestInfo, Le: apdu.MaxLe})
	if err != nil {
		return nil, err
	}
	if len(sig) != 256 {
		return nil, fmt.Errorf("card: sign: %d-byte signature, want 256", len(sig))
	}
	return sig, nil
}

// MyNumber reads the 12-digit 個人番号 from the text AP; VerifyPIN(TextPIN, …)
// must come first.
func (c *Client) MyNumber() (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.selectEF(apText, efMyNumber); err != nil {
		return "", err
	}
	b, err := c.readTLV()
	if err != nil {
		return "", err
	}
	tag, v, _, err := berNext(b)
	if err != nil {
		return "", err
	}
	if !bytes.Equal(tag, []byte{0xFF, 0x10}) || len(v) != 12 || !allOf(string(v), "0123456789") {
		return "", errors.New("card: EF 0001 of the text AP does not hold a My Number")
	}
	return string(v), nil
}

// Attributes reads the 基本4情報 from the text AP; VerifyPIN(TextPIN, …)
// must come first.
func (c *Client) Attributes() (Attributes, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.selectEF(apText, efAttributes); err != nil {
		return Attributes{}, err
	}
	b, err := c.readTLV()
	if err != nil {
		return Attributes{}, err
	}
	return parseAttributes(b)
}
