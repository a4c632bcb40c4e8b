package municipal

import (
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/web"
)

//go:embed templates
var templates embed.FS

// The staff back office of each municipality, under /municipal/{code}/office/:
// staff log in with a staff key the municipality issued (IssueStaffKey) and
// their name; they list the register, open a person (every view is audited)
// and change the address, the status and the 支援措置 flag (audited with
// what changed, never the values).
//
//	GET  /municipal/{code}/office/              the register (or the login form)
//	POST /municipal/{code}/office/login         log in
//	POST /municipal/{code}/office/logout        log out
//	GET  /municipal/{code}/office/persons/{id}  one person, with the edit form
//	POST /municipal/{code}/office/persons/{id}  change it
//	GET  /municipal/{code}/office/audit         the newest audit rows
//	GET  /municipal/{code}/office/registrations       the usage registrations waiting for a clerk
//	POST /municipal/{code}/office/registrations/{id}  approve or reject one (decision=approve|reject)
//
// The registration pages answer 404 unless SetRegistrations gave the pages
// a queue.

// Session keys of the back office.
const (
	officeCodeKey  = "muni:code"
	officeStaffKey = "muni:staff"
)

// Pages serves the issuance API and the back office of every municipality
// of a Service.
type Pages struct {
	s      *Service
	site   *web.Site
	pages  *web.Pages
	logger *slog.Logger
	af     AntiForgery
	regs   RegistrationQueue
}

// SetRegistrations gives the back office the queue of 本籍地 usage
// registrations (jlis.Service.Queue in production). Call it before the
// pages serve.
func (p *Pages) SetRegistrations(q RegistrationQueue) { p.regs = q }

// NewPages parses the back office's templates. Mount Routes on the mux that
// site.Protect wraps. The issuance API protects every certificate with af;
// nil hands out bare PDFs (for tests of the layout only).
func NewPages(s *Service, site *web.Site, af AntiForgery) (*Pages, error) {
	pages, err := site.Parse(templates, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("municipal: pages: %w", err)
	}
	return &Pages{s: s, site: site, pages: pages, logger: s.logger, af: af}, nil
}

// Routes registers the issuance API and the back office.
func (p *Pages) Routes(mux *http.ServeMux) {
	p.apiRoutes(mux)
	mux.HandleFunc("GET /municipal/{code}/office/{$}", p.staffOnly(p.list))
	mux.HandleFunc("POST /municipal/{code}/office/login", p.login)
	mux.HandleFunc("POST /municipal/{code}/office/logout", p.logout)
	mux.HandleFunc("GET /municipal/{code}/office/persons/{id}", p.staffOnly(p.person))
	mux.HandleFunc("POST /municipal/{code}/office/persons/{id}", p.staffOnly(p.edit))
	mux.HandleFunc("GET /municipal/{code}/office/audit", p.staffOnly(p.auditPage))
	mux.HandleFunc("GET /municipal/{code}/office/registrations", p.staffOnly(p.registrations))
	mux.HandleFunc("POST /municipal/{code}/office/registrations/{id}", p.staffOnly(p.decide))
}

// Links are the home page entries: one back office per municipality set up
// when the pages were made is not known here, so the entry points at the
// municipalities' list in the demo town 酒田市.
func (p *Pages) Links() []web.Link {
	return []web.Link{
		{Section: "市区町村 / Municipalities", TitleJA: "市区町村の事務（住民記録）", TitleEN: "Municipal back office (residents)",
			DescJA: "住民の記録の閲覧・住所・状態・支援措置の変更（すべて記録されます）",
			DescEN: "View residents; change address, status and support measures (all audited)",
			Path:   "/municipal/062049/office/"},
	}
}

type officeChrome struct {
	Code, Name, Staff string
}

type loginPage struct {
	Code, Name string
	Problem    *msg
}

type msg struct{ JA, EN string }

