package nissayweb

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mynaplat/mynaplat/web"
)

// The session keys: a flow in flight (its state, nonce, verifier and what
// it is for) and the logged-in customer.
const (
	keyState    = "nissayweb.state"
	keyNonce    = "nissayweb.nonce"
	keyVerifier = "nissayweb.verifier"
	keyFlow     = "nissayweb.flow" // "login" or "sign <transaction ID>"
	keySub      = "nissayweb.sub"
	keyRef      = "nissayweb.ref"
	keyCardAddr = "nissayweb.card_address"
	keyIDToken  = "nissayweb.id_token" // the login's, the hint of its logout
	// The document confirmed, not yet sent for signing.
	keyDraftAddr = "nissayweb.draft_address"
	keyDraftDoc  = "nissayweb.draft_document"
)

// maxAddress bounds a typed address (in characters).
const maxAddress = 200

// refusal is what the refusal page says, in both languages.
type refusal struct {
	Code                                         string
	TitleJA, TitleEN, WhatJA, WhatEN, DoJA, DoEN string
}

var (
	refusalState = refusal{Code: "state_mismatch", TitleJA: "手続きを続けられません", TitleEN: "This step cannot go on",
		WhatJA: "このブラウザで始めた手続きの応答ではないか、すでに使われた応答です（再読み込みや古い画面など）。何も変えていません。",
		WhatEN: "The answer did not belong to a step started in this browser, or was already used (a reload or an old tab). Nothing was changed.",
		DoJA:   "お客さまページに戻ってください。", DoEN: "Go back to your customer page."}
	refusalProvider = refusal{Code: "provider", TitleJA: "デジタル認証アプリにつながりません", TitleEN: "The digital authentication app is not answering",
		WhatJA: "ログインや電子署名を受け付けるサービスと、正しくやりとりできませんでした。何も変えていません。",
		WhatEN: "The service that handles logins and e-signatures did not answer as it should. Nothing was changed.",
		DoJA:   "しばらくしてから、もう一度お試しください。", DoEN: "Please try again in a while."}
	refusalNoCustomer = refusal{Code: "no_customer", TitleJA: "お客さま情報が見つかりません", TitleEN: "We could not find your customer record",
		WhatJA: "カードの氏名と生年月日に合う日本生命のご契約が、ひとつに定まりませんでした。",
		WhatEN: "No single Nippon Life contract matches the name and birth date on your card.",
		DoJA:   "初回のログインでは「氏名」「生年月日」の提供に同意してください。それでも見つからないときは、担当者にお問い合わせください。",
		DoEN:   "At your first login, agree to share your name and birth date. If it still fails, contact your Nippon Life representative."}
	refusalSignature = refusal{Code: "bad_signature", TitleJA: "電子署名を確認できませんでした", TitleEN: "The e-signature could not be verified",
		WhatJA: "届いた電子署名が、この住所変更届への有効な署名と確認できませんでした。住所は変えていません。",
		WhatEN: "The e-signature received could not be verified as a valid signature of this change of address. Your address was not changed.",
		DoJA:   "もう一度お手続きください。続くときは担当者にお問い合わせください。", DoEN: "Please try again. If it keeps happening, contact your representative."}
)

// refusalFor words the provider's error answer.
func refusalFor(code, desc string, signing bool) refusal {
	rf := refusal{Code: strings.TrimSpace(code + " " + desc), TitleJA: "ログインできませんでした", TitleEN: "You could not log in",
		DoJA: "もう一度お試しください。", DoEN: "Please try again."}
	if signing {
		rf.TitleJA, rf.TitleEN = "住所変更は行われませんでした", "Your address was not changed"
	}
	switch {
	case code == "access_denied" && desc == "consent_refused":
		rf.WhatJA, rf.WhatEN = "デジタル認証アプリで中止されました。日本生命には何も届いていません。", "It was cancelled at the digital authentication app. Nothing reached Nippon Life."
	case code == "access_denied" && (desc == "revoked" || desc == "expired"):
		rf.WhatJA, rf.WhatEN = "このカードの電子証明書は失効しているか、有効期限が切れています。", "The certificates of this card are revoked or expired."
		rf.DoJA, rf.DoEN = "市区町村の窓口で電子証明書を更新してください。", "Renew the certificates at your town hall's counter."
	case code == "access_denied" && (desc == "pin_blocked" || desc == "sign_blocked"):
		rf.WhatJA, rf.WhatEN = "暗証番号を続けて間違えたため、カードがロックされています。", "The card is locked after too many wrong PINs."
		rf.DoJA, rf.DoEN = "市区町村の窓口で、暗証番号の再設定を受けてください。", "Ask your town hall's counter to reset the PIN."
	case code == "temporarily_unavailable":
		rf.WhatJA, rf.WhatEN = "カードの失効情報をいま確認できませんでした。", "Whether the card is revoked cannot be checked right now."
	default:
		rf.WhatJA, rf.WhatEN = "デジタル認証アプリが受け付けませんでした。", "The digital authentication app did not accept it."
	}
	return rf
}

