package terminal

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/web"
)

//go:embed templates
var templates embed.FS

// Pages are the terminal screens (/t/…) and the card holder's audit page
// (/me/audit).
type Pages struct {
	site  *web.Site
	pages *web.Pages
	// screens are the terminals' own screens, in the kit's layout.
	screens     *web.Pages
	cards       *card.Store
	stations    *Stations[*station]
	platformURL string
	hc          *http.Client
	logger      *slog.Logger
	history     []History
	// elsewhere are the terminals whose screens other packages serve,
	// listed on /t/ too (see AddElsewhere).
	elsewhere []elsewhereGroup
}

// elsewhereGroup is a kind of terminal whose screens are not under /t/.
type elsewhereGroup struct {
	TitleJA, TitleEN string
	Links            []web.Link
}

// station is a terminal with its reader (its card flow is the kit of
// Pages.stations).
type station struct {
	*Terminal
	reader Reader
}

// PagesConfig holds what the terminal pages need.
type PagesConfig struct {
	Site      *web.Site
	Cards     *card.Store
	Terminals []Config
	// PlatformURL and HTTP reach the platform's API.
	PlatformURL string
	HTTP        *http.Client
	// PCSC opens a real reader by name; nil in builds without the pcsc tag.
	PCSC   func(name string) (Reader, error)
	Logger *slog.Logger
	// History are the services whose records about the card holder the
	// audit page shows beside the platform's (eligibility checks …).
	History []History
}

// History is a service's record of what it did about a card holder, fetched
// with the holder's assertion for the audit page.
type History struct {
	TitleJA, TitleEN string
	Fetch            func(ctx context.Context, assertion string) ([]HistoryEntry, error)
}

// HistoryEntry is one line of a service's history.
type HistoryEntry struct {
	At             time.Time
	Where          string
	WhatJA, WhatEN string
	Result         string
	// Office and StaffNumber name the member of staff who acted, when one
	// did (a clerk who read or changed the record): the office as the
	// person reads it and the staff number, never the clerk's name.
	Office, StaffNumber string
}

