package procure

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/mynaplat/mynaplat/delegation"
	"github.com/mynaplat/mynaplat/staff"
	"github.com/mynaplat/mynaplat/web"
)

//go:embed templates
var templates embed.FS

// Pages are the register's pages:
//
//	GET  /procure/list                           the public list (HTML; list.json and list.csv are in http.go)
//	GET  /procure/office/                        the officers' list of applications under review (staff card sign-in: office procure-register)
//	GET  /procure/office/signin|POST login|logout   the staff sign-in (staff.Gate)
//	GET  /procure/office/{id}                    one application (the read is audited)
//	POST /procure/office/{id}/correction         ask the agent for a correction
//	POST /procure/office/{id}/grant              grant, with the validity period
//	POST /procure/office/{id}/refuse             refuse, with a reason
type Pages struct {
	s     *Service
	site  *web.Site
	pages *web.Pages
	gate  *staff.Gate
	log   *slog.Logger
}

// officeHome is the officers' first page.
const officeHome = "/procure/office/"

// NewPages parses the templates.
func NewPages(s *Service, site *web.Site) (*Pages, error) {
	pages, err := site.Parse(templates, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("procure: pages: %w", err)
	}
	return &Pages{s: s, site: site, pages: pages, log: s.logger}, nil
}

// StaffOffice is the register's office as its gate knows it. Make the
// gate with staff.NewOfficeGate and pass it to SetStaff.
func (p *Pages) StaffOffice() staff.Office {
	return staff.Office{ID: staff.ProcureOffice, Home: func(string) string { return officeHome },
		Name: func(context.Context, string) (string, error) { return "統一資格審査 / Qualification review", nil }}
}

// SetStaff gives the officers' pages their gate. Without one they are not
// served. Call it before Routes.
func (p *Pages) SetStaff(g *staff.Gate) { p.gate = g }

// Routes registers the pages.
func (p *Pages) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /procure/list", p.list)
	if p.gate == nil {
		return
	}
	p.gate.Mount(mux, officeHome)
	mux.HandleFunc("GET "+officeHome+"{$}", p.gate.Only(p.office))
	mux.HandleFunc("GET "+officeHome+"{id}", p.gate.Only(p.application))
	mux.HandleFunc("POST "+officeHome+"{id}/correction", p.gate.Only(p.correction))
	mux.HandleFunc("POST "+officeHome+"{id}/grant", p.gate.Only(p.grant))
	mux.HandleFunc("POST "+officeHome+"{id}/refuse", p.gate.Only(p.refuse))
}

// Links are the home page entries.
func (p *Pages) Links() []web.Link {
	const section = "政府調達 / Government procurement"
	links := []web.Link{{Section: section, TitleJA: "競争参加資格者名簿", TitleEN: "Qualified suppliers",
		DescJA: "統一資格を持つ事業者の一覧（HTML・CSV・JSON）", DescEN: "Businesses holding the unified qualification (HTML, CSV, JSON)", Path: "/procure/list"}}
	if p.gate != nil {
		links = append(links, web.Link{Section: section, TitleJA: "統一資格審査", TitleEN: "Qualification review",
			DescJA: "審査担当者が申請を審査し、補正・許可・不許可を決めます（職員カード）", DescEN: "Officers review applications: correction, grant or refusal (staff card)",
			Path: officeHome})
	}
	return links
}

type listView struct {
	List []*Qualification
}

// FieldName is a field's name for the pages.
func (g Graded) FieldName() [2]string { ja, en := g.Field.Names(); return [2]string{ja, en} }

