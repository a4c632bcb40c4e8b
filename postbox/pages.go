package postbox

import (
	"context"
	"crypto"
	"crypto/x509"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/cms"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/verify"
	"github.com/mynaplat/mynaplat/web"
)

//go:embed templates
var templates embed.FS

// PagesConfig holds what the person's pages need.
type PagesConfig struct {
	Site    *web.Site
	Service *Service
	// Keys are the platform's assertion keys and Issuer its name.
	Keys   func(context.Context) (platform.JWKS, error)
	Issuer string
	// Terminal is the platform terminal people log in at (their computer
	// with a card reader); Card gives the card on its reader.
	Terminal string
	Card     func(r *http.Request, ss *web.Session) (card.Transport, error)
	// Stamper time-stamps the person's signatures.
	Stamper cms.Stamper
	Logger  *slog.Logger
}

// Pages are the person's post box pages under /postbox/.
type Pages struct {
	cfg   PagesConfig
	s     *Service
	pages *web.Pages
	log   *slog.Logger
}

// NewPages parses the templates.
func NewPages(cfg PagesConfig) (*Pages, error) {
	pages, err := cfg.Site.Parse(templates, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("postbox: pages: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Pages{cfg: cfg, s: cfg.Service, pages: pages, log: cfg.Logger}, nil
}

// Routes registers the pages.
func (p *Pages) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /postbox/{$}", p.owner(p.home))
	mux.HandleFunc("POST /postbox/logout", p.logout)
	mux.HandleFunc("GET /postbox/documents/{id}", p.owner(p.document))
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

// Session keys: the box of the logged-in owner and until when.
const (
	boxKey   = "pb:box"
	untilKey = "pb:until"
)

// idle is how long a post box login lasts without use.
const idle = 20 * time.Minute

// owner runs h for the logged-in owner of a box. A fresh card login (the
// terminal's assertion) opens the box; without one the login page is shown.
func (p *Pages) owner(h func(http.ResponseWriter, *http.Request, *web.Session, *Box)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ss, err := p.cfg.Site.Session(w, r)
		if err != nil {
			p.cfg.Site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
			return
		}
		now := p.s.now()
		boxID := ss.Get(boxKey)
		if until, _ := strconv.ParseInt(ss.Get(untilKey), 10, 64); boxID == "" || now.Unix() > until {
			boxID = ""
			if l, err := terminal.LoggedIn(ss, now, p.cfg.Terminal, ""); err == nil {
				boxID = p.openFromAssertion(r.Context(), l.Assertion)
			}
			ss.Delete(boxKey)
		}
		if boxID == "" {
			p.save(r, ss)
			if r.Method != http.MethodGet {
				p.cfg.Site.Error(w, r, web.Problem{Status: http.StatusForbidden, TitleJA: "ログインしてください", TitleEN: "Please log in",
					WhatJA: "ログインの有効期限が切れたため、何も送信していません。", WhatEN: "Your login expired; nothing was sent.",
					DoJA: "カードでもう一度ログインしてください。", DoEN: "Log in with your card again."})
				return
			}
			p.pages.Render(w, r, http.StatusOK, "login", loginView{Terminal: p.cfg.Terminal, Next: r.URL.RequestURI()})
			return
		}
		box, err := p.s.Box(r.Context(), boxID)
		if err != nil {
			p.fail(w, r, err)
			return
		}
		ss.Set(boxKey, box.ID)
		ss.Set(untilKey, strconv.FormatInt(now.Add(idle).Unix(), 10))
		h(w, r, ss, box)
	}
}

// openFromAssertion verifies the card login's assertion and opens the box.
func (p *Pages) openFromAssertion(ctx context.Context, assertion string) string {
	keys, err := p.cfg.Keys(ctx)
	if err != nil {
		p.log.Error("postbox: platform keys", "err", err)
		return ""
	}
	c, err := platform.VerifyAssertion(assertion, keys, p.cfg.Issuer, p.s.now())
	if err != nil || c.Terminal != p.cfg.Terminal {
		return ""
	}
	box, err := p.s.OpenBox(ctx, c.Subject)
	if err != nil {
		p.log.Error("postbox: open box", "err", err)
		return ""
	}
	return box.ID
}

func (p *Pages) save(r *http.Request, ss *web.Session) {
	if err := ss.Save(r.Context()); err != nil {
		p.log.Error("postbox: save session", "err", err)
	}
}

func (p *Pages) logout(w http.ResponseWriter, r *http.Request) {
	ss, err := p.cfg.Site.Session(w, r)
	if err == nil {
		ss.Delete(boxKey)
		ss.Delete(untilKey)
		terminal.Logout(ss)
		p.save(r, ss)
	}
	http.Redirect(w, r, "/postbox/", http.StatusSeeOther)
}

func (p *Pages) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		p.cfg.Site.Error(w, r, web.Problem{Status: http.StatusNotFound})
	default:
		p.log.Error("postbox: page", "path", r.URL.Path, "err", err)
		p.cfg.Site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
	}
}

