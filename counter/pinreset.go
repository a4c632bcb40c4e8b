package counter

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/staff"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/web"
)

// The PIN reset (暗証番号の初期化・再設定): the clerk picks the card and the
// PIN on the card page and prepares the request; a supervisor approves it
// with their card at the staff terminal (requests.go); then the counter's
// PIN pad, a screen in the terminal kit's layout turned to the resident,
// takes the new PIN twice; the centre records the reset with the clerk and
// the supervisor, and the card takes the new PIN under the counter's
// management key (jpki.Personaliser.ResetPIN). The PIN goes from the form
// to the card only: it is not logged, kept in the session, echoed or sent
// to a server.
//
//	GET  /counter/requests/{rid}/pin   the PIN pad, once approved
//	POST /counter/requests/{rid}/pin   reset the PIN

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
	Request             string
	Which               jpki.PINKind
	Name                msg
	Digits              bool // a 4-digit PIN: the pad; the signing password is typed
	MaxLength           int
	TriesLeft, MaxTries int
	Problem             *msg
}

// TerminalScreen is the counter's desk screen.
func (*padPage) TerminalScreen() terminal.Screen { return terminal.ScreenDesk }

// padForm shows the PIN pad of an approved PIN reset; before the approval
// the request's page.
func (p *counterPages) padForm(w http.ResponseWriter, r *http.Request, s *staff.Session) {
	rq, ok := p.pending(w, r, s)
	if !ok {
		return
	}
	if rq.Action != actPIN || !p.gate.Approval(w, r, s, rq.purpose()).Approved() {
		p.redirect(w, r, rq.path(), web.Flash{Kind: "error", JA: "この申請には、まず責任者の承認が必要です。", EN: "This request needs a supervisor's approval first."})
		return
	}
	pg, ok := p.loadPad(w, r, s, rq)
	if !ok {
		return
	}
	p.pad.Render(w, r, http.StatusOK, "pad_pin", pg)
}

// loadPad gathers the pad screen's data; on failure it has answered.
func (p *counterPages) loadPad(w http.ResponseWriter, r *http.Request, s *staff.Session, rq *request) (*padPage, bool) {
	id, k := rq.CardID, rq.Which
	cd, err := p.onCard(id)
	if err != nil {
		p.refuse(w, r, s, id, "pin", err, nil)
		return nil, false
	}
	in := cd.Info()
	ref := CardPIN(k)
	pg := &padPage{ID: id, Request: rq.path(), Holder: in.Holder, Which: k, Name: pinName(k), Digits: k != jpki.PINSign, MaxLength: 4,
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

// resetPIN resets the PIN with the new PIN from the pad, under the
// supervisor's approval, which it uses up (a PIN typed wrong on the pad
// leaves it for the next try).
func (p *counterPages) resetPIN(w http.ResponseWriter, r *http.Request, s *staff.Session) {
	rq, ok := p.pending(w, r, s)
	if !ok {
		return
	}
	if rq.Action != actPIN {
		p.refuse(w, r, s, rq.CardID, "pin", fmt.Errorf("%w: the request is not a PIN reset", jpki.ErrInvalid), nil)
		return
	}
	id := rq.CardID
	pg, ok := p.loadPad(w, r, s, rq)
	if !ok {
		return
	}
	newPIN, confirm := r.PostFormValue("pin"), r.PostFormValue("pin_confirm")
	if m := checkNewPIN(pg.Which, newPIN, confirm); m != nil {
		pg.Problem = m
		p.pad.Render(w, r, http.StatusUnprocessableEntity, "pad_pin", pg)
		return
	}
	cd, err := p.onCard(id)
	if err != nil {
		p.refuse(w, r, s, id, "pin", err, nil)
		return
	}
	a := p.gate.TakeApproval(w, r, s, rq.purpose())
	if a != nil {
		p.drop(w, r)
	}
	_, err = p.steps(s).ResetPIN(r.Context(), ReaderCard{Card: cd, CardID: id, SAM: p.sam}, pg.Which, rq.approval(a), newPIN)
	if err != nil {
		// The PIN format was checked above: whatever failed, the card
		// has not taken the PIN.
		p.refuse(w, r, s, id, "pin", err, nil)
		return
	}
	p.logger.InfoContext(r.Context(), "counter: reset a PIN", "card", id, "pin", pg.Which, "approved_by", a.By.PlatformID)
	n, by := pinName(pg.Which), approvedBy(a)
	p.redirect(w, r, cardPath(id), web.Flash{Kind: "ok",
		JA: fmt.Sprintf("%sを再設定しました。残り回数は%d回に戻りました。", n.JA, pg.MaxTries) + by.JA,
		EN: fmt.Sprintf("The %s was reset; it has %d tries again. ", n.EN, pg.MaxTries) + by.EN})
}
