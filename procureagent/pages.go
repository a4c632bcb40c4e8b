package procureagent

import (
	"crypto"
	"crypto/x509"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/cms"
	"github.com/mynaplat/mynaplat/procure"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/web"
)

//go:embed templates
var templates embed.FS

// Config holds what the agent's pages need.
type Config struct {
	Site *web.Site
	// Register is the qualification register's client.
	Register *procure.Client
	// Kit is the card flow of the terminal agents log in at.
	Kit *terminal.Kit
	// Stamper time-stamps the agent's signatures.
	Stamper cms.Stamper
	Logger  *slog.Logger
	Now     func() time.Time
	// Bidding, when set, serves the bidding pages (docs/procurement.md
	// §5.5): the bodies' tenders, the bid signed with the card and sealed
	// here, the receipts kept on this terminal.
	Bidding *Bidding
	// LoggedIn is the card login handed over on the session; nil is the
	// kit's terminal.LoggedIn (tests stand in for the card step with it).
	LoggedIn func(ss *web.Session, now time.Time) (terminal.Login, error)
}

// Pages are the agent's pages:
//
//	GET  /procure/agent/         the companies the agent may act for (their powers) and their applications, with what an officer asked
//	GET  /procure/agent/apply    the application form, the power picked from the agent's (?power=ID: that one; ?from=ID: the application to correct, filled in)
//	POST /procure/agent/apply    sign with the card and file
//	POST /procure/agent/logout   log out
//	GET  /procure/agent/tenders  the bodies' open tenders, the powers that may bid, the bids sent from this terminal and their receipts
//	GET  /procure/agent/tenders/{body}/{tender}   the bid form (the opening certificate's fingerprint shown)
//	POST /procure/agent/tenders/{body}/{tender}   sign with the card, seal, post the envelope, verify and keep the receipt
//	GET  /procure/agent/contracts  the contracts of the tenders the agent's companies won, their state and what comes next
//	GET  /procure/agent/contracts/{body}/{id}     the contract: state, next, the body's report of its timeline, the form of what the agent signs now
//	GET  /procure/agent/contracts/{body}/{id}/contract.pdf, …/bundle   the current PDF; the timeline file `mynaplat verify` checks
//	POST /procure/agent/contracts/{body}/{id}/sign                     sign the contract with the card (PAdES, time-stamped)
//	POST /procure/agent/contracts/{body}/{id}/steps/{acceptance|invoice}   sign the acceptance or the invoice with the card
type Pages struct {
	cfg   Config
	pages *web.Pages
	kept  *receipts
	// acting orders the agent's signing acts per contract (contracts.go).
	acting locks
}

// Home is the agent's first page.
const Home = "/procure/agent/"

// New parses the templates.
func New(cfg Config) (*Pages, error) {
	if cfg.Site == nil || cfg.Register == nil || cfg.Kit == nil {
		return nil, errors.New("procureagent: the pages need a site, the register and the terminal's card flow")
	}
	pages, err := cfg.Site.Parse(templates, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("procureagent: pages: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.LoggedIn == nil {
		id := cfg.Kit.Terminal().ID
		cfg.LoggedIn = func(ss *web.Session, now time.Time) (terminal.Login, error) {
			return terminal.LoggedIn(ss, now, id, "")
		}
	}
	p := &Pages{cfg: cfg, pages: pages}
	if b := cfg.Bidding; b != nil {
		if b.Client == nil || b.TSARoots == nil || b.Dir == "" || len(b.Bodies) == 0 {
			return nil, errors.New("procureagent: bidding needs the bodies' client, the bodies, the TSA's roots and a directory")
		}
		p.kept = &receipts{path: filepath.Join(b.Dir, keptFile)}
	}
	return p, nil
}

// Routes registers the pages.
func (p *Pages) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+Home+"{$}", p.agent(p.home))
	mux.HandleFunc("GET "+Home+"apply", p.agent(p.form))
	mux.HandleFunc("POST "+Home+"apply", p.agent(p.apply))
	mux.HandleFunc("POST "+Home+"logout", p.logout)
	if p.kept != nil {
		mux.HandleFunc("GET "+Home+"tenders", p.agent(p.tenders))
		mux.HandleFunc("GET "+Home+"tenders/{body}/{tender}", p.agent(p.bidForm))
		mux.HandleFunc("POST "+Home+"tenders/{body}/{tender}", p.agent(p.bid))
		mux.HandleFunc("GET "+contractsPath, p.agent(p.contracts))
		mux.HandleFunc("GET "+contractsPath+"/{body}/{id}", p.agent(p.contractPage))
		mux.HandleFunc("GET "+contractsPath+"/{body}/{id}/contract.pdf", p.agent(p.contractFile))
		mux.HandleFunc("GET "+contractsPath+"/{body}/{id}/bundle", p.agent(p.contractBundle))
		mux.HandleFunc("POST "+contractsPath+"/{body}/{id}/sign", p.agent(p.signContract))
		mux.HandleFunc("POST "+contractsPath+"/{body}/{id}/steps/{kind}", p.agent(p.step))
	}
}

