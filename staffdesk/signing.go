package staffdesk

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/staff"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/web"
)

// The desk's side of the offices' signing handoff (staff/handoff.go): an
// office sends the officer's browser here with its state; the desk asks
// the office's desk API what is signed, shows it with the kit's steps on
// this terminal's reader (the card to place, the signing password with its
// tries left, the kit's outcomes, limits and report of a refused
// password), and in the card session asks the office, with the card's
// signing certificate, for the digest to sign. The card signs it; the
// desk's page then posts the certificate and the signature back to the
// office's action with the state. The PIN never leaves the desk, and the
// desk keeps nothing after the hand-back.
//
//	GET  /staffdesk/{id}/sign?office=…&state=…   what is signed, the card step
//	POST /staffdesk/{id}/sign/place|remove       the kit's card actions
//	POST /staffdesk/{id}/sign                    the signing password; ends in the hand-back

// Session keys of the desk's signing handoff.
func signOfficeKey(id string) string { return "staffdesk:" + id + ":sign:office" }
func signStateKey(id string) string  { return "staffdesk:" + id + ":sign:state" }

// signData is the signing page's data.
type signData struct {
	staff.DeskTicket
	// Back is the office's page to go back to without signing.
	Back string
	// Card is the card step while no card is on the reader; Sign the
	// signing step once one is, with Holder its holder's name.
	Card   *terminal.CardStep
	Sign   *terminal.SignStep
	Holder string
}

// TerminalScreen is the desk's screen.
func (signData) TerminalScreen() terminal.Screen { return terminal.ScreenDesk }

// signBack is the form that takes the signature back to the office.
type signBack struct {
	Name, Office, Action       string
	State, Certificate, Signed string
}

// TerminalScreen is the desk's screen.
func (signBack) TerminalScreen() terminal.Screen { return terminal.ScreenDesk }

// officeAPI is the base URL the desk calls office's desk API at (its
// kind's configured host, or this one) and the base its browser pages link
// to ("" for this host).
func (p *Pages) officeAPI(office string) (api, base string, err error) {
	if _, err := staff.SignDeskPath(office); err != nil {
		return "", "", err
	}
	kind, err := staff.OfficeKind(office)
	if err != nil {
		return "", "", err
	}
	base = p.offices[kind]
	api = base
	if api == "" {
		api = p.self
	}
	if api == "" {
		return "", "", errors.New("staffdesk: no URL to reach the office's desk API")
	}
	return api, base, nil
}

// ticket asks office's desk API for the handoff of state (with cert, the
// digest to sign too). A refusal of the office is a *httpapi.Error.
func (p *Pages) ticket(r *http.Request, id, office, state string, cert *x509.Certificate) (staff.DeskTicket, error) {
	var t staff.DeskTicket
	api, _, err := p.officeAPI(office)
	if err != nil {
		return t, err
	}
	path, _ := staff.SignDeskPath(office)
	q := staff.DeskQuery{State: state, Terminal: id}
	if cert != nil {
		q.Certificate = cert.Raw
	}
	c := httpapi.Client{Service: "office", BaseURL: api, HTTP: p.hc, Retries: -1}
	if _, err = c.DoJSON(r.Context(), httpapi.Request{Method: http.MethodPost, Path: path, JSON: q}, &t); err != nil {
		return t, err
	}
	if !officePath(t.Req.Action) || !officePath(t.Req.Back) {
		return t, fmt.Errorf("%w (%q, %q)", errForeignPath, t.Req.Action, t.Req.Back)
	}
	return t, nil
}

// errForeignPath is an office's answer whose action or way back is not a
// path of the office's host.
var errForeignPath = errors.New("staffdesk: the office's signing request names another host")