type loginView struct{ Terminal, Next string }

type homeView struct {
	Documents []docRow
	Notices   []*Notice
	Sends     []sendRow
	Consents  []consentRow
	// Sending is true while a send waits for its receiver's receipt.
	Sending bool
}

type docRow struct {
	*Document
	From string
}

type sendRow struct {
	*Send
	To  string
	Log []LogLine
}

// LogLine is a delivery log entry with its event in words.
type LogLine struct {
	LogEntry
	JA, EN string
}

// LogLines words a send's delivery log for people (the post box's
// owner, the receiver's staff).
func LogLines(log []LogEntry) []LogLine {
	out := make([]LogLine, 0, len(log))
	for _, e := range log {
		ja, en := e.Event, e.Event
		switch e.Event {
		case "queued":
			ja, en = "送信待ちに入りました", "Queued"
		case "attempt_failed":
			ja, en = "届きませんでした（自動で再送します）", "Not delivered (it is retried)"
		case "acknowledged":
			ja, en = "受け付けられました", "Received"
		case "refused":
			ja, en = "受け付けられませんでした", "Refused"
		}
		out = append(out, LogLine{e, ja, en})
	}
	return out
}

type consentRow struct {
	Consent
	Party *Party
}

// partyNames maps party IDs to their Japanese names.
func (p *Pages) partyNames(ctx context.Context) (map[string]*Party, []*Party, error) {
	ps, err := p.s.Parties(ctx)
	if err != nil {
		return nil, nil, err
	}
	m := map[string]*Party{}
	for _, x := range ps {
		m[x.ID] = x
	}
	return m, ps, nil
}

func nameOf(m map[string]*Party, id string) string {
	if id == "" {
		return "本人 / yourself"
	}
	if x, ok := m[id]; ok {
		return x.NameJA
	}
	return id
}

func (p *Pages) home(w http.ResponseWriter, r *http.Request, ss *web.Session, box *Box) {
	ctx := r.Context()
	names, _, err := p.partyNames(ctx)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	docs, err := p.s.Documents(ctx, box, "owner")
	if err != nil {
		p.fail(w, r, err)
		return
	}
	v := homeView{}
	for _, d := range docs {
		v.Documents = append(v.Documents, docRow{d, nameOf(names, d.PartyID)})
	}
	if v.Notices, err = p.s.Notices(ctx, box); err != nil {
		p.fail(w, r, err)
		return
	}
	sends, err := p.s.Sends(ctx, box)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	for _, sd := range sends {
		v.Sends = append(v.Sends, sendRow{sd, nameOf(names, sd.PartyID), LogLines(sd.Log)})
		v.Sending = v.Sending || sd.State == StatePending
	}
	cs, err := p.s.Consents(ctx, box)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	for _, c := range cs {
		v.Consents = append(v.Consents, consentRow{c, names[c.PartyID]})
	}
	p.save(r, ss)
	p.pages.Render(w, r, http.StatusOK, "home", v)
}

type documentView struct {
	Doc    *Document
	From   string
	Report *verify.Report
}

func (p *Pages) document(w http.ResponseWriter, r *http.Request, ss *web.Session, box *Box) {
	d, err := p.s.Document(r.Context(), box, r.PathValue("id"), "owner")
	if err != nil {
		p.fail(w, r, err)
		return
	}
	names, _, err := p.partyNames(r.Context())
	if err != nil {
		p.fail(w, r, err)
		return
	}
	rep := p.s.policy.Validate(r.Context(), verify.Document{Name: d.Title, Format: d.Format, Data: d.Data, Power: d.Power})
	p.save(r, ss)
	p.pages.Render(w, r, http.StatusOK, "document", documentView{Doc: d, From: nameOf(names, d.PartyID), Report: rep})
}

type composeView struct {
	Receivers []*Party
	Documents []docRow
	To        string
	Subject   string
	Body      string
	Chosen    map[string]bool
}