// NewPages parses the templates and sets up every terminal.
func NewPages(cfg PagesConfig) (*Pages, error) {
	pages, err := cfg.Site.Parse(templates, "templates/terminals.html", "templates/audit.html")
	if err != nil {
		return nil, err
	}
	screens, err := Parse(cfg.Site, templates, "templates/screen.html", "templates/result.html")
	if err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	p := &Pages{site: cfg.Site, pages: pages, screens: screens, cards: cfg.Cards, stations: NewStations[*station](cfg.Site, cfg.Logger),
		platformURL: cfg.PlatformURL, hc: cfg.HTTP, logger: cfg.Logger, history: cfg.History}
	for _, c := range cfg.Terminals {
		t, err := New(c, cfg.PlatformURL, cfg.HTTP)
		if err != nil {
			return nil, err
		}
		rd, err := readerFor(c, cfg.Cards, cfg.PCSC)
		if err != nil {
			return nil, err
		}
		base := "/t/" + c.ID + "/"
		if err := p.stations.Add(c.ID, &station{t, rd}, KitConfig{Terminal: t, Reader: rd, Cards: cfg.Cards,
			Actions: Actions{Place: base + "place", PIN: base + "login", Remove: base + "remove"}}); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Routes registers the pages.
func (p *Pages) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /t/{$}", p.list)
	mux.HandleFunc("GET /t/{id}/{$}", p.screen)
	mux.HandleFunc("POST /t/{id}/place", p.place)
	mux.HandleFunc("POST /t/{id}/remove", p.remove)
	mux.HandleFunc("POST /t/{id}/login", p.login)
	mux.HandleFunc("GET /t/{id}/result", p.result)
	mux.HandleFunc("GET /me/audit", p.audit)
	mux.HandleFunc("POST /me/logout", p.logout)
}

// kindNames are the Japanese and English names of terminal kinds.
var kindNames = map[platform.TerminalKind][2]string{
	platform.Kiosk: {"キオスク端末", "Kiosk"}, platform.Reception: {"受付", "Reception desk"},
	platform.Mobile: {"モバイル端末", "Mobile"}, platform.TV: {"テレビ（STB）", "TV (set-top box)"},
	platform.Shelter: {"避難所", "Shelter"}, platform.School: {"学校・図書館", "School / library"},
	platform.StaffDesk: {"職員用端末", "Staff terminal"},
	platform.App:       {AppNameJA, AppNameEN},
}

// AppNameJA and AppNameEN name the OpenID Connect provider's card page (a
// platform.App terminal), mynaplat's twin of the Digital Agency's app. The
// person's history says this rather than a place: the page stands at none,
// it is on the person's own phone or PC.
const (
	AppNameJA = "デジタル認証アプリ（mynaplat）"
	AppNameEN = "Digital authentication app (mynaplat)"
)

// KindName is the Japanese and English name of a kind of terminal.
func KindName(k platform.TerminalKind) (ja, en string) {
	n, ok := kindNames[k]
	if !ok {
		return string(k), string(k)
	}
	return n[0], n[1]
}

// Links are the home page entries of the terminals.
func (p *Pages) Links() []web.Link {
	var out []web.Link
	for _, t := range p.stations.All() {
		k := kindNames[t.Kind]
		out = append(out, web.Link{Section: "端末 / Terminals", TitleJA: t.Name, TitleEN: t.Name,
			DescJA: k[0] + "・" + t.Owner + "：カードでログイン", DescEN: k[1] + " · " + t.Owner + ": log in with your card",
			Path: "/t/" + t.ID + "/"})
	}
	out = append(out, web.Link{Section: "本人 / Card holder", TitleJA: "わたしの確認履歴", TitleEN: "Who checked me",
		DescJA: "カードでログインした人が、いつ・どこで本人確認されたかを見られます", DescEN: "After logging in with your card: who checked you, where and when",
		Path: "/me/audit"})
	return out
}

// AddElsewhere lists on /t/, under a heading, terminals whose screens other
// packages serve (the convenience-store kiosks under /kiosk/, the hospital's
// stations under /reception/), so that /t/ is the one list of every
// terminal. Call it before the server starts serving.
func (p *Pages) AddElsewhere(titleJA, titleEN string, links ...web.Link) {
	if len(links) > 0 {
		p.elsewhere = append(p.elsewhere, elsewhereGroup{titleJA, titleEN, links})
	}
}

type listItem struct {
	ID, Name, Owner string
	KindJA, KindEN  string
}

type listPage struct {
	Terminals []listItem
	Elsewhere []elsewhereGroup
}

func (p *Pages) list(w http.ResponseWriter, r *http.Request) {
	var items []listItem
	for _, t := range p.stations.All() {
		k := kindNames[t.Kind]
		items = append(items, listItem{t.ID, t.Name, t.Owner, k[0], k[1]})
	}
	p.pages.Render(w, r, http.StatusOK, "terminals", listPage{items, p.elsewhere})
}

func reportKey(id string) string { return "t:" + id + ":report" }
func nextKey(id string) string   { return "t:" + id + ":next" }

// Kit is the card flow of terminal id (nil for none), for a service's
// pages that run on the terminal and need the card again: signing with
// the signing password goes through the kit's Sign, so that its limits
// and its report of a refused password apply there as at the PIN pad.
func (p *Pages) Kit(id string) *Kit { return p.stations.Kit(id) }

// KitsOf are the card flows of the terminals of kind k, in the order they
// were configured: a service whose screens run on every terminal of a kind
// (the TV portal on every set-top box) logs people in through them.
func (p *Pages) KitsOf(k platform.TerminalKind) []*Kit {
	var out []*Kit
	for _, t := range p.stations.All() {
		if t.Kind == k {
			out = append(out, p.stations.Kit(t.ID))
		}
	}
	return out
}

// screenData is what the terminal screen shows.
type screenData struct {
	ID, Name, Owner string
	KindJA, KindEN  string
	Card            *CardStep
}

// TerminalScreen is the screen of the terminal.
func (d screenData) TerminalScreen() Screen { return d.Card.Screen }

func (p *Pages) screen(w http.ResponseWriter, r *http.Request) {
	st, ss, ok := p.stations.Lookup(w, r)
	if !ok {
		return
	}
	// A service's page sends the person here to log in and back after.
	if next := r.URL.Query().Get("next"); next != "" {
		ss.Set(nextKey(st.ID), web.LocalPath(next))
		p.stations.Save(r, ss)
	}
	k := kindNames[st.Kind]
	d := screenData{ID: st.ID, Name: st.Name, Owner: st.Owner, KindJA: k[0], KindEN: k[1], Card: p.stations.Kit(st.ID).Card(r, ss)}
	p.screens.Render(w, r, http.StatusOK, "screen", d)
}

// LoginPath is the card screen of terminal id that comes back to next
// (a local path) after the login: where a service's screen sends a person
// who is not logged in there.
func LoginPath(id, next string) string {
	return "/t/" + url.PathEscape(id) + "/?next=" + url.QueryEscape(next)
}

func (p *Pages) redirect(w http.ResponseWriter, r *http.Request, id, to string) {
	http.Redirect(w, r, "/t/"+id+"/"+to, http.StatusSeeOther)
}

func (p *Pages) place(w http.ResponseWriter, r *http.Request) {
	st, ss, ok := p.stations.Lookup(w, r)
	if !ok {
		return
	}
	ss.Delete(reportKey(st.ID))
	if res := p.stations.Kit(st.ID).Place(r, ss); !res.Passed() {
		ss.SetFlash(res.Flash())
	}
	p.stations.Save(r, ss)
	p.redirect(w, r, st.ID, "")
}

func (p *Pages) remove(w http.ResponseWriter, r *http.Request) {
	st, ss, ok := p.stations.Lookup(w, r)
	if !ok {
		return
	}
	p.stations.Kit(st.ID).Remove(ss)
	ss.Delete(reportKey(st.ID))
	p.stations.Save(r, ss)
	p.redirect(w, r, st.ID, "")
}

func (p *Pages) login(w http.ResponseWriter, r *http.Request) {
	st, ss, ok := p.stations.Lookup(w, r)
	if !ok {
		return
	}
	_, res := p.stations.Kit(st.ID).Login(r.Context(), r, ss)
	if res.Report == nil {
		// The card, the reader or the network said no: back to the PIN.
		ss.SetFlash(res.Flash())
		p.stations.Save(r, ss)
		p.redirect(w, r, st.ID, "")
		return
	}
	rep, _ := json.Marshal(res.Report)
	ss.Set(reportKey(st.ID), string(rep))
	if next := ss.Get(nextKey(st.ID)); next != "" && res.Passed() {
		ss.Delete(nextKey(st.ID))
		p.stations.Save(r, ss)
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	p.stations.Save(r, ss)
	p.redirect(w, r, st.ID, "result")
}

type resultData struct {
	ID, Name string
	Screen   Screen
	Report   *platform.Report
	Outcome  Message
	Checks   []checkRow
	Actions  Actions
}

// TerminalScreen is the screen of the terminal.
func (d resultData) TerminalScreen() Screen { return d.Screen }

// checkRow is one step of the verification report, named in both languages.
type checkRow struct {
	JA, EN string
	OK     bool
	Detail string
}

// checkNames are the report's steps as a person reads them.
var checkNames = map[string][2]string{
	"challenge":   {"認証要求（使い捨て・有効期限）", "Challenge (single use, expiry)"},
	"certificate": {"電子証明書", "Certificate"},
	"chain":       {"発行者（利用者証明用認証局）", "Issuer (user authentication CA)"},
	"validity":    {"有効期間", "Validity period"},
	"signature":   {"カードの署名", "The card's signature"},
	"revocation":  {"失効確認", "Revocation"},
	"linkage":     {"プラットフォームID（紐付け情報）", "Platform ID (linkage records)"},
}

// result is the platform's answer, worded from the outcome table; the
// report's details are the platform's English and are shown on the English
// page only.
func (p *Pages) result(w http.ResponseWriter, r *http.Request) {
	st, ss, ok := p.stations.Lookup(w, r)
	if !ok {
		return
	}
	var rep platform.Report
	if err := json.Unmarshal([]byte(ss.Get(reportKey(st.ID))), &rep); err != nil {
		p.redirect(w, r, st.ID, "")
		return
	}
	status := http.StatusOK
	if rep.Result != platform.Passed {
		status = http.StatusForbidden
	}
	d := resultData{ID: st.ID, Name: st.Name, Screen: p.stations.Kit(st.ID).Screen(), Report: &rep,
		Outcome: Of(card.AuthPIN, nil, &rep).Message(), Actions: p.stations.Kit(st.ID).cfg.Actions}
	for _, c := range rep.Checks {
		n, ok := checkNames[c.Name]
		if !ok {
			n = [2]string{c.Name, c.Name}
		}
		d.Checks = append(d.Checks, checkRow{n[0], n[1], c.OK, c.Detail})
	}
	p.screens.Render(w, r, status, "result", d)
}

type auditData struct {
	LoggedIn   bool
	PlatformID string
	Entries    []auditRow
	Services   []serviceHistory
}

type serviceHistory struct {
	TitleJA, TitleEN string
	Entries          []HistoryEntry
	Failed           bool
}

type auditRow struct {
	At         time.Time
	TerminalID string
	// WhereJA and WhereEN are where it happened: the terminal's owner, or
	// the provider's name for what its card page or its server did (an
	// App terminal stands at no place).
	WhereJA, WhereEN string
	TerminalName     string
	KindJA, KindEN   string
	Action, Result   string
	// WhatJA … ResultEN word a row the template does not word itself (a
	// PIN the card refused, a disclosure).
	WhatJA, WhatEN     string
	ResultJA, ResultEN string
}

// wordWhere sets where a row happened: the terminal's owner, but the
// provider's name for a login at its card page and for its disclosures.
func wordWhere(e platform.AuditEntry, row *auditRow) {
	row.WhereJA, row.WhereEN = e.Owner, e.Owner
	if e.TerminalKind == platform.App || e.Action == platform.ActionOIDCDisclosure {
		row.WhereJA, row.WhereEN = AppNameJA, AppNameEN
	}
}

// disclosedItems are the items of a disclosure as the holder reads them.
var disclosedItems = map[string][2]string{
	platform.ItemName: {"氏名", "name"}, platform.ItemAddress: {"住所", "address"},
	platform.ItemBirthdate: {"生年月日", "date of birth"}, platform.ItemGender: {"性別", "gender"},
	platform.ItemSignature: {"電子署名", "signature"},
}

// wordDisclosure words a row of what the provider gave an outside
// service: 「須坂市ウェブサイト (RP00000001)に 氏名・生年月日 を提供」. False
// for a row of another action, or one whose reason it cannot read.
func wordDisclosure(e platform.AuditEntry, row *auditRow) bool {
	if e.Action != platform.ActionOIDCDisclosure {
		return false
	}
	d, ok := platform.ParseDisclosureReason(e.Reason)
	if !ok {
		return false
	}
	var ja, en []string
	for _, item := range platform.DisclosureItems {
		if slices.Contains(d.Items, item) {
			ja, en = append(ja, disclosedItems[item][0]), append(en, disclosedItems[item][1])
		}
	}
	row.WhatJA = d.Recipient + "に " + strings.Join(ja, "・") + " を提供"
	row.WhatEN = "Gave " + strings.Join(en, ", ") + " to " + d.Recipient
	return true
}

// pinNames are the PINs a refusal names, as the holder reads them.
var pinNames = map[string][2]string{
	platform.PINAuth: {"利用者証明用電子証明書の暗証番号（数字4桁）", "the PIN of the authentication certificate (4 digits)"},
	platform.PINSign: {"署名用電子証明書の暗証番号（英数字6〜16文字）", "the signing password (6–16 letters and digits)"},
}

// wordPINRefusal words a row of a PIN the card refused at a terminal: which
// PIN, and wrong with the tries left or blocked. False for a row of
// another action, or one whose reason it cannot read.
func wordPINRefusal(e platform.AuditEntry, row *auditRow) bool {
	if e.Action != platform.ActionPINRefusal {
		return false
	}
	pin, tries, ok := platform.ParsePINRefusalReason(e.Reason)
	if !ok {
		return false
	}
	n := pinNames[pin]
	row.WhatJA, row.WhatEN = "カードが暗証番号を受け付けませんでした："+n[0], "The card refused "+n[1]
	switch e.Result {
	case platform.ResultPINWrong:
		row.ResultJA = fmt.Sprintf("暗証番号の誤り（残り %d 回）", tries)
		row.ResultEN = fmt.Sprintf("Wrong PIN (%d tries left)", tries)
		if tries == 1 {
			row.ResultEN = "Wrong PIN (1 try left)"
		}
	case platform.ResultPINBlocked:
		row.ResultJA, row.ResultEN = "ロックされています（窓口で再設定が必要）", "Blocked (to be reset at the municipal counter)"
	default:
		return false
	}
	return true
}

func (p *Pages) audit(w http.ResponseWriter, r *http.Request) {
	ss, ok := Session(p.site, p.logger, w, r)
	if !ok {
		return
	}
	login, err := LoggedIn(ss, time.Now(), AnyTerminal, "")
	if err != nil {
		p.pages.Render(w, r, http.StatusOK, "audit", auditData{})
		return
	}
	assertion := login.Assertion
	page, err := platform.FetchAudit(r.Context(), p.hc, p.platformURL, assertion)
	if errors.Is(err, platform.ErrBadAssertion) {
		// The assertion expired (they last five minutes): log in again.
		Logout(ss)
		ss.SetFlash(Result{Outcome: LoginExpired}.Flash())
		p.stations.Save(r, ss)
		p.pages.Render(w, r, http.StatusOK, "audit", auditData{})
		return
	}
	if err != nil {
		p.logger.ErrorContext(r.Context(), "audit", "err", err)
		p.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable,
			TitleJA: "確認履歴を表示できません", TitleEN: "The history cannot be shown",
			WhatJA: "本人確認サービスに接続できませんでした。", WhatEN: "The authentication service could not be reached.",
			DoJA: "しばらくしてから再度お試しください。", DoEN: "Try again shortly."})
		return
	}
	d := auditData{LoggedIn: true, PlatformID: page.PlatformID}
	for _, e := range page.Entries {
		k := kindNames[e.TerminalKind]
		row := auditRow{At: time.UnixMilli(e.At), TerminalID: e.TerminalID,
			TerminalName: e.TerminalName, KindJA: k[0], KindEN: k[1], Action: e.Action, Result: e.Result}
		wordWhere(e, &row)
		_ = wordPINRefusal(e, &row) || wordDisclosure(e, &row)
		d.Entries = append(d.Entries, row)
	}
	for _, h := range p.history {
		entries, err := h.Fetch(r.Context(), assertion)
		if err != nil {
			p.logger.WarnContext(r.Context(), "audit: service history", "service", h.TitleEN, "err", err)
		}
		d.Services = append(d.Services, serviceHistory{TitleJA: h.TitleJA, TitleEN: h.TitleEN, Entries: entries, Failed: err != nil})
	}
	p.pages.Render(w, r, http.StatusOK, "audit", d)
}

func (p *Pages) logout(w http.ResponseWriter, r *http.Request) {
	ss, err := p.site.Session(w, r)
	if err == nil {
		err = ss.Destroy(r.Context(), w)
	}
	if err != nil {
		p.logger.ErrorContext(r.Context(), "logout", "err", err)
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
