package mybox

import (
	"context"
	"crypto"
	"crypto/x509"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/cms"
	"github.com/mynaplat/mynaplat/postbox"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/verify"
	"github.com/mynaplat/mynaplat/web"
)

//go:embed templates
var templates embed.FS

// Config holds what the person's pages need.
type Config struct {
	Site *web.Site
	// BoxURL is where the post box answers (its resident API), and HTTP
	// the client to reach it with (httpapi.NewHTTPClient; nil is httpapi's
	// default, with its timeout).
	BoxURL string
	HTTP   *http.Client
	// Kit is the card flow of the platform terminal people log in at
	// (their computer with a card reader): the card on its reader signs
	// through the kit, so that a wrong signing password is limited and
	// reported to the platform as a wrong PIN at the terminal is.
	Kit *terminal.Kit
	// LoggedIn is the card login the terminal handed over on the session;
	// nil is the kit's terminal's, for no purpose.
	LoggedIn func(ss *web.Session, now time.Time) (terminal.Login, error)
	// Stamper time-stamps the person's signatures.
	Stamper cms.Stamper
	Logger  *slog.Logger
	Now     func() time.Time
}

// Pages are the person's post box pages under /postbox/.
type Pages struct {
	cfg   Config
	pages *web.Pages
	log   *slog.Logger
	now   func() time.Time
}

// New parses the templates.
func New(cfg Config) (*Pages, error) {
	if cfg.Site == nil || cfg.BoxURL == "" || cfg.Kit == nil {
		return nil, errors.New("mybox: the pages need a site, the post box's URL and the terminal's card flow")
	}
	pages, err := cfg.Site.Parse(templates, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("mybox: pages: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.LoggedIn == nil {
		cfg.LoggedIn = func(ss *web.Session, now time.Time) (terminal.Login, error) {
			return terminal.LoggedIn(ss, now, cfg.Kit.Terminal().ID, "")
		}
	}
	return &Pages{cfg: cfg, pages: pages, log: cfg.Logger, now: cfg.Now}, nil
}

// Routes registers the pages.
func (p *Pages) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /postbox/{$}", p.owner(p.home))
	mux.HandleFunc("POST /postbox/logout", p.logout)
	mux.HandleFunc("GET /postbox/documents/{id}", p.owner(p.document))
	mux.HandleFunc("GET /postbox/documents/{id}/file", p.owner(p.documentFile))
	mux.HandleFunc("GET /postbox/compose", p.owner(p.composePage))
	mux.HandleFunc("POST /postbox/compose", p.owner(p.compose))
	mux.HandleFunc("GET /postbox/consents", p.owner(p.consentsPage))
	mux.HandleFunc("POST /postbox/consents", p.owner(p.consent))
	mux.HandleFunc("POST /postbox/consents/{party}/withdraw", p.owner(p.withdraw))
	mux.HandleFunc("GET /postbox/notices/{id}", p.owner(p.noticePage))
	mux.HandleFunc("POST /postbox/notices/{id}", p.owner(p.notify))
	mux.HandleFunc("GET /postbox/audit", p.owner(p.auditPage))
}

// Links are the home page entries.
func (p *Pages) Links() []web.Link {
	return []web.Link{{Section: "電子私書箱 / Post box", TitleJA: "わたしの電子私書箱", TitleEN: "My post box",
		DescJA: "カードでログインして、届いた証明書の確認、申告の送信、引越しの通知", DescEN: "Log in with your card: documents received, submissions, moving notices",
		Path: "/postbox/"}}
}

// Session keys: the box session the post box gave for a card login, and
// whose login that was.
const (
	tokenKey = "pb:token"
	whoKey   = "pb:who"
)

// visit is one request of the box's owner.
type visit struct {
	ss  *web.Session
	box *postbox.BoxClient
}