func (p *Pages) composeView(ctx context.Context, box *Box, r *http.Request) (*composeView, error) {
	names, parties, err := p.partyNames(ctx)
	if err != nil {
		return nil, err
	}
	v := &composeView{To: r.FormValue("to"), Subject: r.FormValue("subject"), Body: r.FormValue("body"), Chosen: map[string]bool{}}
	for _, x := range parties {
		if x.Has(RoleSubmission) {
			v.Receivers = append(v.Receivers, x)
		}
	}
	docs, err := p.s.Documents(ctx, box, "owner")
	if err != nil {
		return nil, err
	}
	for _, d := range docs {
		v.Documents = append(v.Documents, docRow{d, nameOf(names, d.PartyID)})
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
	return v, nil
}

func (p *Pages) composePage(w http.ResponseWriter, r *http.Request, ss *web.Session, box *Box) {
	v, err := p.composeView(r.Context(), box, r)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.save(r, ss)
	p.pages.Render(w, r, http.StatusOK, "compose", v)
}

// compose signs the application with the card's signing key (the password
// goes to the card only) and sends it with the chosen documents.
func (p *Pages) compose(w http.ResponseWriter, r *http.Request, ss *web.Session, box *Box) {
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		p.cfg.Site.Error(w, r, web.Problem{Status: http.StatusBadRequest})
		return
	}
	v, err := p.composeView(ctx, box, r)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	again := func(f web.Flash) {
		ss.SetFlash(f)
		p.save(r, ss)
		p.pages.Render(w, r, http.StatusUnprocessableEntity, "compose", v)
	}
	to, err := p.s.Party(ctx, v.To)
	if err != nil || !to.Has(RoleSubmission) {
		again(web.Flash{Kind: "error", JA: "送信先を選んでください。", EN: "Choose where to send it."})
		return
	}
	subject, body := strings.TrimSpace(v.Subject), strings.TrimSpace(v.Body)
	if subject == "" || len([]rune(subject)) > 100 || len([]rune(body)) > 2000 {
		again(web.Flash{Kind: "error", JA: "件名（100文字まで）と内容（2000文字まで）を確認してください。", EN: "Check the subject (up to 100 characters) and the text (up to 2,000)."})
		return
	}
	content := &verify.Content{Type: "申告書", Title: subject, IssuedAt: p.s.now().UTC(), To: to.ID,
		Fields: []verify.Field{{Label: "件名", Value: subject}, {Label: "内容", Value: body}}}
	var ids []string
	for _, d := range v.Documents {
		if v.Chosen[d.ID] {
			ids = append(ids, d.ID)
			content.Attachments = append(content.Attachments, verify.Attachment{Name: d.Title, Type: d.Type, SHA256: d.SHA256()})
		}
	}
	signed, f := p.sign(r, ss, r.PostFormValue("password"), content)
	if f != nil {
		again(*f)
		return
	}
	sd, err := p.s.Submit(ctx, box, to.ID, signed[0], ids)
	if err != nil {
		p.log.Warn("postbox: submit", "err", err)
		again(web.Flash{Kind: "error", JA: "送信できませんでした：" + errorJA(err), EN: "It could not be sent: " + err.Error()})
		return
	}
	ss.SetFlash(web.Flash{Kind: "ok", JA: to.NameJA + " への送信を受け付けました。届くと下の「送信」に受付番号が表示されます（送信ID " + sd.ID + "）。",
		EN: "Your submission to " + to.NameEN + " is on its way. Its receipt number appears under Sent below once it arrives (send ID " + sd.ID + ")."})
	p.save(r, ss)
	http.Redirect(w, r, "/postbox/#sends", http.StatusSeeOther)
}