// staffOnly runs h for staff logged in to the path's municipality; anyone
// else gets the login form.
func (p *Pages) staffOnly(h func(http.ResponseWriter, *http.Request, *web.Session, officeChrome)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		code := r.PathValue("code")
		m, err := p.s.Municipality(r.Context(), code)
		if err != nil {
			p.fail(w, r, err)
			return
		}
		ss, err := p.site.Session(w, r)
		if err != nil {
			p.fail(w, r, err)
			return
		}
		if ss.Get(officeCodeKey) != code || ss.Get(officeStaffKey) == "" {
			if r.Method != http.MethodGet {
				p.site.Error(w, r, web.Problem{Status: http.StatusForbidden, TitleJA: "ログインしてください", TitleEN: "Please log in",
					WhatJA: "ログインしていないため、変更は行われていません。", WhatEN: "You are not logged in; nothing was changed.",
					DoJA: "ログインしてからやり直してください。", DoEN: "Log in and try again."})
				return
			}
			p.pages.Render(w, r, http.StatusOK, "login", loginPage{Code: code, Name: m.FullName()})
			return
		}
		h(w, r, ss, officeChrome{Code: code, Name: m.FullName(), Staff: ss.Get(officeStaffKey)})
	}
}

func (p *Pages) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		p.site.Error(w, r, web.Problem{Status: http.StatusNotFound})
	case errors.Is(err, ErrInvalid):
		p.site.Error(w, r, web.Problem{Status: http.StatusBadRequest})
	default:
		p.logger.ErrorContext(r.Context(), "municipal office", "path", r.URL.Path, "err", err)
		p.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
	}
}