// Links are the home page entries.
func (p *Pages) Links() []web.Link {
	links := []web.Link{{Section: "政府調達 / Government procurement", TitleJA: "競争参加資格の申請（代理人）", TitleEN: "Qualification application (agent)",
		DescJA: "委任を受けた代理人がカードでログインし、統一資格を申請・補正します", DescEN: "An agent under a power of attorney logs in with their card and applies for the unified qualification",
		Path: Home}}
	if p.kept != nil {
		links = append(links, web.Link{Section: "政府調達 / Government procurement", TitleJA: "入札（代理人）", TitleEN: "Bids (agent)",
			DescJA: "代理人がカードで入札書に署名し、端末で封をして発注機関に送ります", DescEN: "An agent signs a bid with their card; it is sealed on this terminal and sent to the procuring body",
			Path: Home + "tenders"}, web.Link{Section: "政府調達 / Government procurement", TitleJA: "契約（代理人）", TitleEN: "Contracts (agent)",
			DescJA: "落札した案件の契約書にカードで署名し、受領・請求まで記録します", DescEN: "Sign the contract of a tender you won with your card, then the acceptance and the invoice",
			Path: contractsPath})
	}
	return links
}

// visit is one request of a logged-in agent.
type visit struct {
	ss    *web.Session
	login terminal.Login
}

// agent runs h for an agent logged in with their card at the kit's
// terminal; otherwise it shows the login page (a form sent without a
// login sends nothing).
func (p *Pages) agent(h func(http.ResponseWriter, *http.Request, *visit)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ss, err := p.cfg.Site.Session(w, r)
		if err != nil {
			p.cfg.Site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
			return
		}
		l, err := p.cfg.LoggedIn(ss, p.cfg.Now())
		if err != nil {
			if r.Method != http.MethodGet {
				p.cfg.Site.Error(w, r, web.Problem{Status: http.StatusForbidden, TitleJA: "ログインしてください", TitleEN: "Please log in",
					WhatJA: "ログインの有効期限が切れたため、何も送信していません。", WhatEN: "Your login expired; nothing was sent.",
					DoJA: "カードでもう一度ログインしてください。", DoEN: "Log in with your card again."})
				return
			}
			p.pages.Render(w, r, http.StatusOK, "login", loginView{Terminal: p.cfg.Kit.Terminal().ID, Next: r.URL.RequestURI()})
			return
		}
		h(w, r, &visit{ss: ss, login: l})
	}
}

func (p *Pages) logout(w http.ResponseWriter, r *http.Request) {
	if ss, err := p.cfg.Site.Session(w, r); err == nil {
		terminal.Logout(ss)
		if err := ss.Save(r.Context()); err != nil {
			p.cfg.Logger.ErrorContext(r.Context(), "procureagent: save session", "err", err)
		}
	}
	http.Redirect(w, r, Home, http.StatusSeeOther)
}

// fail answers a failed call to the register: a login it does not believe
// (expired) asks for the card again, the rest is the register not answering.
func (p *Pages) fail(w http.ResponseWriter, r *http.Request, v *visit, err error) {
	switch {
	case errors.Is(err, procure.ErrAssertion):
		terminal.Logout(v.ss)
		p.pages.Render(w, r, http.StatusOK, "login", loginView{Terminal: p.cfg.Kit.Terminal().ID, Next: Home})
	case errors.Is(err, procure.ErrNotFound):
		p.cfg.Site.Error(w, r, web.Problem{Status: http.StatusNotFound})
	default:
		p.cfg.Logger.ErrorContext(r.Context(), "procureagent: page", "path", r.URL.Path, "err", err)
		p.cfg.Site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
	}
}

type loginView struct{ Terminal, Next string }

