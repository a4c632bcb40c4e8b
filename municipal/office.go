package municipal

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/staff"
	"github.com/mynaplat/mynaplat/web"
)

//go:embed templates
var templates embed.FS

// The staff back office of each municipality, under /municipal/{code}/office/:
// registry clerks sign in with their own card at a staff terminal (package
// staff: a grant for office municipal:{code}, role registry clerk); they
// list the register, open a person (every view is audited) and change the
// address, the status and the 支援措置 flag (audited with what changed,
// never the values). Every audit row names the clerk: platform ID, name,
// office, role and staff number (staff.Session.Actor).
//
//	GET  /municipal/{code}/office/              the register (or to the sign-in)
//	GET  /municipal/{code}/office/signin        the sign-in: to the staff terminal
//	POST /municipal/{code}/office/login         the staff terminal's card login
//	POST /municipal/{code}/office/logout        sign out
//	GET  /municipal/{code}/office/persons/{id}  one person, with the edit form
//	POST /municipal/{code}/office/persons/{id}  change it
//	GET  /municipal/{code}/office/audit         the newest audit rows
//	GET  /municipal/{code}/office/registrations       the usage registrations waiting for a clerk
//	POST /municipal/{code}/office/registrations/{id}  approve or reject one (decision=approve|reject)
//
// The registration pages answer 404 unless SetRegistrations gave the pages
// a queue.

// Pages serves the issuance API and the back office of every municipality
// of a Service.
type Pages struct {
	s      *Service
	site   *web.Site
	pages  *web.Pages
	logger *slog.Logger
	af     AntiForgery
	regs   RegistrationQueue
	gate   *staff.Gate
	// residents, when set, serves the resident's history API.
	residents *Residents
}

// SetRegistrations gives the back office the queue of 本籍地 usage
// registrations (jlis.Service.Queue in production). Call it before the
// pages serve.
func (p *Pages) SetRegistrations(q RegistrationQueue) { p.regs = q }

// StaffOffice is the back offices as their gate knows them: the office
// of a path is municipal:{code}, for a municipality the service knows.
// Make the gate with staff.NewOfficeGate and pass it to SetStaff.
func (p *Pages) StaffOffice() staff.Office {
	return staff.Office{Kind: "municipal", PathValue: "code",
		Home: func(code string) string { return "/municipal/" + code + "/office/" },
		Name: func(ctx context.Context, code string) (string, error) {
			m, err := p.s.Municipality(ctx, code)
			if err != nil {
				return "", err
			}
			return m.FullName(), nil
		}}
}

// OfficeID is the staff directory's ID of a municipality's back office.
func OfficeID(code string) string { return "municipal:" + code }

// SetStaff gives the back office its gate (made of StaffOffice). Without one the back office is not served at all: there
// is no other way in. Call it before Routes.
func (p *Pages) SetStaff(g *staff.Gate) { p.gate = g }

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
	if p.residents != nil {
		mux.HandleFunc("GET /municipal/v1/my-history", p.myHistory)
	}
	if p.gate == nil {
		return
	}
	mux.HandleFunc("GET /municipal/{code}/office/{$}", p.staffOnly(p.list))
	p.gate.Mount(mux, "/municipal/{code}/office/")
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

// officeChrome is what every back-office page shows: the municipality
// and, in the staff strip, who is signed in.
type officeChrome struct {
	Code, Name string
	Staff      *staff.Session
}

// StaffStrip is the strip the site's layout shows on every office page.
func (c officeChrome) StaffStrip() *web.StaffStrip {
	return c.Staff.Strip("/municipal/" + c.Code + "/office/logout")
}

// actor names the signed-in clerk in the audit rows: the full text, and
// their office and staff number apart, for the resident's history.
func (c officeChrome) actor() Actor {
	return Actor{Name: c.Staff.Actor(), Office: c.Staff.Grant.Office, StaffNumber: c.Staff.Grant.StaffNumber}
}

type msg struct{ JA, EN string }

// staffOnly runs h for a registry clerk signed in at the path's
// municipality (the gate checks the grant on every request); anyone else
// gets the sign-in page.
func (p *Pages) staffOnly(h func(http.ResponseWriter, *http.Request, *web.Session, officeChrome)) http.HandlerFunc {
	return p.gate.Only(func(w http.ResponseWriter, r *http.Request, st *staff.Session) {
		ss, err := p.site.Session(w, r)
		if err != nil {
			p.fail(w, r, err)
			return
		}
		code := r.PathValue("code")
		h(w, r, ss, officeChrome{Code: code, Name: st.OfficeName, Staff: st})
	})
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
	per, err := p.s.ViewPerson(r.Context(), c.Code, c.actor(), r.PathValue("id"))
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
	err := p.s.UpdatePerson(r.Context(), c.Code, c.actor(), id, ch)
	if errors.Is(err, ErrInvalid) {
		per, perr := p.s.ViewPerson(r.Context(), c.Code, c.actor(), id)
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
	items, total, err := p.s.ReviewRegistrations(r.Context(), p.regs, c.Code, c.actor(), queueShown)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.pages.Render(w, r, http.StatusOK, "registrations", registrationsPage{officeChrome: c, Items: items, Total: total})
}

func (p *Pages) decide(w http.ResponseWriter, r *http.Request, _ *web.Session, c officeChrome) {
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
	if err := p.s.DecideRegistration(r.Context(), p.regs, c.Code, c.actor(), r.PathValue("id"), approve); err != nil {
		p.fail(w, r, err)
		return
	}
	f := web.Flash{Kind: "ok", JA: "利用登録を却下しました（記録済み）。", EN: "The registration was rejected (and recorded)."}
	if approve {
		f = web.Flash{Kind: "ok", JA: "利用登録を承認しました（記録済み）。", EN: "The registration was approved (and recorded)."}
	}
	p.site.Done(w, r, f, "/municipal/"+c.Code+"/office/registrations")
}