func (p *Page) refuse(w http.ResponseWriter, r *http.Request, status int, rf refusal) {
	p.pages.Render(w, r, status, "refused", rf)
}

func (p *Page) session(w http.ResponseWriter, r *http.Request) (*web.Session, bool) {
	ss, err := p.site.Session(w, r)
	if err != nil {
		p.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return nil, false
	}
	return ss, true
}

func (p *Page) save(w http.ResponseWriter, r *http.Request, ss *web.Session) bool {
	if err := ss.Save(r.Context()); err != nil {
		p.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return false
	}
	return true
}

// top is the customer page: the login button, or the customer's record
// and the address change form.
func (p *Page) top(w http.ResponseWriter, r *http.Request) {
	ss, ok := p.session(w, r)
	if !ok {
		return
	}
	data := struct {
		LoggedIn    bool
		Customer    Customer
		CardAddress string
		Changes     []SignedChange
	}{}
	if ref := ss.Get(keyRef); ref != "" {
		c, err := p.cfg.Customers.Get(r.Context(), ref)
		changes, err2 := p.signedChanges(r.Context(), ref)
		if err = errors.Join(err, err2); err != nil {
			p.log.ErrorContext(r.Context(), "nissayweb: top", "err", err)
			p.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
			return
		}
		data.LoggedIn, data.Customer, data.CardAddress, data.Changes = true, c, ss.Get(keyCardAddr), changes
		// The change form's answer goes on to the provider, at another
		// host when the page is apart from it.
		if err := web.AllowFormAction(w, p.cfg.Issuer); err != nil {
			p.log.ErrorContext(r.Context(), "nissayweb: form action", "err", err)
		}
	}
	p.pages.Render(w, r, http.StatusOK, "top", data)
}

// begin sends the browser to the provider for flow, keeping the flow's
// state, nonce and verifier in the session.
func (p *Page) begin(w http.ResponseWriter, r *http.Request, ss *web.Session, flow string, scopes []string, extra url.Values) {
	f, err := p.rp.Start(r.Context(), scopes, web.Lang(r) == "en", extra)
	if err != nil {
		p.log.WarnContext(r.Context(), "nissayweb: discovery", "err", err)
		p.refuse(w, r, http.StatusBadGateway, refusalProvider)
		return
	}
	ss.Set(keyState, f.State)
	ss.Set(keyNonce, f.Nonce)
	ss.Set(keyVerifier, f.Verifier)
	ss.Set(keyFlow, flow)
	if !p.save(w, r, ss) {
		return
	}
	http.Redirect(w, r, f.URL, http.StatusSeeOther)
}

// startLogin asks for the card login with name, address and birthdate:
// name and birth date match the customer at the first login, the address
// is offered as the new address.
func (p *Page) startLogin(w http.ResponseWriter, r *http.Request) {
	ss, ok := p.session(w, r)
	if !ok {
		return
	}
	p.begin(w, r, ss, "login", []string{"name", "address", "birthdate"}, nil)
}

// callback takes the provider's answer to a login or a signing.
func (p *Page) callback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ss, ok := p.session(w, r)
	if !ok {
		return
	}
	state, nonce, verifier, flow := ss.Get(keyState), ss.Get(keyNonce), ss.Get(keyVerifier), ss.Get(keyFlow)
	q := r.URL.Query()
	if state == "" || q.Get("state") != state {
		// A reload, a replayed callback or another browser's answer: a
		// flow's state is good once, so nothing is done with it.
		p.audit(ctx, ss.Get(keySub), "callback", "refused", "state_mismatch")
		p.refuse(w, r, http.StatusBadRequest, refusalState)
		return
	}
	for _, k := range []string{keyState, keyNonce, keyVerifier, keyFlow} {
		ss.Delete(k)
	}
	if !p.save(w, r, ss) {
		return
	}
	txID, signing := strings.CutPrefix(flow, "sign ")
	if e := q.Get("error"); e != "" {
		p.audit(ctx, ss.Get(keySub), flow, "refused", e+" "+q.Get("error_description"))
		p.refuse(w, r, http.StatusOK, refusalFor(e, q.Get("error_description"), signing))
		return
	}
	l, err := p.exchange(ctx, q.Get("code"), verifier, nonce)
	if err != nil {
		p.log.WarnContext(ctx, "nissayweb: token", "err", err)
		p.audit(ctx, ss.Get(keySub), flow, "refused", "token")
		p.refuse(w, r, http.StatusBadGateway, refusalProvider)
		return
	}
	if signing {
		p.finishChange(w, r, ss, txID, l)
		return
	}
	p.finishLogin(w, r, ss, l)
}

