package gate

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/mynaplat/mynaplat/staff"
	"github.com/mynaplat/mynaplat/web"
)

//go:embed templates
var templates embed.FS

// Pages are the bodies' staff pages (docs/community-tv.md §5.5):
//
//	GET  /gate/{body}/office/                         the day's check-ins of the body's children (staff card sign-in: office gate:{body})
//	GET  /gate/{body}/office/signin|POST login|logout  the staff sign-in (staff.Gate)
//
// A staff member signs in to their own body's office: the school's staff
// never reach the library's page (the gate checks the grant's office
// against the path). Every view is audited naming the staff member.
type Pages struct {
	bodies map[string]*Service
	order  []string
	site   *web.Site
	pages  *web.Pages
	gate   *staff.Gate
}

// NewPages parses the templates for the bodies' services.
func NewPages(site *web.Site, bodies ...*Service) (*Pages, error) {
	pages, err := site.Parse(templates, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("gate: pages: %w", err)
	}
	p := &Pages{bodies: map[string]*Service{}, site: site, pages: pages}
	for _, s := range bodies {
		p.bodies[s.body.ID] = s
		p.order = append(p.order, s.body.ID)
	}
	return p, nil
}

// OfficeHome is the first page of a body's office.
func OfficeHome(body string) string { return "/gate/" + body + "/office/" }

// StaffOffice is the bodies' offices as their gate knows them.
func (p *Pages) StaffOffice() staff.Office {
	return staff.Office{Kind: staff.GateKind, PathValue: "body", Home: OfficeHome,
		Name: func(_ context.Context, id string) (string, error) {
			s, ok := p.bodies[id]
			if !ok {
				return "", errors.New("gate: no such body")
			}
			return s.body.Name + " 入退室 / Check-ins", nil
		}}
}

// SetStaff gives the pages their gate; without one they are not served.
func (p *Pages) SetStaff(g *staff.Gate) { p.gate = g }

// Routes registers the pages.
func (p *Pages) Routes(mux *http.ServeMux) {
	if p.gate == nil {
		return
	}
	p.gate.Mount(mux, "/gate/{body}/office/")
	mux.HandleFunc("GET /gate/{body}/office/{$}", p.gate.Only(p.day))
}

// Links are the home page's entries, one per body.
func (p *Pages) Links() []web.Link {
	var out []web.Link
	for _, id := range p.order {
		n := p.bodies[id].body.Name
		out = append(out, web.Link{Section: "テレビ / TV", TitleJA: n + "：入退室", TitleEN: n + ": check-ins",
			DescJA: "今日の子どもの入退室（職員カード）", DescEN: "Today's check-ins of the children (staff card)", Path: OfficeHome(id)})
	}
	return out
}

type dayView struct {
	Staff  *staff.Session
	Body   Body
	Day    string
	Events []Event
}

// StaffStrip is the strip the site's layout shows on every office page.
func (v dayView) StaffStrip() *web.StaffStrip { return v.Staff.Strip(OfficeHome(v.Body.ID) + "logout") }

// Clock is an event's time as the body reads it.
func (dayView) Clock(t time.Time) string { return t.In(jst).Format("15:04") }

// Kind is an event kind's words.
func (dayView) Kind(k string) [2]string { ja, en := KindWords(k); return [2]string{ja, en} }

func (p *Pages) day(w http.ResponseWriter, r *http.Request, st *staff.Session) {
	s, ok := p.bodies[r.PathValue("body")]
	if !ok {
		p.site.NotFound().ServeHTTP(w, r)
		return
	}
	evs, err := s.Today(r.Context(), st.Grant.StaffNumber+" "+st.Grant.Name)
	if err != nil {
		p.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	p.pages.Render(w, r, http.StatusOK, "day", dayView{Staff: st, Body: s.body, Day: Day(s.now()), Events: evs})
}
