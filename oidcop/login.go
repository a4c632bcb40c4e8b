package oidcop

import (
	"embed"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/web"
)

//go:embed templates
var templates embed.FS

// PagesConfig is the card page's: the provider's terminal (kind App,
// registered at the platform) and its reader.
type PagesConfig struct {
	Site     *web.Site
	Cards    *card.Store
	Terminal terminal.Config
	// Reader is the terminal's reader; nil is the demo's virtual slot of Cards.
	Reader      terminal.Reader
	PlatformURL string
	HTTP        *http.Client
}

// Pages are the card page of §4.2: the person places their card and enters
// its PIN with the terminal kit, on a phone-sized screen; the platform
// checks the card for the purpose oidc, and the authorization completes.
type Pages struct {
	p       *Provider
	site    *web.Site
	screens *web.Pages
	kit     *terminal.Kit
}

// Pages sets up the card page. Routes registers it; the authorization
// callback needs it.
func (p *Provider) Pages(cfg PagesConfig) (*Pages, error) {
	if cfg.Terminal.Kind != platform.App {
		return nil, fmt.Errorf("oidcop: terminal %s is a %s terminal, not an %s terminal", cfg.Terminal.ID, cfg.Terminal.Kind, platform.App)
	}
	screens, err := terminal.Parse(cfg.Site, templates, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("oidcop: pages: %w", err)
	}
	t, err := terminal.New(cfg.Terminal, cfg.PlatformURL, cfg.HTTP)
	if err != nil {
		return nil, err
	}
	reader := cfg.Reader
	if reader == nil {
		reader = terminal.VirtualReader{Cards: cfg.Cards}
	}
	// The kit's actions hold the request's ID: each page sets them (actions).
	pg := &Pages{p: p, site: cfg.Site, screens: screens, kit: terminal.NewKit(terminal.KitConfig{Terminal: t, Reader: reader, Cards: cfg.Cards,
		Purpose: platform.PurposeOIDC, Screen: terminal.ScreenPhone, Now: p.now, Logger: p.logger})}
	p.pages = pg
	return pg, nil
}

// Routes registers the card page under RealmPath + LoginPath.
func (pg *Pages) Routes(mux *http.ServeMux) {
	prefix := RealmPath + LoginPath + "{id}"
	mux.HandleFunc("GET "+prefix+"/{$}", pg.screen)
	mux.HandleFunc("GET "+prefix, pg.screen)
	mux.HandleFunc("POST "+prefix+"/place", pg.place)
	mux.HandleFunc("POST "+prefix+"/pin", pg.pin)
	mux.HandleFunc("POST "+prefix+"/remove", pg.remove)
	mux.HandleFunc("POST "+prefix+"/back", pg.back)
	mux.HandleFunc("POST "+prefix+"/cancel", pg.cancel)
}

// The session keys: the authorization request this browser is at, and the
// one whose login completed (for the callback, once).
const (
	sessionRequest = "oidc:request"
	sessionDone    = "oidc:done"
)

type screenData struct {
	ID, ClientName, ClientID string
	// Asks are the scopes asked for besides openid (slice 2 grants none
	// of them yet).
	Asks   []string
	Card   *terminal.CardStep
	Action string // the page's own action prefix
}

// TerminalScreen is the phone screen.
func (screenData) TerminalScreen() terminal.Screen { return terminal.ScreenPhone }

var problemGone = web.Problem{Status: http.StatusNotFound, TitleJA: "このログインは終わっています", TitleEN: "This login has ended",
	WhatJA: "ログインの手続きが見つからないか、時間切れ、または終了しています。",
	WhatEN: "The login cannot be found, has timed out or has ended.",
	DoJA:   "利用中のサービスに戻って、ログインからやり直してください。", DoEN: "Go back to the service you were using and log in again."}

// request is the live authorization request the path names, with the
// browser's session, bound to it; false means the answer is written.
func (pg *Pages) request(w http.ResponseWriter, r *http.Request) (*authRequest, *web.Session, bool) {
	a, err := pg.p.authRequestByID(r.Context(), r.PathValue("id"))
	if err != nil || !a.EndedAt.IsZero() || !a.AuthTime.IsZero() || !pg.p.now().Before(a.ExpiresAt) {
		pg.site.Error(w, r, problemGone)
		return nil, nil, false
	}
	ss, ok := terminal.Session(pg.site, pg.p.logger, w, r)
	if !ok {
		return nil, nil, false
	}
	if ss.Get(sessionRequest) != a.ID {
		// Another login in this browser: its card step goes.
		pg.kit.Remove(ss)
		ss.Set(sessionRequest, a.ID)
	}
	return a, ss, true
}

func (pg *Pages) again(w http.ResponseWriter, r *http.Request, ss *web.Session, a *authRequest) {
	terminal.SaveSession(r, ss, pg.p.logger)
	http.Redirect(w, r, pg.p.Issuer()+LoginPath+a.ID+"/", http.StatusSeeOther)
}

func (pg *Pages) screen(w http.ResponseWriter, r *http.Request) {
	a, ss, ok := pg.request(w, r)
	if !ok {
		return
	}
	c, err := pg.p.Client(r.Context(), a.ClientID)
	if err != nil || !c.Enabled() {
		pg.site.Error(w, r, problemGone)
		return
	}
	terminal.SaveSession(r, ss, pg.p.logger)
	var asks []string
	for _, s := range a.Scopes {
		if s != "openid" {
			asks = append(asks, s)
		}
	}
	// The PIN, back and cancel forms end in a redirect to the RP, which a
	// browser checks against the page's CSP form-action: allow the
	// registered redirect URI's origin (exactly matched at the request).
	if err := web.AllowFormAction(w, a.RedirectURI); err != nil {
		pg.p.logger.ErrorContext(r.Context(), "oidc: the RP's origin", "client", a.ClientID, "err", err)
	}
	step := pg.kit.Card(r, ss)
	step.Actions = pg.actions(a.ID)
	pg.screens.Render(w, r, http.StatusOK, "login", screenData{ID: a.ID, ClientName: c.Name, ClientID: c.ID, Asks: asks, Card: step,
		Action: pg.p.Issuer() + LoginPath + a.ID + "/"})
}