func (p *Pages) login(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("code")
	m, err := p.s.Municipality(r.Context(), code)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	staff := strings.TrimSpace(r.PostFormValue("staff"))
	_, err = p.s.checkKey(r.Context(), code, keyStaff, r.PostFormValue("key"))
	if err != nil || staff == "" || len([]rune(staff)) > 40 {
		if err != nil && !errors.Is(err, ErrUnauthorized) {
			p.fail(w, r, err)
			return
		}
		p.logger.InfoContext(r.Context(), "municipal office: login refused", "municipality", code)
		p.pages.Render(w, r, http.StatusUnauthorized, "login", loginPage{Code: code, Name: m.FullName(),
			Problem: &msg{"職員キーまたは氏名が正しくありません。", "The staff key or the name is not right."}})
		return
	}
	ss, err := p.site.Session(w, r)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	ss.Set(officeCodeKey, code)
	ss.Set(officeStaffKey, staff)
	ss.SetFlash(web.Flash{Kind: "ok", JA: "ログインしました。閲覧と変更はすべて記録されます。", EN: "Logged in. Every view and change is recorded."})
	if err := ss.Save(r.Context()); err != nil {
		p.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/municipal/"+code+"/office/", http.StatusSeeOther)
}

func (p *Pages) logout(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("code")
	ss, err := p.site.Session(w, r)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	ss.Delete(officeCodeKey)
	ss.Delete(officeStaffKey)
	if err := ss.Save(r.Context()); err != nil {
		p.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/municipal/"+code+"/office/", http.StatusSeeOther)
}

type listPage struct {
	officeChrome
	Persons []Person
	// Queue says whether the registration queue is served; Pending is how
	// many registrations wait in it.
	Queue   bool
	Pending int
}

func (p *Pages) list(w http.ResponseWriter, r *http.Request, _ *web.Session, c officeChrome) {
	ps, err := p.s.Persons(r.Context(), c.Code, 200)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	pg := listPage{officeChrome: c, Persons: ps, Queue: p.regs != nil}
	if p.regs != nil {
		if pg.Pending, err = p.s.CountPendingRegistrations(r.Context(), p.regs, c.Code); err != nil {
			p.fail(w, r, err)
			return
		}
	}
	p.pages.Render(w, r, http.StatusOK, "list", pg)
}

type personPage struct {
	officeChrome
	P        *Person
	Statuses []statusOption
	Problem  *msg
}

type statusOption struct {
	Value  Status
	JA, EN string
}

func statusOptions() []statusOption {
	return []statusOption{{Resident, "住民", "resident"}, {MovedOut, "転出届出済", "moved out (filed)"}, {Deceased, "死亡", "deceased"}}
}

// StatusName is a status in the page's language.
func (pg personPage) StatusName(s Status, lang string) string {
	for _, o := range statusOptions() {
		if o.Value == s {
			if lang == "en" {
				return o.EN
			}
			return o.JA
		}
	}
	return string(s)
}

func (p *Pages) person(w http.ResponseWriter, r *http.Request, _ *web.Session, c officeChrome) {
	per, err := p.s.ViewPerson(r.Context(), c.Code, "staff:"+c.Staff, r.PathValue("id"))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.pages.Render(w, r, http.StatusOK, "person", personPage{officeChrome: c, P: per, Statuses: statusOptions()})
}

func (p *Pages) edit(w http.ResponseWriter, r *http.Request, ss *web.Session, c officeChrome) {
	id := r.PathValue("id")
	ch := Change{Address: strings.TrimSpace(r.PostFormValue("address")), Status: Status(r.PostFormValue("status")),
		Support: r.PostFormValue("support") == "on"}
	err := p.s.UpdatePerson(r.Context(), c.Code, "staff:"+c.Staff, id, ch)
	if errors.Is(err, ErrInvalid) {
		per, perr := p.s.ViewPerson(r.Context(), c.Code, "staff:"+c.Staff, id)
		if perr != nil {
			p.fail(w, r, perr)
			return
		}
		p.pages.Render(w, r, http.StatusBadRequest, "person", personPage{officeChrome: c, P: per, Statuses: statusOptions(),
			Problem: &msg{"住所と状態を入力してください。変更は保存されていません。", "Enter the address and a status. Nothing was saved."}})
		return
	}
	if err != nil {
		p.fail(w, r, err)
		return
	}
	ss.SetFlash(web.Flash{Kind: "ok", JA: "変更を保存しました（記録済み）。", EN: "Saved (and recorded)."})
	if err := ss.Save(r.Context()); err != nil {
		p.logger.ErrorContext(r.Context(), "municipal office: save session", "err", err)
	}
	http.Redirect(w, r, "/municipal/"+c.Code+"/office/persons/"+id, http.StatusSeeOther)
}

type auditPage struct {
	officeChrome
	Entries []AuditEntry
}

func (p *Pages) auditPage(w http.ResponseWriter, r *http.Request, _ *web.Session, c officeChrome) {
	es, err := p.s.Audit(r.Context(), c.Code, 200)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.pages.Render(w, r, http.StatusOK, "audit", auditPage{officeChrome: c, Entries: es})
}

// queueShown is how many pending registrations the queue page shows, the
// oldest first.
const queueShown = 50

type registrationsPage struct {
	officeChrome
	Items []RegistrationReview
	Total int
}

// Full says whether more are pending than the page shows.
func (pg registrationsPage) Full() bool { return pg.Total > len(pg.Items) }

// SexName is a JPKI sex code in the page's language.
func (registrationsPage) SexName(s jpki.Sex, lang string) string {
	en := map[jpki.Sex]string{jpki.Male: "male", jpki.Female: "female", jpki.Unknown: "unknown"}
	if lang == "en" {
		if n, ok := en[s]; ok {
			return n
		}
		return "—"
	}
	if s == jpki.Unknown {
		return "不明"
	}
	return sexName(s)
}

func (p *Pages) registrations(w http.ResponseWriter, r *http.Request, _ *web.Session, c officeChrome) {
	if p.regs == nil {
		p.site.Error(w, r, web.Problem{Status: http.StatusNotFound})
		return
	}
	items, total, err := p.s.ReviewRegistrations(r.Context(), p.regs, c.Code, "staff:"+c.Staff, queueShown)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.pages.Render(w, r, http.StatusOK, "registrations", registrationsPage{officeChrome: c, Items: items, Total: total})
}

func (p *Pages) decide(w http.ResponseWriter, r *http.Request, ss *web.Session, c officeChrome) {
	if p.regs == nil {
		p.site.Error(w, r, web.Problem{Status: http.StatusNotFound})
		return
	}
	var approve bool
	switch r.PostFormValue("decision") {
	case "approve":
		approve = true
	case "reject":
	default:
		p.fail(w, r, fmt.Errorf("%w: decision", ErrInvalid))
		return
	}
	if err := p.s.DecideRegistration(r.Context(), p.regs, c.Code, c.Staff, r.PathValue("id"), approve); err != nil {
		p.fail(w, r, err)
		return
	}
	f := web.Flash{Kind: "ok", JA: "利用登録を却下しました（記録済み）。", EN: "The registration was rejected (and recorded)."}
	if approve {
		f = web.Flash{Kind: "ok", JA: "利用登録を承認しました（記録済み）。", EN: "The registration was approved (and recorded)."}
	}
	ss.SetFlash(f)
	if err := ss.Save(r.Context()); err != nil {
		p.logger.ErrorContext(r.Context(), "municipal office: save session", "err", err)
	}
	http.Redirect(w, r, "/municipal/"+c.Code+"/office/registrations", http.StatusSeeOther)
}