// owner runs h for the owner of a box. A fresh card login (the terminal's
// assertion) is exchanged for a box session, which outlives the assertion
// (package postbox says why); without either the login page is shown.
func (p *Pages) owner(h func(http.ResponseWriter, *http.Request, *visit)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ss, err := p.cfg.Site.Session(w, r)
		if err != nil {
			p.cfg.Site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
			return
		}
		token := ss.Get(tokenKey)
		if l, err := p.cfg.LoggedIn(ss, p.now()); err == nil && (token == "" || ss.Get(whoKey) != l.PlatformID) {
			// A card login, the first or someone else's: the box session
			// of another login never serves it.
			if token != "" {
				p.endSession(r.Context(), ss)
			}
			sess, err := postbox.OpenSession(r.Context(), p.cfg.HTTP, p.cfg.BoxURL, l.Assertion)
			switch {
			case err == nil:
				token = sess.Token
				ss.Set(tokenKey, token)
				ss.Set(whoKey, l.PlatformID)
				// Kept whatever the page then says, so that the next page
				// does not open another session.
				p.save(r, ss)
			case errors.Is(err, postbox.ErrAssertion):
				p.log.WarnContext(r.Context(), "mybox: the post box refused the login", "err", err)
				token = ""
			default:
				p.fail(w, r, ss, err)
				return
			}
		}
		if token == "" {
			p.loginPage(w, r, ss)
			return
		}
		h(w, r, &visit{ss: ss, box: &postbox.BoxClient{BaseURL: p.cfg.BoxURL, Token: token, HTTP: p.cfg.HTTP}})
	}
}

// loginPage asks for a card login; a form sent without one sends nothing.
func (p *Pages) loginPage(w http.ResponseWriter, r *http.Request, ss *web.Session) {
	p.save(r, ss)
	if r.Method != http.MethodGet {
		p.cfg.Site.Error(w, r, web.Problem{Status: http.StatusForbidden, TitleJA: "ログインしてください", TitleEN: "Please log in",
			WhatJA: "ログインの有効期限が切れたため、何も送信していません。", WhatEN: "Your login expired; nothing was sent.",
			DoJA: "カードでもう一度ログインしてください。", DoEN: "Log in with your card again."})
		return
	}
	p.pages.Render(w, r, http.StatusOK, "login", loginView{Terminal: p.cfg.Kit.Terminal().ID, Next: r.URL.RequestURI()})
}

// endSession ends the session's box session at the post box and forgets
// it; the post box not answering does not keep the person logged in here.
func (p *Pages) endSession(ctx context.Context, ss *web.Session) {
	if t := ss.Get(tokenKey); t != "" {
		c := &postbox.BoxClient{BaseURL: p.cfg.BoxURL, Token: t, HTTP: p.cfg.HTTP}
		if err := c.EndSession(ctx); err != nil {
			p.log.WarnContext(ctx, "mybox: end the box session", "err", err)
		}
	}
	ss.Delete(tokenKey)
	ss.Delete(whoKey)
}

func (p *Pages) save(r *http.Request, ss *web.Session) {
	if err := ss.Save(r.Context()); err != nil {
		p.log.ErrorContext(r.Context(), "mybox: save session", "err", err)
	}
}

func (p *Pages) logout(w http.ResponseWriter, r *http.Request) {
	ss, err := p.cfg.Site.Session(w, r)
	if err == nil {
		p.endSession(r.Context(), ss)
		terminal.Logout(ss)
		p.save(r, ss)
	}
	http.Redirect(w, r, "/postbox/", http.StatusSeeOther)
}

// fail answers a failed read of the box: a lapsed box session asks for
// the card again, a missing document is not found, the rest is the post
// box not answering.
func (p *Pages) fail(w http.ResponseWriter, r *http.Request, ss *web.Session, err error) {
	switch {
	case errors.Is(err, postbox.ErrSession), errors.Is(err, postbox.ErrAssertion):
		ss.Delete(tokenKey)
		ss.Delete(whoKey)
		p.loginPage(w, r, ss)
	case errors.Is(err, postbox.ErrNotFound):
		p.cfg.Site.Error(w, r, web.Problem{Status: http.StatusNotFound})
	default:
		p.log.ErrorContext(r.Context(), "mybox: page", "path", r.URL.Path, "err", err)
		p.cfg.Site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
	}
}