// actions are the kit's actions for request id.
func (pg *Pages) actions(id string) terminal.Actions {
	base := pg.p.Issuer() + LoginPath + id + "/"
	return terminal.Actions{Place: base + "place", PIN: base + "pin", Remove: base + "remove"}
}

func (pg *Pages) place(w http.ResponseWriter, r *http.Request) {
	a, ss, ok := pg.request(w, r)
	if !ok {
		return
	}
	if res := pg.kit.Place(r, ss); !res.Passed() {
		ss.SetFlash(res.Flash())
	}
	pg.again(w, r, ss, a)
}

func (pg *Pages) remove(w http.ResponseWriter, r *http.Request) {
	a, ss, ok := pg.request(w, r)
	if !ok {
		return
	}
	pg.kit.Remove(ss)
	pg.again(w, r, ss, a)
}

// pin runs the card step. A pass completes the authorization and goes to
// the library's callback, which gives the code; a wrong PIN stays here
// with the tries left; a refusal the person cannot retry stops the flow,
// and the page offers 「サービスに戻る」.
func (pg *Pages) pin(w http.ResponseWriter, r *http.Request) {
	a, ss, ok := pg.request(w, r)
	if !ok {
		return
	}
	l, res := pg.kit.Login(r.Context(), r, ss)
	if !res.Passed() {
		if res.Message().Retry {
			ss.SetFlash(res.Flash())
		} else {
			// The card step shows the outcome that stopped the flow.
			pg.p.refused(r.Context(), a.ClientID, "", "authorize", "card "+string(res.Outcome))
		}
		pg.again(w, r, ss, a)
		return
	}
	// The card comes out: the login goes with the authorization, not the
	// browser's session.
	pg.kit.Remove(ss)
	if err := pg.p.completeAuthRequest(r.Context(), a, l.PlatformID); err != nil {
		pg.p.logger.ErrorContext(r.Context(), "oidc: complete the authorization", "err", err)
		terminal.SaveSession(r, ss, pg.p.logger)
		pg.site.Error(w, r, problemGone)
		return
	}
	if err := pg.p.audit(r.Context(), pg.p.db, a.ClientID, l.PlatformID, "authorize", "OK", "card login"); err != nil {
		pg.p.logger.ErrorContext(r.Context(), "oidc: audit", "err", err)
	}
	ss.Delete(sessionRequest)
	ss.Set(sessionDone, a.ID)
	terminal.SaveSession(r, ss, pg.p.logger)
	http.Redirect(w, r, pg.p.Issuer()+AuthPath+"/callback?id="+url.QueryEscape(a.ID), http.StatusSeeOther)
}

// cardError is §3 row 9: what a stopped card flow tells the RP.
func cardError(o terminal.Outcome) string {
	if slices.Contains([]terminal.Outcome{terminal.Indeterminate, terminal.Unreachable}, o) {
		return "temporarily_unavailable"
	}
	return "access_denied"
}

// back sends the person to the RP with the error of the outcome that
// stopped the card flow.
func (pg *Pages) back(w http.ResponseWriter, r *http.Request) {
	a, ss, ok := pg.request(w, r)
	if !ok {
		return
	}
	step := pg.kit.Card(r, ss)
	if step.Stop == nil {
		pg.again(w, r, ss, a)
		return
	}
	o := step.Stop.Outcome
	pg.end(w, r, ss, a, cardError(o), string(o))
}

// cancel ends the authorization at the person's wish.
func (pg *Pages) cancel(w http.ResponseWriter, r *http.Request) {
	a, ss, ok := pg.request(w, r)
	if !ok {
		return
	}
	pg.end(w, r, ss, a, "access_denied", "consent_refused")
}

// end ends the authorization request and redirects to the RP with the
// error, state and session_state (RFC 6749 §4.1.2.1).
func (pg *Pages) end(w http.ResponseWriter, r *http.Request, ss *web.Session, a *authRequest, code, desc string) {
	pg.kit.Remove(ss)
	ss.Delete(sessionRequest)
	terminal.SaveSession(r, ss, pg.p.logger)
	if _, err := pg.p.endAuthRequest(r.Context(), a.ID, code+" "+desc); err != nil {
		pg.p.logger.ErrorContext(r.Context(), "oidc: end the authorization", "err", err)
	}
	pg.p.refused(r.Context(), a.ClientID, "", "authorize", code+" "+desc)
	u, err := url.Parse(a.RedirectURI)
	if err != nil {
		pg.site.Error(w, r, problemGone)
		return
	}
	q := u.Query()
	q.Set("error", code)
	q.Set("error_description", desc)
	q.Set("state", a.State)
	q.Set("session_state", a.SessionState)
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

// callback guards the library's authorization callback: only the browser
// whose card login completed the request gets its code, once.
func (p *Provider) callback(w http.ResponseWriter, r *http.Request, next http.HandlerFunc) {
	if p.pages == nil {
		http.NotFound(w, r)
		return
	}
	ss, ok := terminal.Session(p.pages.site, p.logger, w, r)
	if !ok {
		return
	}
	id := r.URL.Query().Get("id")
	if id == "" || ss.Get(sessionDone) != id {
		p.pages.site.Error(w, r, problemGone)
		return
	}
	ss.Delete(sessionDone)
	terminal.SaveSession(r, ss, p.logger)
	next(w, r)
}
