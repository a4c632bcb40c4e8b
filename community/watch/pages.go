package watch

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/mynaplat/mynaplat/staff"
	"github.com/mynaplat/mynaplat/web"
)

//go:embed templates
var templates embed.FS

// Pages are the health centre's staff pages (docs/community-tv.md §5.4):
//
//	GET  /watch/{centre}/office/                      everyone watched: today's state, open flags (staff card sign-in: office watch:{centre})
//	GET  /watch/{centre}/office/signin|POST login|logout   the staff sign-in (staff.Gate)
//	POST /watch/{centre}/office/flags/{id}/handle     handle a flag with a note
//	POST /watch/{centre}/office/absences              register a planned absence
//
// Every view of the board and every change is audited naming the staff
// member.
type Pages struct {
	s     *Service
	site  *web.Site
	pages *web.Pages
	gate  *staff.Gate
}

// NewPages parses the templates.
func NewPages(s *Service, site *web.Site) (*Pages, error) {
	pages, err := site.Parse(templates, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("watch: pages: %w", err)
	}
	return &Pages{s: s, site: site, pages: pages}, nil
}

// OfficeHome is the first page of the centre's office.
func OfficeHome(centre string) string { return "/watch/" + centre + "/office/" }

// StaffOffice is the centre's office as its gate knows it.
func (p *Pages) StaffOffice() staff.Office {
	return staff.Office{Kind: staff.WatchKind, PathValue: "centre", Home: OfficeHome,
		Name: func(_ context.Context, id string) (string, error) {
			if id != p.s.centre.ID {
				return "", errors.New("watch: no such health centre")
			}
			return p.s.centre.Name + " 見守り / Watch-over", nil
		}}
}

// SetStaff gives the pages their gate; without one they are not served.
func (p *Pages) SetStaff(g *staff.Gate) { p.gate = g }

// Routes registers the pages.
func (p *Pages) Routes(mux *http.ServeMux) {
	if p.gate == nil {
		return
	}
	p.gate.Mount(mux, "/watch/{centre}/office/")
	mux.HandleFunc("GET /watch/{centre}/office/{$}", p.gate.Only(p.board))
	mux.HandleFunc("POST /watch/{centre}/office/flags/{id}/handle", p.gate.Only(p.handle))
	mux.HandleFunc("POST /watch/{centre}/office/absences", p.gate.Only(p.absence))
}

// Link is the home page's entry.
func (p *Pages) Link() web.Link {
	n := p.s.centre.Name
	return web.Link{Section: "テレビ / TV", TitleJA: n + "：見守り", TitleEN: n + ": watch-over",
		DescJA: "見守りの方の今日の様子とフラグ、対応の記録（職員カード）", DescEN: "Today's state of the people watched, their flags and their handling (staff card)",
		Path: OfficeHome(p.s.centre.ID)}
}

type boardView struct {
	Staff   *staff.Session
	Centre  Centre
	Day     string
	Rows    []Row
	Handled []Flag
	// Done says what was just done; ProblemJA/EN why it was not.
	DoneJA, DoneEN       string
	ProblemJA, ProblemEN string
}

// StaffStrip is the strip the site's layout shows on every office page.
func (v boardView) StaffStrip() *web.StaffStrip {
	return v.Staff.Strip(OfficeHome(v.Centre.ID) + "logout")
}

// jstTime is a time as the centre reads it.
func (boardView) When(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(jst).Format("01-02 15:04")
}

// Clock is a deadline minute as hh:mm.
func (boardView) Clock(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }

func by(st *staff.Session) string { return st.Grant.StaffNumber + " " + st.Grant.Name }

func (p *Pages) render(w http.ResponseWriter, r *http.Request, st *staff.Session, status int, v boardView) {
	rows, handled, err := p.s.Board(r.Context(), by(st))
	if err != nil {
		p.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	v.Staff, v.Centre, v.Day, v.Rows, v.Handled = st, p.s.centre, Day(p.s.now()), rows, handled
	p.pages.Render(w, r, status, "board", v)
}

func (p *Pages) board(w http.ResponseWriter, r *http.Request, st *staff.Session) {
	p.render(w, r, st, http.StatusOK, boardView{})
}

// refusedOr shows a refusal in its words on the board, or the failure.
func (p *Pages) refusedOr(w http.ResponseWriter, r *http.Request, st *staff.Session, err error) {
	if reason := ReasonOf(err); reason != "" {
		var v boardView
		v.ProblemJA, v.ProblemEN = reason.Messages()
		p.render(w, r, st, http.StatusUnprocessableEntity, v)
		return
	}
	p.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
}

func (p *Pages) handle(w http.ResponseWriter, r *http.Request, st *staff.Session) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		p.site.NotFound().ServeHTTP(w, r)
		return
	}
	if err := p.s.Handle(r.Context(), by(st), id, r.PostFormValue("note")); err != nil {
		p.refusedOr(w, r, st, err)
		return
	}
	p.site.Done(w, r, web.Flash{Kind: "ok", JA: fmt.Sprintf("フラグ %d を対応済みにしました。", id), EN: fmt.Sprintf("Flag %d handled.", id)},
		OfficeHome(p.s.centre.ID))
}

func (p *Pages) absence(w http.ResponseWriter, r *http.Request, st *staff.Session) {
	if err := p.s.AddAbsence(r.Context(), by(st), r.PostFormValue("person"), r.PostFormValue("from"), r.PostFormValue("to")); err != nil {
		p.refusedOr(w, r, st, err)
		return
	}
	p.site.Done(w, r, web.Flash{Kind: "ok", JA: "不在の予定を登録しました。", EN: "The planned absence is registered."}, OfficeHome(p.s.centre.ID))
}