func (p *Pages) list(w http.ResponseWriter, r *http.Request) {
	limit, offset := page(r)
	list, err := p.s.List(r.Context(), limit, offset)
	if err != nil {
		p.log.ErrorContext(r.Context(), "procure: list", "err", err)
		p.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	p.pages.Render(w, r, http.StatusOK, "list", listView{List: list})
}

type officeView struct {
	Staff      *staff.Session
	Submitted  []ApplicationSummary
	Correction []ApplicationSummary
}

// StaffStrip is the strip the site's layout shows on every office page.
func (v officeView) StaffStrip() *web.StaffStrip { return v.Staff.Strip(officeHome + "logout") }

func (p *Pages) office(w http.ResponseWriter, r *http.Request, st *staff.Session) {
	sub, err1 := p.s.Applications(r.Context(), StateSubmitted)
	cor, err2 := p.s.Applications(r.Context(), StateCorrection)
	if err := errors.Join(err1, err2); err != nil {
		p.log.ErrorContext(r.Context(), "procure: office", "err", err)
		p.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	p.pages.Render(w, r, http.StatusOK, "office", officeView{Staff: st, Submitted: sub, Correction: cor})
}

type applicationView struct {
	Staff *staff.Session
	App   *ApplicationDetail
	// The grant form's defaults: today, and two years on (the unified
	// qualification's period).
	From, Until string
	Codes       []refusalOption
	// Outlasting are the powers that end after the default period.
	Outlasting []delegation.Power
}

type refusalOption struct {
	Code   RefusalCode
	JA, EN string
}

func (v applicationView) StaffStrip() *web.StaffStrip { return v.Staff.Strip(officeHome + "logout") }

// KindName is the application's kind for the pages.
func (k Kind) Names() [2]string {
	if k == KindRenewal {
		return [2]string{"更新", "renewal"}
	}
	return [2]string{"新規", "new"}
}

// StateNames is the state for the pages.
func (s State) Names() [2]string {
	switch s {
	case StateSubmitted:
		return [2]string{"審査待ち", "waiting for review"}
	case StateCorrection:
		return [2]string{"補正待ち", "waiting for a correction"}
	case StateGranted:
		return [2]string{"許可", "granted"}
	case StateRefused:
		return [2]string{"不許可", "refused"}
	}
	return [2]string{string(s), string(s)}
}

// FieldName is a rating's field name for the pages.
func (r Rating) FieldName() [2]string { ja, en := r.Field.Names(); return [2]string{ja, en} }

func (p *Pages) application(w http.ResponseWriter, r *http.Request, st *staff.Session) {
	d, err := p.s.Application(r.Context(), st.Actor(), r.PathValue("id"))
	if errors.Is(err, ErrNotFound) {
		p.site.Error(w, r, web.Problem{Status: http.StatusNotFound})
		return
	} else if err != nil {
		p.log.ErrorContext(r.Context(), "procure: application", "err", err)
		p.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	today := p.s.now().In(jst)
	v := applicationView{Staff: st, App: d, From: today.Format(time.DateOnly), Until: today.AddDate(2, 0, -1).Format(time.DateOnly)}
	for _, c := range RefusalCodes {
		ja, en := c.Messages()
		v.Codes = append(v.Codes, refusalOption{Code: c, JA: ja, EN: en})
	}
	if d.State == StateSubmitted {
		if v.Outlasting, err = p.s.PowersOutlasting(r.Context(), d.CorporateNumber, day(v.Until, true)); err != nil {
			// A warning only: the page serves without it.
			p.log.WarnContext(r.Context(), "procure: powers outlasting the grant", "err", err)
		}
	}
	p.pages.Render(w, r, http.StatusOK, "application", v)
}

// done answers a decision: back to the application with the outcome, a
// refusal's texts as they are.
func (p *Pages) done(w http.ResponseWriter, r *http.Request, err error, okJA, okEN string) {
	to := officeHome + r.PathValue("id")
	var ref *Refusal
	switch {
	case err == nil:
		p.site.Done(w, r, web.Flash{Kind: "ok", JA: okJA, EN: okEN}, officeHome)
	case errors.As(err, &ref):
		p.site.Done(w, r, web.Flash{Kind: "error", JA: ref.MessageJA, EN: ref.MessageEN}, to)
	case errors.Is(err, ErrNotFound):
		p.site.Error(w, r, web.Problem{Status: http.StatusNotFound})
	default:
		p.log.ErrorContext(r.Context(), "procure: decision", "err", err)
		p.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
	}
}

func (p *Pages) correction(w http.ResponseWriter, r *http.Request, st *staff.Session) {
	err := p.s.AskCorrection(r.Context(), st.Actor(), r.PathValue("id"), r.PostFormValue("note_ja"), r.PostFormValue("note_en"))
	p.done(w, r, err, "補正を求めました。代理人の画面に表示されます。", "A correction was asked for; the agent sees it on their page.")
}

// day parses a date of the form in Japan's time zone; end gives its last
// second.
func day(s string, end bool) time.Time {
	t, err := time.ParseInLocation(time.DateOnly, s, jst)
	if err != nil {
		return time.Time{}
	}
	if end {
		t = t.AddDate(0, 0, 1).Add(-time.Second)
	}
	return t
}

func (p *Pages) grant(w http.ResponseWriter, r *http.Request, st *staff.Session) {
	_, err := p.s.Grant(r.Context(), st.Actor(), r.PathValue("id"), day(r.PostFormValue("from"), false), day(r.PostFormValue("until"), true))
	p.done(w, r, err, "資格を許可しました。名簿と各調達機関に公開されます。", "The qualification was granted; the list and every procuring body show it.")
}

func (p *Pages) refuse(w http.ResponseWriter, r *http.Request, st *staff.Session) {
	err := p.s.Refuse(r.Context(), st.Actor(), r.PathValue("id"), RefusalCode(r.PostFormValue("code")), r.PostFormValue("note"))
	p.done(w, r, err, "不許可としました。理由は代理人の画面に表示されます。", "The application was refused; the agent sees the reason on their page.")
}