// refusal is what the desk shows for err of the office's desk API.
func refusal(err error) web.Flash {
	if e, ok := errors.AsType[*httpapi.Error](err); ok && e.MessageJA != "" && !e.Bare {
		return web.Flash{Kind: "error", JA: e.MessageJA, EN: e.MessageEN}
	}
	if errors.Is(err, errForeignPath) {
		return web.Flash{Kind: "error", JA: "事務所からの署名の依頼が正しくありません。何も署名していません。",
			EN: "The office's signing request is not right. Nothing was signed."}
	}
	return web.Flash{Kind: "error", JA: "事務所のサーバーに接続できません。何も署名していません。しばらくしてからもう一度お試しください。",
		EN: "The office's server cannot be reached. Nothing was signed. Please try again shortly."}
}

func (p *Pages) signPage(w http.ResponseWriter, r *http.Request) {
	t, ss, ok := p.stations.Lookup(w, r)
	if !ok {
		return
	}
	if office := r.URL.Query().Get("office"); office != "" {
		// An office's handoff: a new one replaces any before it.
		if _, _, err := p.officeAPI(office); err != nil {
			p.site.Error(w, r, web.Problem{Status: http.StatusBadRequest, TitleJA: "この事務所の署名はできません", TitleEN: "No signing for this office",
				WhatJA: "事務所の指定が正しくないか、職員カードでの署名に対応していない事務所です。", WhatEN: "The office is not right, or it does not take card signatures.",
				DoJA: "事務所の画面からやり直してください。", DoEN: "Start again from the office's page."})
			return
		}
		ss.Set(signOfficeKey(t.ID), office)
		ss.Set(signStateKey(t.ID), r.URL.Query().Get("state"))
		p.stations.Save(r, ss)
		http.Redirect(w, r, "/staffdesk/"+t.ID+"/sign", http.StatusSeeOther)
		return
	}
	office, state := ss.Get(signOfficeKey(t.ID)), ss.Get(signStateKey(t.ID))
	if office == "" {
		p.site.Done(w, r, web.Flash{Kind: "error", JA: "事務所の画面から署名を始めてください。", EN: "Start signing from the office's page."}, "/staffdesk/"+t.ID+"/")
		return
	}
	tk, err := p.ticket(r, t.ID, office, state, nil)
	if err != nil {
		p.logger.WarnContext(r.Context(), "staffdesk: the office's signing request", "office", office, "err", err)
		f := refusal(err)
		p.site.Error(w, r, web.Problem{Status: http.StatusConflict, TitleJA: "署名できません", TitleEN: "Nothing to sign",
			WhatJA: f.JA, WhatEN: f.EN, DoJA: "事務所の画面からやり直してください。", DoEN: "Start again from the office's page."})
		return
	}
	_, base, _ := p.officeAPI(office)
	kit := p.stations.Kit(t.ID)
	acts := terminal.Actions{Place: "/staffdesk/" + t.ID + "/sign/place", Sign: "/staffdesk/" + t.ID + "/sign", Remove: "/staffdesk/" + t.ID + "/sign/remove"}
	d := signData{DeskTicket: tk, Back: base + tk.Req.Back}
	if _, err := kit.Placed(r, ss); err != nil {
		d.Card = kit.Card(r, ss)
		d.Card.Actions = acts
	} else {
		d.Sign = kit.SignCard(r, ss, tk.Req.LabelJA, tk.Req.LabelEN)
		d.Sign.Actions = acts
		d.Holder = kit.Holder(ss)
	}
	p.screens.Render(w, r, http.StatusOK, "sign", d)
}

func (p *Pages) signPlace(w http.ResponseWriter, r *http.Request) {
	t, ss, ok := p.stations.Lookup(w, r)
	if !ok {
		return
	}
	if res := p.stations.Kit(t.ID).Place(r, ss); !res.Passed() {
		ss.SetFlash(res.Flash())
	}
	p.stations.Save(r, ss)
	http.Redirect(w, r, "/staffdesk/"+t.ID+"/sign", http.StatusSeeOther)
}

func (p *Pages) signRemove(w http.ResponseWriter, r *http.Request) {
	t, ss, ok := p.stations.Lookup(w, r)
	if !ok {
		return
	}
	p.stations.Kit(t.ID).Remove(ss)
	p.stations.Save(r, ss)
	http.Redirect(w, r, "/staffdesk/"+t.ID+"/sign", http.StatusSeeOther)
}