type homeView struct {
	Name   string
	Powers []procure.AgentPower
	// CanApply: one of the powers lets the agent apply now.
	CanApply     bool
	Applications []procure.ApplicationSummary
}

func (p *Pages) home(w http.ResponseWriter, r *http.Request, v *visit) {
	powers, err := p.cfg.Register.AgentPowers(r.Context(), v.login.Assertion)
	if err != nil {
		p.fail(w, r, v, err)
		return
	}
	list, err := p.cfg.Register.AgentApplications(r.Context(), v.login.Assertion)
	if err != nil {
		p.fail(w, r, v, err)
		return
	}
	canApply := slices.ContainsFunc(powers, func(ap procure.AgentPower) bool { return ap.Has(procure.MatterQualify) && ap.Usable() })
	p.pages.Render(w, r, http.StatusOK, "home", homeView{Name: v.login.Holder, Powers: powers, CanApply: canApply, Applications: list})
}

// qualifyPowers are the agent's powers that delegate the application
// (MatterQualify) in the company's current name: the ones the form offers.
func (p *Pages) qualifyPowers(r *http.Request, v *visit) ([]procure.AgentPower, error) {
	all, err := p.cfg.Register.AgentPowers(r.Context(), v.login.Assertion)
	if err != nil {
		return nil, err
	}
	var out []procure.AgentPower
	for _, ap := range all {
		if ap.Has(procure.MatterQualify) && ap.Usable() {
			out = append(out, ap)
		}
	}
	return out, nil
}

// fieldView is one field of the form with its items.
type fieldView struct {
	Field    procure.Field
	JA, EN   string
	Chosen   bool
	Items    []string
	Selected map[string]bool
}

type formView struct {
	App procure.Application
	// Powers are the agent's powers for the application, to pick from.
	Powers  []procure.AgentPower
	Fields  []fieldView
	Regions []string
	Region  map[string]bool
	// Correcting is the application being corrected, with the officer's
	// request.
	Correcting *procure.ApplicationDetail
	Sign       *terminal.SignStep
}

func (p *Pages) view(r *http.Request, v *visit, a procure.Application, powers []procure.AgentPower, correcting *procure.ApplicationDetail) formView {
	fv := formView{App: a, Powers: powers, Regions: procure.Regions, Region: map[string]bool{}, Correcting: correcting,
		Sign: p.cfg.Kit.SignCard(r, v.ss, "署名して申請する", "Sign and apply")}
	for _, reg := range a.Regions {
		fv.Region[reg] = true
	}
	for _, f := range procure.Fields() {
		ja, en := f.Names()
		row := fieldView{Field: f, JA: ja, EN: en, Items: procure.Items[f], Selected: map[string]bool{}}
		for _, fi := range a.Fields {
			if fi.Field == f {
				row.Chosen = true
				for _, it := range fi.Items {
					row.Selected[it] = true
				}
			}
		}
		fv.Fields = append(fv.Fields, row)
	}
	return fv
}

func (p *Pages) form(w http.ResponseWriter, r *http.Request, v *visit) {
	powers, err := p.qualifyPowers(r, v)
	if err != nil {
		p.fail(w, r, v, err)
		return
	}
	a := procure.Application{Kind: procure.KindNew, PowerID: r.URL.Query().Get("power")}
	if a.PowerID == "" && len(powers) > 0 {
		a.PowerID = powers[0].PowerID
	}
	var correcting *procure.ApplicationDetail
	if id := r.URL.Query().Get("from"); id != "" {
		d, err := p.cfg.Register.AgentApplication(r.Context(), v.login.Assertion, id)
		if err != nil {
			p.fail(w, r, v, err)
			return
		}
		a, correcting = *d.Application, d
	}
	p.pages.Render(w, r, http.StatusOK, "apply", p.view(r, v, a, powers, correcting))
}

// parse reads the form into an application; the corporation is the picked
// power's (apply fills it in).
func parse(r *http.Request) procure.Application {
	num := func(name string) int64 {
		n, err := strconv.ParseInt(strings.ReplaceAll(strings.TrimSpace(r.PostFormValue(name)), ",", ""), 10, 64)
		if err != nil {
			return -1
		}
		return n
	}
	a := procure.Application{PowerID: strings.TrimSpace(r.PostFormValue("power")),
		Kind: procure.Kind(r.PostFormValue("kind")), Founded: r.PostFormValue("founded"), Regions: r.PostForm["region"],
		TaxDeclared: r.PostFormValue("tax") == "yes",
		Financials: procure.FinancialItems{AverageSalesYen: num("sales"), EquityYen: num("equity"), CurrentAssetsYen: num("assets"),
			CurrentLiabilitiesYen: num("liabilities"), Years: int(num("years")), EquipmentYen: num("equipment")}}
	for _, f := range procure.Fields() {
		if slices.Contains(r.PostForm["field"], string(f)) {
			a.Fields = append(a.Fields, procure.FieldItems{Field: f, Items: r.PostForm["items_"+string(f)]})
		}
	}
	return a
}

