package jpki

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// A PIN reset (暗証番号の初期化・再設定) at the counter: a blocked or
// forgotten PIN of the card is set anew by its holder on the counter's PIN
// pad. The centre never sees the PIN; it records that the reset took place,
// which PIN, at which counter and with whose approval, so that it is in the
// card's audit like every other counter operation. The card's side (the
// issuer's management key, RESET RETRY COUNTER) is the counter's, through
// PINResetter.

// PINKind names one of the card's PINs, as the centre records it.
type PINKind string

// The card's PINs.
const (
	// PINAuth is the 利用者証明用電子証明書 PIN (4 digits).
	PINAuth PINKind = "auth"
	// PINSign is the 署名用電子証明書 password (6–16 of A–Z, 0–9).
	PINSign PINKind = "sign"
	// PINText is the 券面事項入力補助用 PIN (4 digits).
	PINText PINKind = "text"
)

// PINKinds are the card's PINs in the order the counter shows them.
var PINKinds = []PINKind{PINAuth, PINSign, PINText}

// ParsePINKind reads "auth", "sign" or "text".
func ParsePINKind(s string) (PINKind, error) {
	for _, k := range PINKinds {
		if string(k) == s {
			return k, nil
		}
	}
	return "", fmt.Errorf("%w: PIN %q (auth, sign or text)", ErrInvalid, s)
}

// Approval is the second staff member's consent to a counter operation that
// needs four eyes: a revocation, a loss, a death or a PIN reset. At a
// counter with staff it is a supervisor's (Supervisor, who approved At),
// with how the person asking was identified; the program's own counter in
// this process (the operator's CLI) names its approver in By instead.
type Approval struct {
	By         string        `json:"by,omitempty"`
	Supervisor *CounterStaff `json:"supervisor,omitempty"`
	At         time.Time     `json:"at,omitzero"`
	Identity   Identity      `json:"identity,omitempty"`
}

// maxApprover bounds Approval.By.
const maxApprover = 100

func (a Approval) validate() error {
	by := strings.TrimSpace(a.By)
	if by == "" || by != a.By || utf8.RuneCountInString(by) > maxApprover || strings.ContainsFunc(by, unicode.IsControl) {
		return fmt.Errorf("%w: the approver must be named (1–%d characters, no control characters)", ErrNoApproval, maxApprover)
	}
	return nil
}

// ErrNoApproval: a counter operation that needs a second staff member's
// approval came without one.
var ErrNoApproval = fmt.Errorf("%w: no approval", ErrInvalid)

// ErrNoSigningPassword: the card has no live signing certificate, so it has
// no signing password to reset.
var ErrNoSigningPassword = fmt.Errorf("%w: the card has no valid signing certificate, so no signing password", ErrInvalid)

// PINResetRequest records the reset of one PIN of a card. It carries no PIN.
type PINResetRequest struct {
	IdempotencyKey string   `json:"-"`
	CardID         string   `json:"-"`
	PIN            PINKind  `json:"pin"`
	Approval       Approval `json:"approval"`
}

// PINReset is the centre's record of a PIN reset.
type PINReset struct {
	CardID   string    `json:"card_id"`
	PIN      PINKind   `json:"pin"`
	Approval Approval  `json:"approval"`
	At       time.Time `json:"at"`
}

// RecordPINReset records that the counter resets a PIN of a card the
// centre issued: the card must be known, the signing password needs a live
// signing certificate, and the reset needs an approval.
func (cc centreCounter) RecordPINReset(ctx context.Context, rq PINResetRequest) (*PINReset, error) {
	c := cc.c
	fp := struct {
		PINResetRequest
		CardID string
	}{rq, rq.CardID}
	return once(ctx, c, cc.a, rq.IdempotencyKey, "pin-reset", fp, func(tx *sql.Tx) (*PINReset, error) {
		if _, err := ParsePINKind(string(rq.PIN)); err != nil {
			return nil, err
		}
		_, r, err := c.residentOfTx(ctx, tx, rq.CardID)
		if err != nil {
			return nil, err
		}
		if err := cc.a.checkTown(rq.CardID, r.Municipality); err != nil {
			return nil, err
		}
		if err := cc.a.checkApproval(rq.Approval, c.now(), true); err != nil {
			return nil, err
		}
		if rq.PIN == PINSign {
			ci, err := c.currentTx(ctx, tx, rq.CardID, Sign)
			if err != nil {
				return nil, err
			}
			if ci == nil {
				return nil, fmt.Errorf("%w: card %s", ErrNoSigningPassword, rq.CardID)
			}
		}
		if err := c.counterAuditTx(ctx, tx, cc.a, r.Municipality, "pin-reset",
			rq.CardID+" "+string(rq.PIN)+" approved-by:"+rq.Approval.approver(), &rq.Approval); err != nil {
			return nil, err
		}
		return &PINReset{CardID: rq.CardID, PIN: rq.PIN, Approval: rq.Approval, At: c.now().UTC()}, nil
	})
}

func (c *Centre) servePINReset(w http.ResponseWriter, r *http.Request, caller string) {
	var rq PINResetRequest
	a, key, ok := c.counterCall(w, r, caller, "pin-reset", &rq)
	if !ok {
		return
	}
	rq.IdempotencyKey, rq.CardID = key, r.PathValue("id")
	got, err := c.Counter(a).RecordPINReset(r.Context(), rq)
	c.counterAnswer(w, r, a, "pin-reset", rq.CardID, string(rq.PIN), &rq.Approval, http.StatusCreated, got, err)
}

// RecordPINReset records a PIN reset at the centre.
func (cl *CounterClient) RecordPINReset(ctx context.Context, rq PINResetRequest) (*PINReset, error) {
	var out PINReset
	if err := cl.change(ctx, cardPath(rq.CardID)+"/pin-resets", rq.IdempotencyKey, rq, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// PINResetter is the card on the counter's reader, with the counter's
// secure module that proves the card's management key: it sets a new PIN and
// restores its tries.
type PINResetter interface {
	ID() string
	ResetPIN(which PINKind, newPIN string) error
}

// ResetPIN resets one PIN of the card w: the centre records the reset with
// its approval first, so that no card is reset that the card's audit does
// not show, and only then does the card take newPIN, which goes nowhere
// else. A card that fails after the record is logged for the operator and
// the error returned; the same reset can be done again.
func (p *Personaliser) ResetPIN(ctx context.Context, w PINResetter, which PINKind, a Approval, newPIN string) (*PINReset, error) {
	got, err := p.Centre.RecordPINReset(ctx, PINResetRequest{IdempotencyKey: NewIdempotencyKey(), CardID: w.ID(), PIN: which, Approval: a})
	if err != nil {
		return nil, err
	}
	if err := w.ResetPIN(which, newPIN); err != nil {
		p.logger().ErrorContext(ctx, "the centre recorded a PIN reset that the card did not take", "card", w.ID(), "pin", which, "err", err)
		return nil, fmt.Errorf("jpki: reset the %s PIN of card %s: %w", which, w.ID(), err)
	}
	return got, nil
}