// finishLogin links the sub to the customer: by the link of an earlier
// login, or by the card's name and birth date.
func (p *Page) finishLogin(w http.ResponseWriter, r *http.Request, ss *web.Session, l *login) {
	ctx := r.Context()
	ref, err := p.linkOf(ctx, l.Sub)
	if err == nil && ref == "" {
		var birth time.Time
		birth, err = time.Parse(time.DateOnly, l.Claims.Birthdate)
		if err != nil {
			birth, err = time.Parse("20060102", l.Claims.Birthdate)
		}
		if l.Claims.Name == "" || err != nil {
			p.audit(ctx, l.Sub, "login", "refused", "no name or birthdate to match")
			p.refuse(w, r, http.StatusOK, refusalNoCustomer)
			return
		}
		var c Customer
		c, err = p.cfg.Customers.Match(ctx, l.Claims.Name, birth)
		if errors.Is(err, ErrNoCustomer) {
			p.audit(ctx, l.Sub, "login", "refused", "no single customer")
			p.refuse(w, r, http.StatusOK, refusalNoCustomer)
			return
		}
		ref = c.Ref
	}
	if err == nil {
		_, err = p.db.Write(ctx, qUpsertLink, l.Sub, ref, p.now().UnixMilli())
	}
	if err != nil {
		p.log.ErrorContext(ctx, "nissayweb: login", "err", err)
		p.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	p.audit(ctx, l.Sub, "login", "ok", ref)
	ss.Set(keySub, l.Sub)
	ss.Set(keyRef, ref)
	ss.Set(keyCardAddr, l.Claims.Address)
	ss.Set(keyIDToken, l.RawIDToken)
	ss.SetFlash(web.Flash{Kind: "ok", JA: "マイナンバーカードでログインしました。", EN: "You are logged in with your My Number Card."})
	if !p.save(w, r, ss) {
		return
	}
	http.Redirect(w, r, Home, http.StatusSeeOther)
}

// document is the 住所変更届 the customer signs.
func document(c Customer, newAddress, id string, at time.Time) []byte {
	return fmt.Appendf(nil, "住所変更届 / Change of address\n宛先: 日本生命保険相互会社\nお客さま番号: %s\n氏名: %s\n旧住所: %s\n新住所: %s\n届出日: %s\n受付番号: %s\n",
		c.Ref, c.Name, c.Address, newAddress, at.Format(time.DateOnly), id)
}

// confirmChange builds the 住所変更届 and shows it with its SHA-256, the
// value the provider's page will show, before anything is signed.
func (p *Page) confirmChange(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ss, ok := p.session(w, r)
	if !ok {
		return
	}
	sub, ref := ss.Get(keySub), ss.Get(keyRef)
	if ref == "" {
		http.Redirect(w, r, Home, http.StatusSeeOther)
		return
	}
	addr := strings.TrimSpace(r.PostFormValue("address"))
	if r.PostFormValue("use_card") == "1" {
		addr = ss.Get(keyCardAddr)
	}
	c, err := p.cfg.Customers.Get(ctx, ref)
	if err != nil {
		p.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	if addr == "" || utf8.RuneCountInString(addr) > maxAddress || addr == c.Address {
		p.audit(ctx, sub, "change", "refused", "bad address")
		p.site.Error(w, r, web.Problem{Status: http.StatusBadRequest, TitleJA: "新しい住所を確かめてください", TitleEN: "Check the new address",
			WhatJA: "新しい住所が空か、長すぎるか、いまの住所と同じです。何も変えていません。",
			WhatEN: "The new address is empty, too long or the same as the current one. Nothing was changed.",
			DoJA:   "お客さまページに戻って、住所を入れ直してください。", DoEN: "Go back to your page and enter the address again."})
		return
	}
	doc := document(c, addr, newID()[:12], p.now())
	sum := sha256.Sum256(doc)
	ss.Set(keyDraftAddr, addr)
	ss.Set(keyDraftDoc, string(doc))
	if !p.save(w, r, ss) {
		return
	}
	if err := web.AllowFormAction(w, p.cfg.Issuer); err != nil {
		p.log.ErrorContext(ctx, "nissayweb: form action", "err", err)
	}
	p.pages.Render(w, r, http.StatusOK, "confirm", struct {
		Lines  []string
		Digest string
	}{strings.Split(strings.TrimSpace(string(doc)), "\n"), hex.EncodeToString(sum[:])})
}

// startChange starts a sign transaction with the confirmed document's
// SHA-256 and sends the customer to sign it with the card.
func (p *Page) startChange(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ss, ok := p.session(w, r)
	if !ok {
		return
	}
	sub, ref, addr, doc := ss.Get(keySub), ss.Get(keyRef), ss.Get(keyDraftAddr), []byte(ss.Get(keyDraftDoc))
	if ref == "" || addr == "" || len(doc) == 0 {
		http.Redirect(w, r, Home, http.StatusSeeOther)
		return
	}
	// A confirmed document is sent for signing once.
	ss.Delete(keyDraftAddr)
	ss.Delete(keyDraftDoc)
	sum := sha256.Sum256(doc)
	id, err := p.startSignTransaction(ctx, sum[:])
	if err != nil {
		p.log.WarnContext(ctx, "nissayweb: sign transaction", "err", err)
		p.audit(ctx, sub, "change", "refused", "sign transaction")
		p.refuse(w, r, http.StatusBadGateway, refusalProvider)
		return
	}
	if _, err := p.db.Write(ctx, qInsertRequest, id, sub, ref, addr, doc, sum[:], p.now().UnixMilli()); err != nil {
		p.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	p.begin(w, r, ss, "sign "+id, []string{"sign"}, url.Values{"sign_transaction_id": {id}})
}

// finishChange checks the signing result and applies the change once.
func (p *Page) finishChange(w http.ResponseWriter, r *http.Request, ss *web.Session, id string, l *login) {
	ctx := r.Context()
	sub := ss.Get(keySub)
	req, err := p.request(ctx, id)
	if err != nil || req.Sub != sub || l.Sub != sub {
		// Signed by someone other than the logged-in customer, or a
		// request of another session.
		p.audit(ctx, sub, "change", "refused", "not this customer's request")
		p.refuse(w, r, http.StatusForbidden, refusalState)
		return
	}
	if req.State != "started" {
		p.audit(ctx, sub, "change", "refused", "already signed "+id)
		p.refuse(w, r, http.StatusConflict, refusalState)
		return
	}
	sig, err := p.fetchResult(ctx, id, l.Token.AccessToken, req.Digest)
	if err != nil {
		p.log.WarnContext(ctx, "nissayweb: signing result", "err", err)
		p.audit(ctx, sub, "change", "refused", err.Error())
		p.refuse(w, r, http.StatusBadGateway, refusalSignature)
		return
	}
	applied, err := p.apply(ctx, id, req, sig)
	if err != nil {
		p.log.ErrorContext(ctx, "nissayweb: apply", "err", err)
		p.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	p.audit(ctx, sub, "change", "ok", fmt.Sprintf("%s applied=%t", id, applied))
	ss.SetFlash(web.Flash{Kind: "ok", JA: "電子署名付きの住所変更届を受け付け、ご住所を変更しました。", EN: "Your e-signed change of address is accepted and your address is changed."})
	if !p.save(w, r, ss) {
		return
	}
	http.Redirect(w, r, Home, http.StatusSeeOther)
}

// apply has the customer records change the address (once per sign
// transaction, there) and keeps the signed request (once, here).
func (p *Page) apply(ctx context.Context, id string, req *request, sig *signed) (bool, error) {
	applied, err := p.cfg.Customers.ChangeAddress(ctx, req.Ref, id, req.NewAddress, fmt.Sprintf("%X", sig.Cert.SerialNumber), sig.SignedAt)
	if err != nil {
		return false, err
	}
	if _, err := p.db.Write(ctx, qSignRequest, sig.Signature, sig.Cert.Raw, sig.SignedAt.UnixMilli(), id); err != nil {
		return applied, err
	}
	return applied, nil
}

// logout ends the customer's session on this page, then asks the provider
// to end the login's grant (RP-initiated logout, as townweb: oidcrp).
func (p *Page) logout(w http.ResponseWriter, r *http.Request) {
	ss, ok := p.session(w, r)
	if !ok {
		return
	}
	hint := ss.Get(keyIDToken)
	p.audit(r.Context(), ss.Get(keySub), "logout", "ok", "")
	for _, k := range []string{keySub, keyRef, keyCardAddr, keyIDToken, keyDraftAddr, keyDraftDoc} {
		ss.Delete(k)
	}
	if !p.save(w, r, ss) {
		return
	}
	p.rp.RedirectLogout(w, r, hint, p.PostLogoutURI(), Home+LoggedOutPath)
}

// loggedOut is where the provider sends the customer back after logout.
func (p *Page) loggedOut(w http.ResponseWriter, r *http.Request) {
	ss, ok := p.session(w, r)
	if !ok {
		return
	}
	ss.SetFlash(web.Flash{Kind: "ok", JA: "ログアウトしました。", EN: "You are logged out."})
	if !p.save(w, r, ss) {
		return
	}
	http.Redirect(w, r, Home, http.StatusSeeOther)
}