func (p *Pages) apply(w http.ResponseWriter, r *http.Request, v *visit) {
	if err := r.ParseForm(); err != nil {
		p.cfg.Site.Error(w, r, web.Problem{Status: http.StatusBadRequest})
		return
	}
	a := parse(r)
	powers, err := p.qualifyPowers(r, v)
	if err != nil {
		p.fail(w, r, v, err)
		return
	}
	var correcting *procure.ApplicationDetail
	if id := r.PostFormValue("from"); id != "" {
		d, err := p.cfg.Register.AgentApplication(r.Context(), v.login.Assertion, id)
		if err != nil {
			p.fail(w, r, v, err)
			return
		}
		correcting = d
	}
	again := func(f web.Flash) {
		v.ss.SetFlash(f)
		if err := v.ss.Save(r.Context()); err != nil {
			p.cfg.Logger.ErrorContext(r.Context(), "procureagent: save session", "err", err)
		}
		p.pages.Render(w, r, http.StatusUnprocessableEntity, "apply", p.view(r, v, a, powers, correcting))
	}
	i := slices.IndexFunc(powers, func(ap procure.AgentPower) bool { return ap.PowerID == a.PowerID })
	if i < 0 {
		again(web.Flash{Kind: "error", JA: "何も送信していません。代理する法人の委任状を一覧から選んでください（選んだ委任状は、いま有効なあなたの申請用の委任状ではありません）。",
			EN: "Nothing was sent. Pick the power of the company you act for from the list (the one chosen is not a power of yours for the application in effect now)."})
		return
	}
	a.CorporateNumber = powers[i].CorporateNumber
	content, err := a.Canonical()
	if ref, ok := errors.AsType[*procure.Refusal](err); ok {
		f := web.Flash{Kind: "error", JA: "何も送信していません。" + ref.MessageJA, EN: "Nothing was sent. " + ref.MessageEN}
		if ref.Detail != "" {
			f.JA, f.EN = f.JA+"（"+ref.Detail+"）", f.EN+" ("+ref.Detail+")"
		}
		again(f)
		return
	} else if err != nil {
		p.fail(w, r, v, err)
		return
	}
	var signed []byte
	res, err := p.cfg.Kit.Sign(r, v.ss, func(cert *x509.Certificate, signer crypto.Signer) error {
		var err error
		signed, err = cms.Sign(r.Context(), content, cms.SignOptions{Signer: signer, Cert: cert, Stamper: p.cfg.Stamper})
		return err
	})
	switch {
	case err != nil:
		p.cfg.Logger.ErrorContext(r.Context(), "procureagent: sign", "err", err)
		again(web.Flash{Kind: "error", JA: "署名できませんでした。しばらくしてからもう一度お試しください。", EN: "The application could not be signed. Try again shortly."})
		return
	case !res.Passed():
		f := res.Flash()
		f.JA, f.EN = "何も送信していません。"+f.JA, "Nothing was sent. "+f.EN
		again(f)
		return
	}
	filed, err := p.cfg.Register.Apply(r.Context(), v.login.Assertion, signed)
	if ref, ok := errors.AsType[*procure.Refusal](err); ok {
		again(web.Flash{Kind: "error", JA: "申請は受け付けられませんでした：" + ref.MessageJA, EN: "The application was not accepted: " + ref.MessageEN})
		return
	} else if err != nil {
		p.fail(w, r, v, err)
		return
	}
	v.ss.SetFlash(web.Flash{Kind: "ok", JA: fmt.Sprintf("申請を受け付けました（第%d版）。審査の結果はこの画面に表示されます。", filed.Version),
		EN: fmt.Sprintf("The application was filed (version %d). The review's outcome appears on this page.", filed.Version)})
	if err := v.ss.Save(r.Context()); err != nil {
		p.cfg.Logger.ErrorContext(r.Context(), "procureagent: save session", "err", err)
	}
	http.Redirect(w, r, Home, http.StatusSeeOther)
}
