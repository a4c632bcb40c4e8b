package platform

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/internal/trace"
	"github.com/mynaplat/mynaplat/jpki"
)

// A PIN refusal is a card saying no to a PIN at a terminal: a wrong PIN
// (VERIFY answered 63Cx) or a blocked one (6983). The card decides that
// alone — the PIN never leaves it — so without a report the platform would
// never hear of it, and the holder could not see on /me/audit that someone
// tried PINs on their card. The terminal reports it (POST
// /platform/v1/pin-refusals) with the card's authentication certificate,
// which the card gives without a PIN, and what the card said: which PIN,
// wrong or blocked, the tries left. Never the PIN, nor anything made from
// it.
//
// Why a terminal's word is taken, though no card signed anything: only a
// registered terminal (its HMAC key) can report; a report only adds an
// audit row (it refuses no later login — the card keeps its own count —
// and links nothing the centre's records do not); the certificate must be
// the 利用者証明用 CA's; and each terminal's reports are rate limited
// (Limits.PINReports). The row names the reporting terminal, so the
// holder and the operator see who said it.

// ActionPINRefusal is the audit action of a reported PIN refusal.
const ActionPINRefusal = "pin-refusal"

// The results of a PIN refusal in the audit.
const (
	// ResultPINWrong is a wrong PIN that left tries (1 or more).
	ResultPINWrong = "PIN_WRONG"
	// ResultPINBlocked is a PIN that is blocked: the wrong try that used
	// the last one, or a try at a PIN blocked already.
	ResultPINBlocked = "PIN_BLOCKED"
)

// The PINs a refusal names.
const (
	PINAuth = "auth" // 利用者証明用電子証明書の暗証番号 (4 digits, 3 tries)
	PINSign = "sign" // 署名用電子証明書の暗証番号 (6–16 characters, 5 tries)
)

// maxTries are the tries of each PIN (jpki-card.md §2), the most a wrong
// try can leave.
var maxTries = map[string]int{PINAuth: 3, PINSign: 5}

// PINRefusal is a terminal's report of a PIN the card refused.
type PINRefusal struct {
	// Certificate is the card's 利用者証明用 certificate (DER), read from
	// the card without a PIN: it names the holder whichever PIN was
	// refused.
	Certificate []byte `json:"certificate"`
	// PIN is which PIN was refused: PINAuth or PINSign.
	PIN string `json:"pin"`
	// Result is ResultPINWrong or ResultPINBlocked.
	Result string `json:"result"`
	// TriesLeft is what the card said is left: 1 up to the PIN's tries
	// for a wrong PIN, 0 for a blocked one.
	TriesLeft int `json:"tries_left"`
}

// Bodies and certificates a PIN refusal report cannot be written from.
var (
	errPINRefusalBody = fmt.Errorf("%w: malformed PIN refusal", ErrInvalid)
	// ErrNotAuthCertificate is a certificate that is not one of the
	// 利用者証明用 CA's.
	ErrNotAuthCertificate = fmt.Errorf("%w: not a certificate of the 利用者証明用 CA", ErrInvalid)
)

// The PIN refusal's problem code for a certificate of another issuer.
const CodeUnknownIssuer httpapi.Code = "unknown_issuer"

// ParsePINRefusal reads a report: one JSON object with exactly the fields
// of PINRefusal, a known PIN, and tries left that fit the result. It does
// not look at the certificate beyond its being there.
func ParsePINRefusal(body []byte) (PINRefusal, error) {
	var req PINRefusal
	if err := httpapi.Decode(bytes.NewReader(body), &req, int64(len(body))); err != nil {
		return PINRefusal{}, fmt.Errorf("%w: %v", errPINRefusalBody, err)
	}
	if err := req.validate(); err != nil {
		return PINRefusal{}, err
	}
	return req, nil
}

