package staff

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/web"
)

// Signing with one's own card (issue 19 §4, written once for every
// office): a member of staff signed in at an office signs a document with
// the signing certificate of their own My Number Card, on the reader of
// the staff terminal they signed in at (Session.Terminal). The terminal
// runs the card — the terminal kit's steps: place the card, the signing
// password with its tries left, the kit's outcomes, its limits and its
// report of a refused password to the platform — behind CardSigning
// (package staffdesk), so that no office writes a PIN page of its own and
// the gate, a server's package, never touches a card. The gate decides
// who may sign: before the office's callback gets the card as a
// crypto.Signer, it asks the platform whose certificate it is (the JPKI
// linkage), and a card of anyone but the signed-in member of staff is
// refused (ErrNotOwnCard), with nothing signed and only the refusal in the
// directory's audit.
//
// An office offers it with two routes of its own: a GET that shows
// SignPage (what is signed, the card and password steps) and the POST the
// password form sends, which calls Sign with the office's callback. The
// gate mounts the card's place and remove actions (Mount).

// ErrNotOwnCard is a card whose signing certificate is not the signed-in
// member of staff's.
var ErrNotOwnCard = errors.New("staff: the card's signing certificate is not the signed-in member of staff's")

// notOwnCard is the refusal's text.
var notOwnCard = web.Flash{Kind: "error",
	JA: "このカードの署名用電子証明書は、ログインしている職員本人のものではありません。何も署名していません。ご自分のカードを置いてください。",
	EN: "This card's signing certificate is not that of the member of staff signed in. Nothing was signed. Place your own card."}

// CardSigning is the staff terminals' signing step as the gate uses it:
// the terminal kit's steps on the reader of staff terminal id.
type CardSigning interface {
	// Runs reports whether staff terminal id runs here.
	Runs(id string) bool
	// Page shows the signing page of terminal id: what p says is signed,
	// then the card to place or, with a card on the reader, the signing
	// password with its tries left, its forms posting to p's actions.
	Page(w http.ResponseWriter, r *http.Request, ss *web.Session, id string, p SignPage)
	// Place puts the form's card on terminal id's reader (nil, or what
	// went wrong); Remove takes it off.
	Place(r *http.Request, ss *web.Session, id string) *web.Flash
	Remove(ss *web.Session, id string)
	// Sign runs the signing step with the form's password on the card on
	// terminal id's reader: fn gets its signing certificate and the card
	// as a signer, in one card session. refused is what the card or the
	// kit said when fn did not run (no card, a wrong or blocked password,
	// the kit's limit), nil otherwise; err is fn's error, as it is.
	Sign(r *http.Request, ss *web.Session, id string, fn func(cert *x509.Certificate, signer crypto.Signer) error) (refused *web.Flash, err error)
}

// SignRequest is what an office asks its member of staff to sign.
type SignRequest struct {
	// Title heads the page; What says what is signed and what it does.
	TitleJA, TitleEN string
	WhatJA, WhatEN   string
	// Label is the password form's button ("署名する").
	LabelJA, LabelEN string
	// Action is the office's POST route that calls Sign; Back the office
	// page to return to without signing. Both are paths of the office.
	Action, Back string
}

// SignPage is what the signing page shows: the request, who signs where,
// and where the card's forms post (the gate's routes).
type SignPage struct {
	Req              SignRequest
	OfficeName, Name string
	Place, Remove    string
}

func signKey(office string) string { return "staff:sign:" + office }

// CanSign reports whether s can sign with their card here: the staff
// terminal they signed in at runs in this process, and the platform can
// say whose card it is.
func (g *Gate) CanSign(s *Session) bool {
	return g.cfg.Signing != nil && g.cfg.SignerPerson != nil && s.Terminal != "" && g.cfg.Signing.Runs(s.Terminal)
}

// offProblem is the answer where the staff terminal's reader is not.
var offProblem = web.Problem{Status: http.StatusServiceUnavailable, TitleJA: "ここではカードで署名できません", TitleEN: "No card signing here",
	WhatJA: "ログインした職員用端末のカードリーダーが、この事務所のサーバーから使えません。何も署名していません。",
	WhatEN: "The reader of the staff terminal you signed in at cannot be used from this office's server. Nothing was signed.",
	DoJA:   "職員用端末と同じサーバーで動いている事務所の画面から署名してください。", DoEN: "Sign from an office served where the staff terminals run."}

// signing is the browser's session when s can sign here; false when the
// answer is written.
func (g *Gate) signing(w http.ResponseWriter, r *http.Request, s *Session) (*web.Session, bool) {
	if !g.CanSign(s) {
		g.cfg.Site.Error(w, r, offProblem)
		return nil, false
	}
	ss, err := g.cfg.Site.Session(w, r)
	if err != nil {
		g.cfg.Site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return nil, false
	}
	return ss, true
}