// refusal is the post box's answer in the person's words: its own text for
// a refusal, else to try again.
func refusal(err error) (ja, en string) {
	if e, ok := errors.AsType[*postbox.APIError](err); ok && e.Status < 500 && !e.Bare {
		return e.MessageJA, e.MessageEN
	}
	return "しばらくしてからもう一度お試しください。", "Try again shortly."
}

// lapsed reports whether a form's call found the box session over; the
// person is asked to log in again and told nothing was sent.
func (p *Pages) lapsed(w http.ResponseWriter, r *http.Request, v *visit, err error) bool {
	if !errors.Is(err, postbox.ErrSession) && !errors.Is(err, postbox.ErrAssertion) {
		return false
	}
	p.fail(w, r, v.ss, err)
	return true
}

type loginView struct{ Terminal, Next string }

type homeView struct {
	Documents []docRow
	Notices   []*postbox.Notice
	Sends     []sendRow
	Consents  []consentRow
	// Sending is true while a send waits for its receiver's receipt.
	Sending bool
}

type docRow struct {
	postbox.DocumentInfo
	From string
}

type sendRow struct {
	*postbox.Send
	To  string
	Log []postbox.LogLine
}

type consentRow struct {
	postbox.Consent
	Party *postbox.Party
}

// byID maps parties by ID.
func byID(ps []*postbox.Party) map[string]*postbox.Party {
	m := make(map[string]*postbox.Party, len(ps))
	for _, x := range ps {
		m[x.ID] = x
	}
	return m
}

func nameOf(m map[string]*postbox.Party, id string) string {
	if id == "" {
		return "本人 / yourself"
	}
	if x, ok := m[id]; ok {
		return x.NameJA
	}
	return id
}

func docRows(docs []postbox.DocumentInfo, names map[string]*postbox.Party) []docRow {
	var out []docRow
	for _, d := range docs {
		out = append(out, docRow{d, nameOf(names, d.PartyID)})
	}
	return out
}

func (p *Pages) home(w http.ResponseWriter, r *http.Request, v *visit) {
	b, err := v.box.Box(r.Context())
	if err != nil {
		p.fail(w, r, v.ss, err)
		return
	}
	names := byID(b.Parties)
	hv := homeView{Documents: docRows(b.Documents, names), Notices: b.Notices}
	for _, sd := range b.Sends {
		hv.Sends = append(hv.Sends, sendRow{sd, nameOf(names, sd.PartyID), postbox.LogLines(sd.Log)})
		hv.Sending = hv.Sending || sd.State == postbox.StatePending
	}
	for _, c := range b.Consents {
		hv.Consents = append(hv.Consents, consentRow{c, names[c.PartyID]})
	}
	p.save(r, v.ss)
	p.pages.Render(w, r, http.StatusOK, "home", hv)
}

type documentView struct {
	Doc    *postbox.Document
	From   string
	Report *verify.Report
}

func (p *Pages) document(w http.ResponseWriter, r *http.Request, v *visit) {
	d, err := v.box.Document(r.Context(), r.PathValue("id"))
	if err != nil {
		p.fail(w, r, v.ss, err)
		return
	}
	from := nameOf(nil, "")
	if d.From != nil {
		from = d.From.NameJA
	}
	p.save(r, v.ss)
	p.pages.Render(w, r, http.StatusOK, "document", documentView{Doc: d.Document, From: from, Report: d.Report})
}