func (r PINRefusal) validate() error {
	max, ok := maxTries[r.PIN]
	switch {
	case len(r.Certificate) == 0:
		return fmt.Errorf("%w: no certificate", errPINRefusalBody)
	case !ok:
		return fmt.Errorf("%w: pin %q", errPINRefusalBody, r.PIN)
	case r.Result == ResultPINWrong && (r.TriesLeft < 1 || r.TriesLeft > max):
		return fmt.Errorf("%w: %s with %d tries left", errPINRefusalBody, r.Result, r.TriesLeft)
	case r.Result == ResultPINBlocked && r.TriesLeft != 0:
		return fmt.Errorf("%w: %s with %d tries left", errPINRefusalBody, r.Result, r.TriesLeft)
	case r.Result != ResultPINWrong && r.Result != ResultPINBlocked:
		return fmt.Errorf("%w: result %q", errPINRefusalBody, r.Result)
	}
	return nil
}

// PINRefusalReason is the audit row's reason of a refusal: the PIN and the
// tries left, "auth:2".
func PINRefusalReason(pin string, triesLeft int) string { return pin + ":" + strconv.Itoa(triesLeft) }

// ParsePINRefusalReason reads PINRefusalReason back; ok is false for a
// reason of another action.
func ParsePINRefusalReason(reason string) (pin string, triesLeft int, ok bool) {
	pin, n, found := strings.Cut(reason, ":")
	triesLeft, err := strconv.Atoi(n)
	if _, known := maxTries[pin]; !found || !known || err != nil {
		return "", 0, false
	}
	return pin, triesLeft, true
}

// RecordPINRefusal writes a terminal's report into the audit: one row with
// the terminal, the result and the reason (PINRefusalReason), the
// certificate's serial, and the platform ID of its holder — which puts it
// on the holder's /me/audit. A holder who never logged in gets their
// platform ID now, as their first login would (from the centre's linkage
// records only, the same ID that login then finds): the card of someone
// who never used the platform is the one a finder tries PINs on, and they
// should see it when they first look. A certificate not of the 利用者証明用
// CA (ErrNotAuthCertificate) writes nothing, nor does a centre that cannot
// be asked (the terminal logs the failure). The certificate's validity
// and revocation are not asked: the card refused a PIN whatever they are.
func (p *Platform) RecordPINRefusal(ctx context.Context, t *Terminal, req PINRefusal) error {
	if err := req.validate(); err != nil {
		return err
	}
	cert, malformed := p.certificate(req.Certificate)
	if malformed || !p.chainOK(req.Certificate, cert) {
		return ErrNotAuthCertificate
	}
	serial := jpki.Serial(cert.SerialNumber)
	personID, err := p.personFor(ctx, serial)
	if err != nil {
		return fmt.Errorf("platform: holder of a refused PIN's card: %w", err)
	}
	now := p.now()
	_, err = p.db.Write(ctx, qInsertAudit, newSortableID(now), now.UnixMilli(), personID, t.ID, ActionPINRefusal,
		req.Result, PINRefusalReason(req.PIN, req.TriesLeft), serial, trace.ID(ctx))
	if err != nil {
		return fmt.Errorf("platform: audit a PIN refusal: %w", err)
	}
	return nil
}

func (p *Platform) servePINRefusal(w http.ResponseWriter, r *http.Request) {
	t, body, err := p.limitedTerminal(r)
	var req PINRefusal
	if err == nil {
		req, err = ParsePINRefusal(body)
	}
	if err == nil {
		err = p.limits.pinReport(t, req.Certificate)
	}
	if err == nil {
		err = p.RecordPINRefusal(r.Context(), t, req)
	}
	if err != nil {
		p.writeErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ReportPINRefusal reports a PIN the card refused (see PINRefusal). The
// platform answers nothing about the holder.
func (c *TerminalClient) ReportPINRefusal(ctx context.Context, req PINRefusal) error {
	_, err := c.api().DoJSON(ctx, httpapi.Request{Method: http.MethodPost, Path: "/platform/v1/pin-refusals", JSON: req}, nil)
	return err
}