// SignPage shows the signing step of req for s: what is signed, then the
// card to place or, with a card on the reader, the signing password with
// its tries left (the kit's screens, in the kit's layout). The page is
// where the card's actions and a refused try come back to.
func (g *Gate) SignPage(w http.ResponseWriter, r *http.Request, s *Session, req SignRequest) {
	ss, ok := g.signing(w, r, s)
	if !ok {
		return
	}
	ss.Set(signKey(s.Grant.Office), r.URL.RequestURI())
	g.save(r, ss)
	home := g.cfg.Home(s.Grant.Office)
	g.cfg.Signing.Page(w, r, ss, s.Terminal, SignPage{Req: req, OfficeName: s.OfficeName, Name: s.Grant.Name,
		Place: home + "card/place", Remove: home + "card/remove"})
}

// Sign runs the signing step the password form of SignPage posted: the
// card on the reader of s's staff terminal, with the form's password,
// hands fn its signing certificate and itself as a signer (one card
// session) once the platform has said the certificate is s's. ok is true
// when fn ran and returned nil: the card is then taken off the reader and
// the office answers. A refusal of the card or of the gate (no card, a
// wrong or blocked password, a card of someone else, the kit's limit) is
// answered here: back to page (the signing page, a path of the office)
// with what happened, ok false and err nil. An error of fn is returned as
// it is, unanswered, for the office to word.
func (g *Gate) Sign(w http.ResponseWriter, r *http.Request, s *Session, page string, fn func(cert *x509.Certificate, signer crypto.Signer) error) (ok bool, err error) {
	ss, ok := g.signing(w, r, s)
	if !ok {
		return false, nil
	}
	if !g.officePath(s, page) {
		page = g.cfg.Home(s.Grant.Office)
	}
	var linkage error
	refused, err := g.cfg.Signing.Sign(r, ss, s.Terminal, func(cert *x509.Certificate, signer crypto.Signer) error {
		pid, err := g.cfg.SignerPerson(r.Context(), cert)
		switch {
		case errors.Is(err, platform.ErrNotFound), errors.Is(err, platform.ErrInvalid):
			// Not a certificate the platform links to anyone: not theirs.
			return fmt.Errorf("%w: %w", ErrNotOwnCard, err)
		case err != nil:
			linkage = err
			return err
		case pid != s.Grant.PlatformID:
			return ErrNotOwnCard
		}
		return fn(cert, signer)
	})
	back := func(f web.Flash) (bool, error) {
		ss.SetFlash(f)
		g.save(r, ss)
		http.Redirect(w, r, page, http.StatusSeeOther)
		return false, nil
	}
	switch {
	case errors.Is(err, ErrNotOwnCard):
		g.cfg.Logger.WarnContext(r.Context(), "staff: signing with another's card refused", "office", s.Grant.Office, "platform_id", s.Grant.PlatformID, "err", err)
		g.audit(r, s.Grant.PlatformID, s.Grant.Office, ErrNotOwnCard, "terminal "+s.Terminal)
		return back(notOwnCard)
	case linkage != nil:
		g.cfg.Logger.ErrorContext(r.Context(), "staff: whose signing certificate", "office", s.Grant.Office, "err", linkage)
		g.cfg.Site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable, TitleJA: "署名できませんでした", TitleEN: "Nothing was signed",
			WhatJA: "カードの持ち主を共通プラットフォームに確認できないため、何も署名していません。", WhatEN: "The platform could not say whose card this is, so nothing was signed.",
			DoJA: "しばらくしてからもう一度お試しください。", DoEN: "Please try again shortly."})
		return false, nil
	case err != nil:
		return false, err
	case refused != nil:
		return back(*refused)
	}
	// Signed: the card comes off the reader, as at the staff terminal
	// after a sign-in.
	g.cfg.Signing.Remove(ss, s.Terminal)
	g.save(r, ss)
	return true, nil
}

// officePath reports whether p is a path of s's office.
func (g *Gate) officePath(s *Session, p string) bool {
	return strings.HasPrefix(p, g.cfg.Home(s.Grant.Office)) && !strings.HasPrefix(p, "//")
}

// placeCard puts a card on the reader of the session's staff terminal
// and goes back to the signing page.
func (g *Gate) placeCard(w http.ResponseWriter, r *http.Request, s *Session) {
	g.card(w, r, s, func(ss *web.Session) {
		if f := g.cfg.Signing.Place(r, ss, s.Terminal); f != nil {
			ss.SetFlash(*f)
		}
	})
}

// removeCard takes the card off the reader (cancel).
func (g *Gate) removeCard(w http.ResponseWriter, r *http.Request, s *Session) {
	g.card(w, r, s, func(ss *web.Session) { g.cfg.Signing.Remove(ss, s.Terminal) })
}

func (g *Gate) card(w http.ResponseWriter, r *http.Request, s *Session, do func(*web.Session)) {
	ss, ok := g.signing(w, r, s)
	if !ok {
		return
	}
	do(ss)
	page := ss.Get(signKey(s.Grant.Office))
	if !g.officePath(s, page) {
		page = g.cfg.Home(s.Grant.Office)
	}
	g.save(r, ss)
	http.Redirect(w, r, page, http.StatusSeeOther)
}
