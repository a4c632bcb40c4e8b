package oidcop

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/jpki"
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
	// Signing checks the signing certificate read for attributes (§4.2
	// step 4): OCSP, and with its CRL cache set, the CRL when acr_values
	// has crl.
	Signing *jpki.SigningVerifier
}

// Pages are the card page of §4.2: the person places their card and enters
// its PIN with the terminal kit, on a phone-sized screen; the platform
// checks the card for the purpose oidc, and the authorization completes.
type Pages struct {
	p       *Provider
	site    *web.Site
	screens *web.Pages
	kit     *terminal.Kit
	signing *jpki.SigningVerifier
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
	pg := &Pages{p: p, site: cfg.Site, screens: screens, signing: cfg.Signing, kit: terminal.NewKit(terminal.KitConfig{Terminal: t, Reader: reader, Cards: cfg.Cards,
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
	mux.HandleFunc("POST "+prefix+"/place-pin", pg.placePIN)
	mux.HandleFunc("POST "+prefix+"/remove", pg.remove)
	mux.HandleFunc("POST "+prefix+"/back", pg.back)
	mux.HandleFunc("POST "+prefix+"/cancel", pg.cancel)
	mux.HandleFunc("POST "+prefix+"/consent", pg.consent)
	mux.HandleFunc("POST "+prefix+"/sign", pg.sign)
	mux.HandleFunc("POST "+prefix+"/login-only", pg.loginOnly)
}

// The session keys: the authorization request this browser is at. The one
// whose login completed is bound to the browser in its row instead
// (authRequest.Browser), so that the PIN post that completes it writes no
// session: what it puts in (the card, the kit's login) it takes out again.
const (
	sessionRequest = "oidc:request"
	// sessionLang is the request whose ui_locales chose the language.
	sessionLang = "oidc:lang"
	// sessionPending is the request whose card login passed and whose
	// consent (and signing password) steps are under way; the login is
	// the kit's (LoggedIn).
	sessionPending = "oidc:pending"
	// sessionConsent is the pending request's consented attributes:
	// "<request ID> <scope> …".
	sessionConsent = "oidc:consent"
	// sessionNoSign is the pending request whose card has no signing
	// certificate (a child's), where the person chooses (§3 row 13).
	sessionNoSign = "oidc:nosign"
)

type screenData struct {
	ID, ClientName, ClientID string
	// Asks are the attributes asked for; AllOrNone says they are given
	// together or not at all (--oidc-attribute-subsets=all-or-none).
	Asks      []string
	AllOrNone bool
	// Stage is the step shown: "card" (place, PIN), "consent", "sign"
	// (the signing password) or "nosign" (a card without a signing
	// certificate).
	Stage string
	// Consented are the attributes consented to (stage sign).
	Consented []string
	// SignTx is what the request asks the person to sign, if anything.
	SignTx *signTxView
	Card   *terminal.CardStep
	Sign   *terminal.SignStep
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
	// ui_locales=en picks the English page (§3 row 7), once: through the
	// site's language switch, so that the person can switch back.
	if loc := strings.Fields(a.UILocales); len(loc) > 0 && strings.HasPrefix(loc[0], "en") && ss.Get(sessionLang) != a.ID {
		ss.Set(sessionLang, a.ID)
		terminal.SaveSession(r, ss, pg.p.logger)
		if web.Lang(r) != "en" {
			http.Redirect(w, r, "/lang?"+url.Values{"to": {"en"}, "back": {RealmPath + LoginPath + a.ID + "/"}}.Encode(), http.StatusSeeOther)
			return
		}
	}
	asks := askedAttributes(a.Scopes)
	// The PIN, back and cancel forms end in a redirect to the RP, which a
	// browser checks against the page's CSP form-action: allow the
	// registered redirect URI's origin (exactly matched at the request).
	if err := web.AllowFormAction(w, a.RedirectURI); err != nil {
		pg.p.logger.ErrorContext(r.Context(), "oidc: the RP's origin", "client", a.ClientID, "err", err)
	}
	d := screenData{ID: a.ID, ClientName: c.Name, ClientID: c.ID, Asks: asks, Stage: "card", Action: pg.p.Issuer() + LoginPath + a.ID + "/"}
	if a.SignTxID != "" {
		if t, err := pg.p.signTx(r.Context(), a.SignTxID); err == nil {
			d.SignTx = &signTxView{DigestHex: hex.EncodeToString(t.Digest), DigestType: t.DigestType}
		}
	}
	if _, ok := pg.pending(ss, a); ok {
		consented, done := consentOf(ss, a)
		switch {
		case ss.Get(sessionNoSign) == a.ID:
			d.Stage = "nosign"
		case !done:
			d.Stage, d.AllOrNone = "consent", pg.p.cfg.AttributeSubsets == SubsetsAllOrNone
		default:
			d.Stage, d.Consented = "sign", consented
			if a.SignTxID != "" {
				d.Sign = pg.kit.SignCard(r, ss, "署名する", "Sign")
			} else {
				d.Sign = pg.kit.SignCard(r, ss, "確認して読み取る", "Confirm and read")
			}
			d.Sign.Actions = pg.actions(a.ID)
		}
	}
	terminal.SaveSession(r, ss, pg.p.logger)
	if d.Stage == "card" {
		d.Card = pg.kit.Card(r, ss)
		d.Card.Actions = pg.actions(a.ID)
	}
	pg.screens.Render(w, r, http.StatusOK, "login", d)
}

// signTxView is a sign transaction as the card page states it (§2.4
// step 3): the digest in hex and its type.
type signTxView struct{ DigestHex, DigestType string }

// needsConsent reports whether a asks for anything beyond the login.
func needsConsent(a *authRequest) bool {
	return len(askedAttributes(a.Scopes)) > 0 || a.SignTxID != ""
}

// pending is the login of a's card step when a waits for consent.
func (pg *Pages) pending(ss *web.Session, a *authRequest) (terminal.Login, bool) {
	if ss.Get(sessionPending) != a.ID {
		return terminal.Login{}, false
	}
	l, err := pg.kit.LoggedIn(ss)
	return l, err == nil
}

// consentOf is the attributes consented to for a, and whether the person
// has answered.
func consentOf(ss *web.Session, a *authRequest) ([]string, bool) {
	f := strings.Fields(ss.Get(sessionConsent))
	if len(f) == 0 || f[0] != a.ID {
		return nil, false
	}
	return f[1:], true
}

// actions are the kit's actions for request id.
func (pg *Pages) actions(id string) terminal.Actions {
	base := pg.p.Issuer() + LoginPath + id + "/"
	return terminal.Actions{Place: base + "place", PIN: base + "pin", Remove: base + "remove", Sign: base + "sign", PlacePIN: base + "place-pin"}
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
	pg.cardLogin(w, r, ss, a, l, res)
}

// placePIN is the card page's one post (the PIN, then the card held): the
// card placed and its PIN as pin's, in one request (terminal.Kit.PlaceLogin).
// A card at its last try comes back placed with the PIN pad under the
// last-try warning, its PIN not sent.
func (pg *Pages) placePIN(w http.ResponseWriter, r *http.Request) {
	a, ss, ok := pg.request(w, r)
	if !ok {
		return
	}
	l, res := pg.kit.PlaceLogin(r.Context(), r, ss)
	if res.Outcome == terminal.LastTry {
		pg.again(w, r, ss, a)
		return
	}
	pg.cardLogin(w, r, ss, a, l, res)
}

// cardLogin goes on from the card step's result: the consent step, the
// completion, or the card page again with what went wrong.
func (pg *Pages) cardLogin(w http.ResponseWriter, r *http.Request, ss *web.Session, a *authRequest, l terminal.Login, res terminal.Result) {
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
	if needsConsent(a) {
		// The consent step (§4.2 step 3); the card stays in.
		ss.Set(sessionPending, a.ID)
		ss.Delete(sessionConsent)
		ss.Delete(sessionNoSign)
		pg.again(w, r, ss, a)
		return
	}
	pg.finish(w, r, ss, a, l.PlatformID, nil, nil)
}

// cardSignature is what the card signed for a sign transaction.
type cardSignature struct{ sig, cert []byte }

// finish completes the authorization with the consented attributes' values
// and goes to the library's callback, which gives the code.
func (pg *Pages) finish(w http.ResponseWriter, r *http.Request, ss *web.Session, a *authRequest, personID string, attrs map[string]string, signed *cardSignature) {
	if signed != nil {
		// The transaction goes to this grant (its ID is the request's),
		// once.
		ok, err := pg.p.recordSignature(r.Context(), a.SignTxID, a.ClientID, a.ID, signed.sig, signed.cert)
		if err != nil || !ok {
			if err != nil {
				pg.p.logger.ErrorContext(r.Context(), "oidc: record the signature", "err", err)
			}
			pg.end(w, r, ss, a, "access_denied", "sign_transaction_unavailable")
			return
		}
	}
	// The card comes out: the login goes with the authorization, not the
	// browser's session.
	pg.kit.Remove(ss)
	ss.Delete(sessionPending)
	ss.Delete(sessionConsent)
	ss.Delete(sessionNoSign)
	reason := "card login"
	if len(attrs) > 0 {
		reason += ", attributes read from the signing certificate"
	}
	if signed != nil {
		reason += ", signed sign transaction " + a.SignTxID
	}
	if err := pg.p.completeAuthRequest(r.Context(), a, ss.Binding(), personID, attrs, signed != nil, reason); err != nil {
		pg.p.logger.ErrorContext(r.Context(), "oidc: complete the authorization", "err", err)
		terminal.SaveSession(r, ss, pg.p.logger)
		pg.site.Error(w, r, problemGone)
		return
	}
	// The request's row now names this browser for the callback; the
	// session keeps sessionRequest (the request is no longer live, so its
	// card page is gone) and, after a card step in this one request, is as
	// it was: the save writes nothing.
	terminal.SaveSession(r, ss, pg.p.logger)
	http.Redirect(w, r, pg.p.Issuer()+AuthPath+"/callback?id="+url.QueryEscape(a.ID), http.StatusSeeOther)
}

// consent takes the consent step's answer: 同意しない ends the
// authorization (access_denied, consent_refused); 同意する with nothing
// ticked logs in with openid; otherwise the signing password step reads
// the ticked attributes, unless the card has no signing certificate.
func (pg *Pages) consent(w http.ResponseWriter, r *http.Request) {
	a, ss, ok := pg.request(w, r)
	if !ok {
		return
	}
	l, ok := pg.pending(ss, a)
	if !ok {
		pg.again(w, r, ss, a)
		return
	}
	if r.PostFormValue("decision") != "agree" {
		pg.end(w, r, ss, a, "access_denied", "consent_refused")
		return
	}
	asked := askedAttributes(a.Scopes)
	var ticked []string
	for _, s := range asked {
		// All or none (§3 row 10): 同意する gives every attribute asked.
		if slices.Contains(r.PostForm["attr"], s) || pg.p.cfg.AttributeSubsets == SubsetsAllOrNone {
			ticked = append(ticked, s)
		}
	}
	if len(ticked) == 0 && a.SignTxID == "" {
		pg.finish(w, r, ss, a, l.PlatformID, nil, nil)
		return
	}
	ss.Set(sessionConsent, a.ID+" "+strings.Join(ticked, " "))
	if tr, err := pg.kit.Placed(r, ss); err == nil && !hasSigningCert(tr) {
		if pg.p.cfg.NoSigningCert == NoSignRefuse {
			pg.end(w, r, ss, a, "access_denied", string(terminal.NoSignCert))
			return
		}
		ss.Set(sessionNoSign, a.ID)
	}
	pg.again(w, r, ss, a)
}

// hasSigningCert tells a card without a signing certificate (a holder
// under 15) before any password is asked: its certificate file is not
// there at all.
func hasSigningCert(tr card.Transport) bool {
	_, err := card.NewClient(tr).Certificate(card.Sign)
	return !errors.Is(err, card.ErrNotFound)
}

// loginOnly is 「ログインだけ続ける」 of a card without a signing
// certificate: the authorization completes with openid (§3 row 13).
func (pg *Pages) loginOnly(w http.ResponseWriter, r *http.Request) {
	a, ss, ok := pg.request(w, r)
	if !ok {
		return
	}
	l, ok := pg.pending(ss, a)
	if !ok || ss.Get(sessionNoSign) != a.ID {
		pg.again(w, r, ss, a)
		return
	}
	pg.finish(w, r, ss, a, l.PlatformID, nil, nil)
}

// sign is the signing password step (§4.2 step 4): the card reads its
// signing certificate with the password (which goes to the card only);
// the provider checks it (by CRL when acr_values has crl), asks the
// platform whose it is, refuses unless it is the login's person, and reads
// the consented attributes from it.
func (pg *Pages) sign(w http.ResponseWriter, r *http.Request) {
	a, ss, ok := pg.request(w, r)
	if !ok {
		return
	}
	l, ok := pg.pending(ss, a)
	consented, done := consentOf(ss, a)
	if !ok || !done || (len(consented) == 0 && a.SignTxID == "") {
		pg.again(w, r, ss, a)
		return
	}
	var hash []byte
	if a.SignTxID != "" {
		t, err := pg.p.signTx(r.Context(), a.SignTxID)
		if err == nil {
			hash, _, err = parseDigest(t.Digest)
		}
		if err != nil {
			pg.end(w, r, ss, a, "access_denied", "sign_transaction_unavailable")
			return
		}
	}
	source := jpki.ByOCSP
	if slices.Contains(strings.Fields(a.ACR), "crl") {
		source = jpki.ByCRL
	}
	var holder *jpki.Holder
	var signed *cardSignature
	res, err := pg.kit.Sign(r, ss, func(cert *x509.Certificate, signer crypto.Signer) error {
		var err error
		if holder, err = pg.p.checkSigner(r.Context(), pg.signing, cert, source, l.PlatformID); err != nil {
			return err
		}
		if hash != nil {
			// RSASSA-PKCS1-v1_5 over the SHA-256 DigestInfo of the hash: a
			// bare digest is wrapped as JPKI does, and a DigestInfo given
			// is that same DigestInfo.
			sig, err := signer.Sign(rand.Reader, hash, crypto.SHA256)
			if err != nil {
				return fmt.Errorf("oidcop: the card's signature: %w", err)
			}
			signed = &cardSignature{sig: sig, cert: cert.Raw}
		}
		return nil
	})
	var rf *signRefusal
	switch {
	case errors.As(err, &rf):
		pg.p.logger.InfoContext(r.Context(), "oidc: signing certificate refused", "client", a.ClientID, "reason", rf.desc, "err", rf.err)
		pg.end(w, r, ss, a, rf.code, rf.desc)
		return
	case err != nil:
		pg.p.logger.ErrorContext(r.Context(), "oidc: the signing step", "err", err)
		pg.end(w, r, ss, a, "temporarily_unavailable", "server_error")
		return
	case res.Outcome == terminal.NoSignCert:
		ss.Set(sessionNoSign, a.ID)
		pg.again(w, r, ss, a)
		return
	case !res.Passed() && res.Message().Retry:
		ss.SetFlash(res.Flash())
		pg.again(w, r, ss, a)
		return
	case !res.Passed():
		pg.end(w, r, ss, a, cardError(res.Outcome, pg.p.cfg.CardError), string(res.Outcome))
		return
	}
	pg.finish(w, r, ss, a, l.PlatformID, attributeValues(holder, consented, pg.p.cfg.AttributeFormat), signed)
}

// cardError is §3 row 9: what a stopped card flow tells the RP.
// A card refusal's code is --oidc-card-error (default access_denied).
func cardError(o terminal.Outcome, refusal string) string {
	if slices.Contains([]terminal.Outcome{terminal.Indeterminate, terminal.Unreachable}, o) {
		return "temporarily_unavailable"
	}
	return refusal
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
	pg.end(w, r, ss, a, cardError(o, pg.p.cfg.CardError), string(o))
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
	if pg.p.cfg.AuthzIss {
		q.Set("iss", pg.p.Issuer())
	}
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
	if id == "" {
		p.pages.site.Error(w, r, problemGone)
		return
	}
	// Only the browser that completed the request (its row names it), and
	// once: a request that has its code already is gone. The request's
	// row says both (SaveAuthCode gives one code, under concurrency too),
	// so the session is not written for it.
	a, err := p.authRequestByID(r.Context(), id)
	if err != nil || a.Browser == "" || a.Browser != ss.Binding() || !a.CodeExpiresAt.IsZero() {
		p.pages.site.Error(w, r, problemGone)
		return
	}
	// The library's callback reads the request next (AuthRequestByID): it
	// gets this read rather than a second one.
	r = r.WithContext(context.WithValue(r.Context(), readAuthRequest{}, a))
	if a.ResponseMode == ModeFormPost {
		fp := &formPoster{ResponseWriter: w, p: p}
		next(fp, r)
		fp.flush()
		return
	}
	next(w, r)
}

// readAuthRequest is the context key of the authorization request the
// callback read (an *authRequest).
type readAuthRequest struct{}

// formPoster turns the library's redirect to the RP into a form_post
// response (OAuth 2.0 Form Post Response Mode, §3 row 24): a page whose
// form posts the answer's parameters to the redirect URI. The site's
// /static/autosubmit.js posts it at once (a file of this site: the CSP
// allows no inline script); without scripts the person presses its
// button. The form's action is allowed for the redirect URI's origin only.
type formPoster struct {
	http.ResponseWriter
	p        *Provider
	location *url.URL
}

func (f *formPoster) WriteHeader(code int) {
	if code >= 300 && code < 400 && f.location == nil {
		if u, err := url.Parse(f.Header().Get("Location")); err == nil {
			f.location = u
			return
		}
	}
	f.ResponseWriter.WriteHeader(code)
}

func (f *formPoster) Write(b []byte) (int, error) {
	if f.location != nil {
		return len(b), nil // the redirect's own body
	}
	return f.ResponseWriter.Write(b)
}

// flush writes the form page of the intercepted redirect.
func (f *formPoster) flush() {
	if f.location == nil {
		return
	}
	q := f.location.Query()
	if f.p.cfg.AuthzIss {
		q.Set("iss", f.p.Issuer())
	}
	action := *f.location
	action.RawQuery = ""
	h := f.ResponseWriter.Header()
	h.Del("Location")
	if err := web.AllowFormAction(f.ResponseWriter, action.String()); err != nil {
		f.p.logger.Error("oidc: form_post", "err", err)
		http.Error(f.ResponseWriter, "form_post", http.StatusInternalServerError)
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	f.ResponseWriter.WriteHeader(http.StatusOK)
	var fields []struct{ Name, Value string }
	for _, k := range slices.Sorted(maps.Keys(q)) {
		fields = append(fields, struct{ Name, Value string }{k, q.Get(k)})
	}
	if err := formPostPage.Execute(f.ResponseWriter, struct {
		Action string
		Fields []struct{ Name, Value string }
	}{action.String(), fields}); err != nil {
		f.p.logger.Error("oidc: form_post", "err", err)
	}
}

var formPostPage = template.Must(template.New("form_post").Parse(`<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>サービスに戻る / Back to the service</title>
<link rel="stylesheet" href="/static/style.css">
<script src="/static/autosubmit.js" defer></script></head>
<body><main>
<p>ログインが終わりました。<br>You are logged in.</p>
<noscript><p id="form-post-noscript">ボタンを押してサービスに戻ってください。<br>Press the button to go back to the service.</p></noscript>
<form method="post" action="{{.Action}}" id="form-post" data-autosubmit>
{{range .Fields}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<button type="submit" id="form-post-submit">サービスに戻る / Back to the service</button>
</form></main></body></html>
`))
