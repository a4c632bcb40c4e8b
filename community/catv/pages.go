package catv

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/mynaplat/mynaplat/staff"
	"github.com/mynaplat/mynaplat/web"
)

//go:embed templates
var templates embed.FS

// Pages are the operators' sender pages (docs/community-tv.md §5.2):
//
//	GET  /catv/{op}/office/                        the sender form (staff card sign-in: office catv:{op})
//	GET  /catv/{op}/office/signin|POST login|logout   the staff sign-in (staff.Gate)
//	POST /catv/{op}/office/send                    send a message
//
// Who may send what follows the grant: the operator's senders
// (staff.CATVSender) send as the operator to everyone or an area; the
// town's (staff.CATVTownSender, a seat the operator gives the town) send as
// the town to everyone, an area or one person.
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
		return nil, fmt.Errorf("catv: pages: %w", err)
	}
	return &Pages{s: s, site: site, pages: pages}, nil
}

func officeHome(op string) string { return "/catv/" + op + "/office/" }

// StaffOffice is the operators' sender office as its gate knows it.
func (p *Pages) StaffOffice() staff.Office {
	return staff.Office{Kind: staff.CATVKind, PathValue: "op", Home: officeHome,
		Name: func(ctx context.Context, id string) (string, error) {
			pr, err := p.s.Operator(id).Profile(ctx)
			if err != nil {
				return "", err
			}
			return pr.Name + " お知らせ送信 / Messages", nil
		}}
}

// SetStaff gives the pages their gate; without one they are not served.
func (p *Pages) SetStaff(g *staff.Gate) { p.gate = g }

// Routes registers the pages.
func (p *Pages) Routes(mux *http.ServeMux) {
	if p.gate == nil {
		return
	}
	p.gate.Mount(mux, "/catv/{op}/office/")
	mux.HandleFunc("GET /catv/{op}/office/{$}", p.gate.Only(p.form))
	mux.HandleFunc("POST /catv/{op}/office/send", p.gate.Only(p.send))
}

// Links are the home page's entries: one per operator.
func (p *Pages) Links(ctx context.Context) ([]web.Link, error) {
	if p.gate == nil {
		return nil, nil
	}
	rows, err := p.s.db.QueryContext(ctx, `SELECT operator, name, town FROM catv_operators ORDER BY operator`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []web.Link
	for rows.Next() {
		var id, name, town string
		if err := rows.Scan(&id, &name, &town); err != nil {
			return nil, err
		}
		out = append(out, web.Link{Section: "テレビ / TV", TitleJA: name + "：お知らせ送信", TitleEN: name + ": send messages",
			DescJA: name + "と" + town + "の職員がテレビへのお知らせを送ります（職員カード）",
			DescEN: "The staff of " + name + " and of " + town + " send messages to the TVs (staff card)", Path: officeHome(id)})
	}
	return out, rows.Err()
}

// senderOf is who a grant sends as: the operator or its town.
func senderOf(role staff.Role, pr Profile) (name, kind string, ok bool) {
	switch role {
	case staff.CATVSender:
		return pr.Name, FromOperator, true
	case staff.CATVTownSender:
		return pr.Town, FromTown, true
	}
	return "", "", false
}

type formView struct {
	Staff                *staff.Session
	Profile              Profile
	SenderName           string
	Town                 bool
	Areas                []string
	Subscribers          []Subscriber
	Sent                 int64
	ProblemJA, ProblemEN string
	In                   Message
}

// StaffStrip is the strip the site's layout shows on every office page.
func (v formView) StaffStrip() *web.StaffStrip {
	return v.Staff.Strip(officeHome(strings.TrimPrefix(v.Staff.Grant.Office, staff.CATVKind+":")) + "logout")
}

func (p *Pages) view(ctx context.Context, op string, st *staff.Session) (formView, *Operator, error) {
	o := p.s.Operator(op)
	pr, err := o.Profile(ctx)
	if err != nil {
		return formView{}, nil, err
	}
	subs, err := o.Subscribers(ctx)
	if err != nil {
		return formView{}, nil, err
	}
	v := formView{Staff: st, Profile: pr, Subscribers: subs}
	for _, s := range subs {
		if !slices.Contains(v.Areas, s.Area) {
			v.Areas = append(v.Areas, s.Area)
		}
	}
	name, kind, _ := senderOf(st.Grant.Role, pr)
	v.SenderName, v.Town = name, kind == FromTown
	return v, o, nil
}

func (p *Pages) form(w http.ResponseWriter, r *http.Request, st *staff.Session) {
	v, _, err := p.view(r.Context(), r.PathValue("op"), st)
	if err != nil {
		p.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	p.pages.Render(w, r, http.StatusOK, "send", v)
}

func (p *Pages) send(w http.ResponseWriter, r *http.Request, st *staff.Session) {
	op := r.PathValue("op")
	v, o, err := p.view(r.Context(), op, st)
	if err != nil {
		p.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	name, kind, ok := senderOf(st.Grant.Role, v.Profile)
	if !ok {
		p.site.Error(w, r, web.Problem{Status: http.StatusForbidden})
		return
	}
	m := Message{Sender: name, SenderKind: kind, Scope: Scope(r.PostFormValue("scope")),
		TitleJA: r.PostFormValue("title_ja"), TitleEN: r.PostFormValue("title_en"),
		BodyJA: r.PostFormValue("body_ja"), BodyEN: r.PostFormValue("body_en")}
	switch m.Scope {
	case ToArea:
		m.Area = r.PostFormValue("area")
	case ToPerson:
		m.PlatformID = r.PostFormValue("person")
	}
	id, err := o.Send(r.Context(), m)
	if reason := ReasonOf(err); reason != "" {
		v.ProblemJA, v.ProblemEN = reason.Messages()
		v.In = m
		p.pages.Render(w, r, http.StatusUnprocessableEntity, "send", v)
		return
	}
	if err != nil && !errors.Is(err, ErrRefused) {
		p.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	v.Sent = id
	p.pages.Render(w, r, http.StatusOK, "send", v)
}

// Num is the i-th's number, from 1.
func (formView) Num(i int) int { return i + 1 }