// sign has the card on the reader sign each content with its signing key,
// time-stamped, in one card session. On failure it returns the message
// for the person.
func (p *Pages) sign(r *http.Request, ss *web.Session, password string, contents ...*verify.Content) ([][]byte, *web.Flash) {
	tr, err := p.cfg.Card(r, ss)
	if err != nil {
		return nil, &web.Flash{Kind: "error", JA: "カードがリーダーにありません。カードでログインし直してください。", EN: "No card is on the reader. Log in with your card again."}
	}
	var out [][]byte
	err = terminal.WithSigner(tr, password, func(cert *x509.Certificate, signer crypto.Signer) error {
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
	if err != nil {
		f := signTrouble(err)
		if f.Kind == "" {
			p.log.Error("postbox: sign", "err", err)
			f = web.Flash{Kind: "error", JA: "署名できませんでした。しばらくしてからもう一度お試しください。", EN: "The document could not be signed. Try again shortly."}
		}
		return nil, &f
	}
	return out, nil
}

// signTrouble is the message for what the card said about the signing
// password (the kit's words, and that nothing was sent); Kind is "" for
// anything else.
func signTrouble(err error) web.Flash {
	res, ok := terminal.SignFailure(err)
	if !ok {
		return web.Flash{}
	}
	f := res.Flash()
	f.JA, f.EN = "何も送信していません。"+f.JA, "Nothing was sent. "+f.EN
	return f
}

// errorJA is the Japanese explanation of the post box's refusals.
func errorJA(err error) string {
	switch {
	case errors.Is(err, ErrSignature):
		return "署名を確認できませんでした。"
	case errors.Is(err, ErrNotOwner):
		return "この私書箱の持ち主のカードで署名してください。"
	case errors.Is(err, ErrNoConsent):
		return "この事業者への同意がありません。"
	case errors.Is(err, ErrStale):
		return "署名から時間が経ちすぎています。もう一度署名してください。"
	case errors.Is(err, ErrOldCert):
		return "失効した署名用電子証明書では届け出られません。新しいカードの証明書で署名してください。"
	case errors.Is(err, ErrInvalid):
		return "内容が正しくありません。"
	}
	return "しばらくしてからもう一度お試しください。"
}

type consentsView struct {
	Parties  []*Party
	Consents []consentRow
}

func (p *Pages) consentsPage(w http.ResponseWriter, r *http.Request, ss *web.Session, box *Box) {
	names, parties, err := p.partyNames(r.Context())
	if err != nil {
		p.fail(w, r, err)
		return
	}
	cs, err := p.s.Consents(r.Context(), box)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	v := consentsView{}
	for _, x := range parties {
		if x.Has(RoleDeliver) || x.Has(RoleAddressNotice) {
			v.Parties = append(v.Parties, x)
		}
	}
	for _, c := range cs {
		v.Consents = append(v.Consents, consentRow{c, names[c.PartyID]})
	}
	p.save(r, ss)
	p.pages.Render(w, r, http.StatusOK, "consents", v)
}

func (p *Pages) consent(w http.ResponseWriter, r *http.Request, ss *web.Session, box *Box) {
	ctx := r.Context()
	back := func(f web.Flash) {
		ss.SetFlash(f)
		p.save(r, ss)
		http.Redirect(w, r, "/postbox/consents", http.StatusSeeOther)
	}
	party, err := p.s.Party(ctx, r.PostFormValue("party"))
	if err != nil {
		back(web.Flash{Kind: "error", JA: "事業者を選んでください。", EN: "Choose a business."})
		return
	}
	ref := strings.TrimSpace(r.PostFormValue("customer_ref"))
	deliver, notice := r.PostFormValue("deliver") == "on" && party.Has(RoleDeliver), r.PostFormValue("notice") == "on" && party.Has(RoleAddressNotice)
	if ref == "" || len(ref) > 64 || (!deliver && !notice) {
		back(web.Flash{Kind: "error", JA: "お客さま番号と、同意する内容を入力してください。", EN: "Enter your customer number and what you consent to."})
		return
	}
	signed, f := p.sign(r, ss, r.PostFormValue("password"), ConsentContent(party, ref, deliver, notice, p.s.now().UTC()))
	if f != nil {
		back(*f)
		return
	}
	if err := p.s.Consent(ctx, box, party.ID, ref, deliver, notice, signed[0]); err != nil {
		p.log.Warn("postbox: consent", "err", err)
		back(web.Flash{Kind: "error", JA: "同意を登録できませんでした：" + errorJA(err), EN: "The consent could not be recorded: " + err.Error()})
		return
	}
	back(web.Flash{Kind: "ok", JA: party.NameJA + " への同意を登録しました。", EN: "Your consent to " + party.NameEN + " is recorded."})
}

func (p *Pages) withdraw(w http.ResponseWriter, r *http.Request, ss *web.Session, box *Box) {
	f := web.Flash{Kind: "ok", JA: "同意を取り消しました。", EN: "The consent is withdrawn."}
	if err := p.s.Withdraw(r.Context(), box, r.PathValue("party")); err != nil {
		f = web.Flash{Kind: "error", JA: "取り消せませんでした。", EN: "It could not be withdrawn."}
	}
	ss.SetFlash(f)
	p.save(r, ss)
	http.Redirect(w, r, "/postbox/consents", http.StatusSeeOther)
}

type noticeView struct {
	Notice  *Notice
	Choices []noticeChoice
}

type noticeChoice struct {
	Party       *Party
	CustomerRef string
	Sent        bool
}

func (p *Pages) noticeView(ctx context.Context, box *Box, id string) (*noticeView, error) {
	n, err := p.s.Notice(ctx, box, id)
	if err != nil {
		return nil, err
	}
	names, _, err := p.partyNames(ctx)
	if err != nil {
		return nil, err
	}
	sent, err := p.s.Notified(ctx, box, id)
	if err != nil {
		return nil, err
	}
	cs, err := p.s.Consents(ctx, box)
	if err != nil {
		return nil, err
	}
	v := &noticeView{Notice: n}
	for _, c := range cs {
		if c.AddressNotice {
			v.Choices = append(v.Choices, noticeChoice{Party: names[c.PartyID], CustomerRef: c.CustomerRef, Sent: sent[c.PartyID]})
		}
	}
	return v, nil
}

func (p *Pages) noticePage(w http.ResponseWriter, r *http.Request, ss *web.Session, box *Box) {
	v, err := p.noticeView(r.Context(), box, r.PathValue("id"))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.save(r, ss)
	p.pages.Render(w, r, http.StatusOK, "notice", v)
}

// notify signs one notice per chosen business with the new signing
// certificate (one password entry) and queues them.
func (p *Pages) notify(w http.ResponseWriter, r *http.Request, ss *web.Session, box *Box) {
	ctx := r.Context()
	id := r.PathValue("id")
	if err := r.ParseForm(); err != nil {
		p.cfg.Site.Error(w, r, web.Problem{Status: http.StatusBadRequest})
		return
	}
	v, err := p.noticeView(ctx, box, id)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	back := func(f web.Flash) {
		ss.SetFlash(f)
		p.save(r, ss)
		http.Redirect(w, r, "/postbox/notices/"+id, http.StatusSeeOther)
	}
	chosen := map[string]bool{}
	for _, pid := range r.PostForm["party"] {
		chosen[pid] = true
	}
	var parties []*Party
	var contents []*verify.Content
	for _, c := range v.Choices {
		if chosen[c.Party.ID] && !c.Sent {
			parties = append(parties, c.Party)
			contents = append(contents, AddressNoticeContent(c.Party, c.CustomerRef, p.s.now().UTC()))
		}
	}
	if len(parties) == 0 {
		back(web.Flash{Kind: "error", JA: "通知する事業者を選んでください。", EN: "Choose the businesses to tell."})
		return
	}
	signed, f := p.sign(r, ss, r.PostFormValue("password"), contents...)
	if f != nil {
		back(*f)
		return
	}
	m := map[string][]byte{}
	for i, x := range parties {
		m[x.ID] = signed[i]
	}
	sends, err := p.s.NotifyAddress(ctx, box, id, m)
	if err != nil {
		p.log.Warn("postbox: notify", "err", err)
		back(web.Flash{Kind: "error", JA: "通知できませんでした：" + errorJA(err), EN: "The notices could not be sent: " + err.Error()})
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
	ss.SetFlash(web.Flash{Kind: "ok", JA: strings.Join(ja, "・") + " への住所変更の通知を受け付けました。", EN: "Notices to " + strings.Join(en, ", ") + " are queued."})
	p.save(r, ss)
	http.Redirect(w, r, "/postbox/#sends", http.StatusSeeOther)
}

// auditRow is an audit entry in words: who (the owner, the operator, a
// party by name) did what.
type auditRow struct {
	AuditEntry
	WhoJA, WhoEN, WhatJA, WhatEN string
}

// auditWords are the audit actions in words.
var auditWords = map[string][2]string{
	"consent":       {"同意を登録しました", "recorded a consent"},
	"withdraw":      {"同意を取り消しました", "withdrew a consent"},
	"deliver":       {"文書を届けました", "delivered a document"},
	"list":          {"一覧を見ました", "listed the documents"},
	"read":          {"文書を開きました", "opened a document"},
	"change-notice": {"変更案内を作成しました", "left a change notice"},
	"send":          {"送信しました", "sent"},
}

func (p *Pages) auditPage(w http.ResponseWriter, r *http.Request, ss *web.Session, box *Box) {
	es, err := p.s.Audit(r.Context(), box.ID, 200)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	names, _, err := p.partyNames(r.Context())
	if err != nil {
		p.fail(w, r, err)
		return
	}
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
	p.save(r, ss)
	p.pages.Render(w, r, http.StatusOK, "audit", rows)
}
