package counter

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/web"
)

// The PIN reset (暗証番号の初期化・再設定): the clerk picks the card and the
// PIN on the card page; the counter's PIN pad, a screen in the terminal
// kit's layout turned to the resident, takes the new PIN twice; the
// approval step names who approved; the centre records the reset and the
// card takes the new PIN under the counter's management key
// (jpki.Personaliser.ResetPIN). The PIN goes from the form to the card
// only: it is not logged, kept in the session, echoed or sent to a server.
//
//	GET  /counter/cards/{id}/pin?which=auth|sign|text   the PIN pad
//	POST /counter/cards/{id}/pin                        reset the PIN

// Approver is the four-eyes step of the counter's procedures that need a
// second staff member (a PIN reset): it names who approved the request r
// for the card, or refuses with an error wrapping jpki.ErrNoApproval.
// Issue 16's staff login implements it with the supervisor's staff
// session; until then OperatorApproval approves.
type Approver interface {
	Approve(r *http.Request, cardID string, which jpki.PINKind) (jpki.Approval, error)
}

// OperatorApproval approves as the counter terminal's operator, named
// Operator: the approval of a counter without staff logins, recorded as such
// ("operator:<name>") so that the audit does not pretend a supervisor.
type OperatorApproval struct{ Operator string }

// Approve names the operator.
func (a OperatorApproval) Approve(*http.Request, string, jpki.PINKind) (jpki.Approval, error) {
	return jpki.Approval{By: "operator:" + a.Operator}, nil
}

// ReaderCard is a card on the counter's reader with the counter's secure
// module: the card side of a PIN reset (jpki.PINResetter), in APDUs.
type ReaderCard struct {
	Card   card.Transport
	CardID string
	SAM    *card.SAM
}

// ID is the card's ID.
func (c ReaderCard) ID() string { return c.CardID }

// ResetPIN has the card take newPIN for which.
func (c ReaderCard) ResetPIN(which jpki.PINKind, newPIN string) error {
	return card.NewClient(c.Card).ResetPIN(CardPIN(which), newPIN, c.SAM.Authenticator(c.CardID))
}

// CardPIN is the card's PIN of a kind the centre names.
func CardPIN(k jpki.PINKind) card.PIN {
	switch k {
	case jpki.PINSign:
		return card.SignPIN
	case jpki.PINText:
		return card.TextPIN
	}
	return card.AuthPIN
}

// pinName is a PIN's name in both languages.
func pinName(k jpki.PINKind) msg {
	switch k {
	case jpki.PINSign:
		return msg{"署名用電子証明書の暗証番号（署名用パスワード）", "signing password"}
	case jpki.PINText:
		return msg{"券面事項入力補助用暗証番号", "text (券面事項入力補助) PIN"}
	}
	return msg{"利用者証明用電子証明書の暗証番号", "authentication PIN"}
}

// checkNewPIN checks a new PIN and its confirmation as typed, the signing
// password upper-cased first: the message for the resident, or nil.
func checkNewPIN(k jpki.PINKind, pin, confirm string) *msg {
	ref := CardPIN(k)
	if k == jpki.PINSign {
		pin, confirm = strings.ToUpper(pin), strings.ToUpper(confirm)
	}
	switch {
	case k == jpki.PINSign && card.ValidatePIN(ref, pin) != nil:
		return &msg{"署名用パスワードは英大文字と数字の6〜16文字です。", "The signing password is 6 to 16 letters A–Z and digits."}
	case card.ValidatePIN(ref, pin) != nil:
		return &msg{"暗証番号は数字4桁です。", "The PIN is 4 digits."}
	case pin != confirm:
		return &msg{"確認のために入力したものと一致しません。もう一度入力してください。", "The two entries differ. Type the new PIN twice again."}
	}
	return nil
}

// padPage is the counter's PIN pad screen.
type padPage struct {
	ID, Holder          string
	Which               jpki.PINKind
	Name                msg
	Digits              bool // a 4-digit PIN: the pad; the signing password is typed
	MaxLength           int
	TriesLeft, MaxTries int
	Approver            string
	Problem             *msg
}

// TerminalScreen is the counter's desk screen.
func (*padPage) TerminalScreen() terminal.Screen { return terminal.ScreenDesk }

// padForm shows the PIN pad for the PIN the clerk chose.
func (p *counterPages) padForm(w http.ResponseWriter, r *http.Request) {
	pg, ok := p.loadPad(w, r, r.URL.Query().Get("which"))
	if !ok {
		return
	}
	p.pad.Render(w, r, http.StatusOK, "pad_pin", pg)
}

// loadPad gathers the pad screen's data; on failure it has answered.
func (p *counterPages) loadPad(w http.ResponseWriter, r *http.Request, which string) (*padPage, bool) {
	id := r.PathValue("id")
	k, err := jpki.ParsePINKind(which)
	if err != nil {
		p.refuse(w, r, "pin", fmt.Errorf("%w: choose the PIN to reset", jpki.ErrInvalid), nil)
		return nil, false
	}
	cd, err := p.onCard(id)
	if err != nil {
		p.refuse(w, r, "pin", err, nil)
		return nil, false
	}
	in := cd.Info()
	ref := CardPIN(k)
	pg := &padPage{ID: id, Holder: in.Holder, Which: k, Name: pinName(k), Digits: k != jpki.PINSign, MaxLength: 4,
		MaxTries: ref.MaxTries()}
	switch ref {
	case card.AuthPIN:
		pg.TriesLeft = in.AuthTriesLeft
	case card.SignPIN:
		pg.TriesLeft, pg.MaxLength = in.SignTriesLeft, 16
	case card.TextPIN:
		pg.TriesLeft = in.TextTriesLeft
	}
	return pg, true
}

// resetPIN resets the PIN with the new PIN from the pad.
func (p *counterPages) resetPIN(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	pg, ok := p.loadPad(w, r, r.PostFormValue("which"))
	if !ok {
		return
	}
	newPIN, confirm := r.PostFormValue("pin"), r.PostFormValue("pin_confirm")
	if m := checkNewPIN(pg.Which, newPIN, confirm); m != nil {
		pg.Problem = m
		p.pad.Render(w, r, http.StatusUnprocessableEntity, "pad_pin", pg)
		return
	}
	a, err := p.approver.Approve(r, id, pg.Which)
	if err != nil {
		p.refuse(w, r, "pin", err, nil)
		return
	}
	cd, err := p.onCard(id)
	if err != nil {
		p.refuse(w, r, "pin", err, nil)
		return
	}
	_, err = p.steps.ResetPIN(r.Context(), ReaderCard{Card: cd, CardID: id, SAM: p.sam}, pg.Which, a, newPIN)
	if errors.Is(err, card.ErrPINFormat) {
		pg.Problem = checkNewPIN(pg.Which, "", "")
		p.pad.Render(w, r, http.StatusUnprocessableEntity, "pad_pin", pg)
		return
	}
	if err != nil {
		p.refuse(w, r, "pin", err, nil)
		return
	}
	p.logger.InfoContext(r.Context(), "counter: reset a PIN", "card", id, "pin", pg.Which, "approved_by", a.By)
	n := pinName(pg.Which)
	p.redirect(w, r, cardPath(id), web.Flash{Kind: "ok",
		JA: fmt.Sprintf("%sを再設定しました（承認：%s）。残り回数は%d回に戻りました。", n.JA, a.By, pg.MaxTries),
		EN: fmt.Sprintf("The %s was reset (approved by %s); it has %d tries again.", n.EN, a.By, pg.MaxTries)})
}
