package staffdesk

import (
	"crypto"
	"crypto/x509"
	"net/http"

	"github.com/mynaplat/mynaplat/staff"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/web"
)

// Signing is the staff terminals' signing step for the offices' gates
// (staff.CardSigning, staff/sign.go): a member of staff signs with their
// own card on the reader of the staff terminal they signed in at, through
// that terminal's kit — the card to place, the signing password with its
// tries left, the kit's outcomes, its limits and its report of a refused
// password to the platform. The gate decides whose card may sign; the
// terminal runs the card. An empty Signing runs no terminal until New
// fills it (Config.Signing): the offices' gates may be built first.
type Signing struct {
	p *Pages
}

var _ staff.CardSigning = (*Signing)(nil)

// kit is terminal id's card flow, nil for none here.
func (s *Signing) kit(id string) *terminal.Kit {
	if s == nil || s.p == nil {
		return nil
	}
	return s.p.stations.Kit(id)
}

// Runs reports whether staff terminal id runs here.
func (s *Signing) Runs(id string) bool { return s.kit(id) != nil }

// signData is the signing page's data.
type signData struct {
	staff.SignPage
	// Card is the card step while no card is on the reader; Sign the
	// signing step once one is, with Holder its holder's name.
	Card   *terminal.CardStep
	Sign   *terminal.SignStep
	Holder string
}

// TerminalScreen is the desk's screen.
func (signData) TerminalScreen() terminal.Screen { return terminal.ScreenDesk }

// Page shows the signing page on terminal id's reader.
func (s *Signing) Page(w http.ResponseWriter, r *http.Request, ss *web.Session, id string, p staff.SignPage) {
	kit := s.kit(id)
	if kit == nil {
		s.p.site.Error(w, r, web.Problem{Status: http.StatusNotFound})
		return
	}
	acts := terminal.Actions{Place: p.Place, Sign: p.Req.Action, Remove: p.Remove}
	d := signData{SignPage: p}
	if _, err := kit.Placed(r, ss); err != nil {
		d.Card = kit.Card(r, ss)
		d.Card.Actions = acts
	} else {
		d.Sign = kit.SignCard(r, ss, p.Req.LabelJA, p.Req.LabelEN)
		d.Sign.Actions = acts
		d.Holder = kit.Holder(ss)
	}
	s.p.screens.Render(w, r, http.StatusOK, "sign", d)
}

// Place puts the form's card on terminal id's reader.
func (s *Signing) Place(r *http.Request, ss *web.Session, id string) *web.Flash {
	kit := s.kit(id)
	if kit == nil {
		return &web.Flash{Kind: "error", JA: "この職員用端末はここにはありません。", EN: "This staff terminal is not here."}
	}
	if res := kit.Place(r, ss); !res.Passed() {
		f := res.Flash()
		return &f
	}
	return nil
}

// Remove takes the card off terminal id's reader.
func (s *Signing) Remove(ss *web.Session, id string) {
	if kit := s.kit(id); kit != nil {
		kit.Remove(ss)
	}
}

// Sign runs the kit's signing step on terminal id's reader.
func (s *Signing) Sign(r *http.Request, ss *web.Session, id string, fn func(cert *x509.Certificate, signer crypto.Signer) error) (*web.Flash, error) {
	kit := s.kit(id)
	if kit == nil {
		return &web.Flash{Kind: "error", JA: "この職員用端末はここにはありません。何も署名していません。", EN: "This staff terminal is not here. Nothing was signed."}, nil
	}
	res, err := kit.Sign(r, ss, fn)
	if err != nil {
		return nil, err
	}
	if !res.Passed() {
		f := res.Flash()
		f.JA, f.EN = "何も署名していません。"+f.JA, "Nothing was signed. "+f.EN
		return &f, nil
	}
	return nil, nil
}