// documentFile is the signed file itself, for the holder to keep or to
// check elsewhere (mynaplat verify, /verify, a PDF reader).
func (p *Pages) documentFile(w http.ResponseWriter, r *http.Request, v *visit) {
	d, err := v.box.Document(r.Context(), r.PathValue("id"))
	if err != nil {
		p.fail(w, r, v.ss, err)
		return
	}
	p.save(r, v.ss)
	typ, ext := "application/pkcs7-mime", ".p7m"
	if d.Document.Format == verify.FormatPAdES {
		typ, ext = "application/pdf", ".pdf"
	}
	w.Header().Set("Content-Type", typ)
	w.Header().Set("Content-Disposition", `attachment; filename="`+d.Document.ID+ext+`"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(d.Document.Data)
}

type composeView struct {
	Receivers []*postbox.Party
	Documents []docRow
	To        string
	Subject   string
	Body      string
	Chosen    map[string]bool
	// ClientID names this send at the post box: the form sent twice sends
	// once.
	ClientID string
}

func (p *Pages) composeView(ctx context.Context, box *postbox.BoxClient, r *http.Request) (*composeView, error) {
	cv, err := box.Compose(ctx)
	if err != nil {
		return nil, err
	}
	v := &composeView{To: r.FormValue("to"), Subject: r.FormValue("subject"), Body: r.FormValue("body"), Chosen: map[string]bool{},
		Documents: docRows(cv.Documents, byID(cv.Parties)), ClientID: r.FormValue("client_id")}
	for _, x := range cv.Parties {
		if x.Has(postbox.RoleSubmission) {
			v.Receivers = append(v.Receivers, x)
		}
	}
	if r.Method == http.MethodPost {
		for _, id := range r.PostForm["doc"] {
			v.Chosen[id] = true
		}
	} else if id := r.FormValue("doc"); id != "" {
		v.Chosen[id] = true
	}
	if v.Subject == "" {
		v.Subject = "令和8年分 所得税の確定申告（生命保険料控除）"
	}
	if v.ClientID == "" {
		v.ClientID = postbox.NewClientID()
	}
	return v, nil
}

func (p *Pages) composePage(w http.ResponseWriter, r *http.Request, v *visit) {
	cv, err := p.composeView(r.Context(), v.box, r)
	if err != nil {
		p.fail(w, r, v.ss, err)
		return
	}
	p.save(r, v.ss)
	p.pages.Render(w, r, http.StatusOK, "compose", cv)
}

// compose signs the application with the card's signing key (the password
// goes to the card only) and sends the signature with the chosen
// documents.
func (p *Pages) compose(w http.ResponseWriter, r *http.Request, v *visit) {
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		p.cfg.Site.Error(w, r, web.Problem{Status: http.StatusBadRequest})
		return
	}
	cv, err := p.composeView(ctx, v.box, r)
	if err != nil {
		p.fail(w, r, v.ss, err)
		return
	}
	again := func(f web.Flash) {
		v.ss.SetFlash(f)
		p.save(r, v.ss)
		p.pages.Render(w, r, http.StatusUnprocessableEntity, "compose", cv)
	}
	var to *postbox.Party
	for _, x := range cv.Receivers {
		if x.ID == cv.To {
			to = x
		}
	}
	if to == nil {
		again(web.Flash{Kind: "error", JA: "送信先を選んでください。", EN: "Choose where to send it."})
		return
	}
	subject, body := strings.TrimSpace(cv.Subject), strings.TrimSpace(cv.Body)
	if subject == "" || len([]rune(subject)) > 100 || len([]rune(body)) > 2000 {
		again(web.Flash{Kind: "error", JA: "件名（100文字まで）と内容（2000文字まで）を確認してください。", EN: "Check the subject (up to 100 characters) and the text (up to 2,000)."})
		return
	}
	content := &verify.Content{Type: "申告書", Title: subject, IssuedAt: p.now().UTC(), To: to.ID,
		Fields: []verify.Field{{Label: "件名", Value: subject}, {Label: "内容", Value: body}}}
	var ids []string
	for _, d := range cv.Documents {
		if cv.Chosen[d.ID] {
			ids = append(ids, d.ID)
			content.Attachments = append(content.Attachments, verify.Attachment{Name: d.Title, Type: d.Type, SHA256: d.SHA256})
		}
	}
	signed, f := p.sign(r, v.ss, content)
	if f != nil {
		again(*f)
		return
	}
	sd, err := v.box.Submit(ctx, postbox.SubmitRequest{ClientID: cv.ClientID, To: to.ID, Application: signed[0], Documents: ids})
	if p.lapsed(w, r, v, err) {
		return
	}
	if err != nil {
		p.log.WarnContext(ctx, "mybox: submit", "err", err)
		ja, en := refusal(err)
		again(web.Flash{Kind: "error", JA: "送信できませんでした：" + ja, EN: "It could not be sent: " + en})
		return
	}
	v.ss.SetFlash(web.Flash{Kind: "ok", JA: to.NameJA + " への送信を受け付けました。届くと下の「送信」に受付番号が表示されます（送信ID " + sd.ID + "）。",
		EN: "Your submission to " + to.NameEN + " is on its way. Its receipt number appears under Sent below once it arrives (send ID " + sd.ID + ")."})
	p.save(r, v.ss)
	http.Redirect(w, r, "/postbox/#sends", http.StatusSeeOther)
}

// sign has the card on the reader sign each content with its signing key,
// time-stamped, in one card session, through the terminal's kit with the
// form's password. On failure it returns the message for the person.
func (p *Pages) sign(r *http.Request, ss *web.Session, contents ...*verify.Content) ([][]byte, *web.Flash) {
	var out [][]byte
	res, err := p.cfg.Kit.Sign(r, ss, func(cert *x509.Certificate, signer crypto.Signer) error {
		for _, c := range contents {
			body, err := c.Marshal()
			if err != nil {
				return err
			}
			der, err := cms.Sign(r.Context(), body, cms.SignOptions{Signer: signer, Cert: cert, Stamper: p.cfg.Stamper})
			if err != nil {
				return err
			}
			out = append(out, der)
		}
		return nil
	})
	switch {
	case err != nil:
		p.log.ErrorContext(r.Context(), "mybox: sign", "err", err)
		return nil, &web.Flash{Kind: "error", JA: "署名できませんでした。しばらくしてからもう一度お試しください。", EN: "The document could not be signed. Try again shortly."}
	case res.Outcome == terminal.NoCard:
		return nil, &web.Flash{Kind: "error", JA: "カードがリーダーにありません。カードでログインし直してください。", EN: "No card is on the reader. Log in with your card again."}
	case !res.Passed():
		f := signTrouble(res)
		return nil, &f
	}
	return out, nil
}

// signTrouble is the message for what the card (or the kit's limit) said
// about the signing password: the kit's words, and that nothing was sent.
func signTrouble(res terminal.Result) web.Flash {
	f := res.Flash()
	f.JA, f.EN = "何も送信していません。"+f.JA, "Nothing was sent. "+f.EN
	return f
}

type consentsView struct {
	Parties  []*postbox.Party
	Consents []consentRow
}

func (p *Pages) consentsPage(w http.ResponseWriter, r *http.Request, v *visit) {
	cv, err := v.box.Consents(r.Context())
	if err != nil {
		p.fail(w, r, v.ss, err)
		return
	}
	names := byID(cv.Parties)
	out := consentsView{}
	for _, x := range cv.Parties {
		if x.Has(postbox.RoleDeliver) || x.Has(postbox.RoleAddressNotice) {
			out.Parties = append(out.Parties, x)
		}
	}
	for _, c := range cv.Consents {
		out.Consents = append(out.Consents, consentRow{c, names[c.PartyID]})
	}
	p.save(r, v.ss)
	p.pages.Render(w, r, http.StatusOK, "consents", out)
}

func (p *Pages) consent(w http.ResponseWriter, r *http.Request, v *visit) {
	ctx := r.Context()
	back := func(f web.Flash) {
		v.ss.SetFlash(f)
		p.save(r, v.ss)
		http.Redirect(w, r, "/postbox/consents", http.StatusSeeOther)
	}
	parties, err := v.box.Parties(ctx)
	if err != nil {
		p.fail(w, r, v.ss, err)
		return
	}
	party := byID(parties)[r.PostFormValue("party")]
	if party == nil {
		back(web.Flash{Kind: "error", JA: "事業者を選んでください。", EN: "Choose a business."})
		return
	}
	ref := strings.TrimSpace(r.PostFormValue("customer_ref"))
	deliver := r.PostFormValue("deliver") == "on" && party.Has(postbox.RoleDeliver)
	notice := r.PostFormValue("notice") == "on" && party.Has(postbox.RoleAddressNotice)
	if ref == "" || len(ref) > 64 || (!deliver && !notice) {
		back(web.Flash{Kind: "error", JA: "お客さま番号と、同意する内容を入力してください。", EN: "Enter your customer number and what you consent to."})
		return
	}
	signed, f := p.sign(r, v.ss, postbox.ConsentContent(party, ref, deliver, notice, p.now().UTC()))
	if f != nil {
		back(*f)
		return
	}
	err = v.box.Consent(ctx, postbox.ConsentRequest{Party: party.ID, CustomerRef: ref, Deliver: deliver, AddressNotice: notice, Signed: signed[0]})
	if p.lapsed(w, r, v, err) {
		return
	}
	if err != nil {
		p.log.WarnContext(ctx, "mybox: consent", "err", err)
		ja, en := refusal(err)
		back(web.Flash{Kind: "error", JA: "同意を登録できませんでした：" + ja, EN: "The consent could not be recorded: " + en})
		return
	}
	back(web.Flash{Kind: "ok", JA: party.NameJA + " への同意を登録しました。", EN: "Your consent to " + party.NameEN + " is recorded."})
}

func (p *Pages) withdraw(w http.ResponseWriter, r *http.Request, v *visit) {
	f := web.Flash{Kind: "ok", JA: "同意を取り消しました。", EN: "The consent is withdrawn."}
	err := v.box.Withdraw(r.Context(), r.PathValue("party"))
	if p.lapsed(w, r, v, err) {
		return
	}
	if err != nil {
		p.log.WarnContext(r.Context(), "mybox: withdraw", "err", err)
		f = web.Flash{Kind: "error", JA: "取り消せませんでした。", EN: "It could not be withdrawn."}
	}
	v.ss.SetFlash(f)
	p.save(r, v.ss)
	http.Redirect(w, r, "/postbox/consents", http.StatusSeeOther)
}

type noticeView struct {
	*postbox.NoticeView
	// ClientID names this answer at the post box: the form sent twice
	// tells each business once.
	ClientID string
}

func (p *Pages) noticePage(w http.ResponseWriter, r *http.Request, v *visit) {
	nv, err := v.box.Notice(r.Context(), r.PathValue("id"))
	if err != nil {
		p.fail(w, r, v.ss, err)
		return
	}
	p.save(r, v.ss)
	p.pages.Render(w, r, http.StatusOK, "notice", noticeView{nv, postbox.NewClientID()})
}

// notify signs one notice per chosen business with the new signing
// certificate (one password entry) and sends the signatures.
func (p *Pages) notify(w http.ResponseWriter, r *http.Request, v *visit) {
	ctx := r.Context()
	id := r.PathValue("id")
	if err := r.ParseForm(); err != nil {
		p.cfg.Site.Error(w, r, web.Problem{Status: http.StatusBadRequest})
		return
	}
	nv, err := v.box.Notice(ctx, id)
	if err != nil {
		p.fail(w, r, v.ss, err)
		return
	}
	back := func(f web.Flash) {
		v.ss.SetFlash(f)
		p.save(r, v.ss)
		http.Redirect(w, r, "/postbox/notices/"+id, http.StatusSeeOther)
	}
	chosen := map[string]bool{}
	for _, pid := range r.PostForm["party"] {
		chosen[pid] = true
	}
	var parties []*postbox.Party
	var contents []*verify.Content
	for _, c := range nv.Choices {
		if c.Party != nil && chosen[c.Party.ID] && !c.Sent {
			parties = append(parties, c.Party)
			contents = append(contents, postbox.AddressNoticeContent(c.Party, c.CustomerRef, p.now().UTC()))
		}
	}
	if len(parties) == 0 {
		back(web.Flash{Kind: "error", JA: "通知する事業者を選んでください。", EN: "Choose the businesses to tell."})
		return
	}
	signed, f := p.sign(r, v.ss, contents...)
	if f != nil {
		back(*f)
		return
	}
	m := map[string][]byte{}
	for i, x := range parties {
		m[x.ID] = signed[i]
	}
	sends, err := v.box.Notify(ctx, id, postbox.NotifyRequest{ClientID: r.PostFormValue("client_id"), Signed: m})
	if p.lapsed(w, r, v, err) {
		return
	}
	if err != nil {
		p.log.WarnContext(ctx, "mybox: notify", "err", err)
		ja, en := refusal(err)
		back(web.Flash{Kind: "error", JA: "通知できませんでした：" + ja, EN: "The notices could not be sent: " + en})
		return
	}
	var ja, en []string
	for _, sd := range sends {
		for _, x := range parties {
			if x.ID == sd.PartyID {
				ja, en = append(ja, x.NameJA), append(en, x.NameEN)
			}
		}
	}
	v.ss.SetFlash(web.Flash{Kind: "ok", JA: strings.Join(ja, "・") + " への住所変更の通知を受け付けました。", EN: "Notices to " + strings.Join(en, ", ") + " are queued."})
	p.save(r, v.ss)
	http.Redirect(w, r, "/postbox/#sends", http.StatusSeeOther)
}

// auditRow is an audit entry in words: who (the owner, the operator, a
// party by name) did what.
type auditRow struct {
	postbox.AuditEntry
	WhoJA, WhoEN, WhatJA, WhatEN string
}

// auditWords are the post box's audit actions in words.
var auditWords = map[string][2]string{
	"login":         {"カードでログインしました", "logged in with the card"},
	"logout":        {"ログアウトしました", "logged out"},
	"consent":       {"同意を登録しました", "recorded a consent"},
	"withdraw":      {"同意を取り消しました", "withdrew a consent"},
	"deliver":       {"文書を届けました", "delivered a document"},
	"list":          {"一覧を見ました", "looked at a list"},
	"read":          {"開きました", "opened"},
	"change-notice": {"変更案内を作成しました", "left a change notice"},
	"send":          {"送信しました", "sent"},
}

func (p *Pages) auditPage(w http.ResponseWriter, r *http.Request, v *visit) {
	es, err := v.box.Audit(r.Context())
	if err != nil {
		p.fail(w, r, v.ss, err)
		return
	}
	parties, err := v.box.Parties(r.Context())
	if err != nil {
		p.fail(w, r, v.ss, err)
		return
	}
	names := byID(parties)
	rows := make([]auditRow, 0, len(es))
	for _, e := range es {
		row := auditRow{AuditEntry: e, WhoJA: e.Actor, WhoEN: e.Actor, WhatJA: e.Action, WhatEN: e.Action}
		switch x, ok := names[e.Actor]; {
		case e.Actor == "owner":
			row.WhoJA, row.WhoEN = "あなた", "You"
		case e.Actor == "operator":
			row.WhoJA, row.WhoEN = "私書箱の運営者", "The post box operator"
		case ok:
			row.WhoJA, row.WhoEN = x.NameJA, x.NameEN
		}
		if w, ok := auditWords[e.Action]; ok {
			row.WhatJA, row.WhatEN = w[0], w[1]
		}
		rows = append(rows, row)
	}
	p.save(r, v.ss)
	p.pages.Render(w, r, http.StatusOK, "audit", rows)
}