// errOfficeRefused stops the card session when the office refuses the
// card (another person's, the handoff expired).
var errOfficeRefused = errors.New("staffdesk: the office refused")

func (p *Pages) sign(w http.ResponseWriter, r *http.Request) {
	t, ss, ok := p.stations.Lookup(w, r)
	if !ok {
		return
	}
	again := func(f web.Flash) {
		ss.SetFlash(f)
		p.stations.Save(r, ss)
		http.Redirect(w, r, "/staffdesk/"+t.ID+"/sign", http.StatusSeeOther)
	}
	office, state := ss.Get(signOfficeKey(t.ID)), ss.Get(signStateKey(t.ID))
	_, base, err := p.officeAPI(office)
	if err != nil {
		p.site.Done(w, r, web.Flash{Kind: "error", JA: "事務所の画面から署名を始めてください。", EN: "Start signing from the office's page."}, "/staffdesk/"+t.ID+"/")
		return
	}
	kit := p.stations.Kit(t.ID)
	var (
		tk       staff.DeskTicket
		certDER  []byte
		sig      []byte
		officeNo error
	)
	res, err := kit.Sign(r, ss, func(cert *x509.Certificate, signer crypto.Signer) error {
		var err error
		if tk, err = p.ticket(r, t.ID, office, state, cert); err != nil {
			officeNo = err
			return errOfficeRefused
		}
		if len(tk.Digest) != 32 {
			officeNo = errors.New("staffdesk: the office's digest is not SHA-256")
			return errOfficeRefused
		}
		if sig, err = signer.Sign(rand.Reader, tk.Digest, crypto.SHA256); err != nil {
			return err
		}
		certDER = cert.Raw
		return nil
	})
	switch {
	case officeNo != nil:
		p.logger.WarnContext(r.Context(), "staffdesk: the office refused the signature", "office", office, "err", officeNo)
		f := refusal(officeNo)
		if e, ok := errors.AsType[*httpapi.Error](officeNo); ok && e.Code == staff.CodeNotOwn {
			// Another person's card: it comes off the reader.
			kit.Remove(ss)
		}
		again(f)
		return
	case err != nil:
		if r, ok := terminal.SignFailure(err); ok {
			f := r.Flash()
			f.JA, f.EN = "何も署名していません。"+f.JA, "Nothing was signed. "+f.EN
			again(f)
			return
		}
		p.logger.ErrorContext(r.Context(), "staffdesk: sign", "terminal", t.ID, "err", err)
		again(web.Flash{Kind: "error", JA: "カードで署名できませんでした。何も署名していません。", EN: "The card could not sign. Nothing was signed."})
		return
	case !res.Passed():
		f := res.Flash()
		f.JA, f.EN = "何も署名していません。"+f.JA, "Nothing was signed. "+f.EN
		again(f)
		return
	}
	// Signed: the card comes out and the desk keeps nothing; the
	// signature goes back to the office with the state.
	kit.Remove(ss)
	ss.Delete(signOfficeKey(t.ID))
	ss.Delete(signStateKey(t.ID))
	p.stations.Save(r, ss)
	if base != "" {
		if err := web.AllowFormAction(w, base); err != nil {
			p.logger.ErrorContext(r.Context(), "staffdesk: the office's origin", "office", office, "err", err)
		}
	}
	p.screens.Render(w, r, http.StatusOK, "signback", signBack{Name: t.Name, Office: tk.OfficeName, Action: base + tk.Req.Action, State: state,
		Certificate: base64.StdEncoding.EncodeToString(certDER), Signed: base64.StdEncoding.EncodeToString(sig)})
}

// officePath reports whether p, from the office, is a path (not another
// host): the desk joins it to the office's configured base, so that a
// signature goes nowhere but to the office the handoff came from.
func officePath(p string) bool {
	u, err := url.Parse(p)
	return err == nil && u.Scheme == "" && u.Host == "" && len(p) > 0 && p[0] == '/' && (len(p) < 2 || p[1] != '/')
}
