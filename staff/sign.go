package staff

import (
	"errors"
	"net/http"
	"strings"

	"github.com/mynaplat/mynaplat/web"
)

// Signing with one's own card (issue 19 §4, written once for every
// office): a member of staff signed in at an office signs a document with
// the signing certificate of their own My Number Card, on the reader of
// the staff terminal they signed in at (Session.Terminal). The terminal is
// another role (staffdesk): the office reaches it only through the
// browser, by the signing handoff (handoff.go), and the terminal runs the
// card with its kit's steps — place the card, the signing password with
// its tries left, the kit's outcomes, its limits and its report of a
// refused password to the platform — so that no office writes a PIN page
// of its own and the gate, a server's package, never touches a card. The
// gate decides who may sign: before a digest is given to the card and
// again before the office's job completes, it asks the platform whose
// certificate it is (the JPKI linkage), and a card of anyone but the
// signed-in member of staff is refused (ErrNotOwnCard), with nothing
// signed and only the refusal in the directory's audit.
//
// An office offers it with two routes of its own: a GET that calls
// SendToSign (what is signed, and the office's signing job) and the POST
// the desk's page sends back, which calls SignedAtDesk with the same job.
// The gate mounts the desk API (Mount).

// ErrNotOwnCard is a card whose signing certificate is not the signed-in
// member of staff's.
var ErrNotOwnCard = errors.New("staff: the card's signing certificate is not the signed-in member of staff's")

// notOwnCard is the refusal's text.
var notOwnCard = web.Flash{Kind: "error",
	JA: "このカードの署名用電子証明書は、ログインしている職員本人のものではありません。何も署名していません。ご自分のカードを置いてください。",
	EN: "This card's signing certificate is not that of the member of staff signed in. Nothing was signed. Place your own card."}

// SignRequest is what an office asks its member of staff to sign.
type SignRequest struct {
	// Title heads the page; What says what is signed and what it does.
	TitleJA, TitleEN string
	WhatJA, WhatEN   string
	// Label is the password form's button ("署名する").
	LabelJA, LabelEN string
	// Action is the office's POST route that calls SignedAtDesk; Back
	// the office page to return to without signing. Both are paths of
	// the office (the desk joins them to the office's base URL).
	Action, Back string
}

// CanSign reports whether s can sign with their card: they signed in at a
// staff terminal (where the handoff sends them to sign), and the platform
// can say whose card it is.
func (g *Gate) CanSign(s *Session) bool {
	return g.cfg.SignerPerson != nil && s.Terminal != ""
}

// offProblem is the answer where the office cannot have s sign: no staff
// terminal to send them to, or no platform to say whose card it is.
var offProblem = web.Problem{Status: http.StatusServiceUnavailable, TitleJA: "ここではカードで署名できません", TitleEN: "No card signing here",
	WhatJA: "この事務所では、職員用端末のカードでの署名を使えません。何も署名していません。",
	WhatEN: "This office cannot have you sign with your card at a staff terminal. Nothing was signed.",
	DoJA:   "職員用端末でカードでログインしてから、もう一度お試しください。", DoEN: "Sign in with your card at a staff terminal, then try again."}

// officePath reports whether p is a path of s's office.
func (g *Gate) officePath(s *Session, p string) bool {
	return strings.HasPrefix(p, g.cfg.Home(s.Grant.Office)) && !strings.HasPrefix(p, "//")
}
