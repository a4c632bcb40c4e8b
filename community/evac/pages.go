package evac

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/staff"
	"github.com/mynaplat/mynaplat/web"
)

//go:embed templates
var templates embed.FS

//go:embed static
var static embed.FS

// Town is the one town the service is the disaster office of: its office
// is staff office evac:minami.
const Town = "minami"

// Pages are the disaster office's staff pages (docs/community-tv.md §5.6),
// behind the staff card sign-in (staff.Gate, office evac:minami, role
// staff.EvacOfficer):
//
//	GET  /evac/{town}/office/                      the orders, and the form to issue one
//	POST /evac/{town}/office/issue                 issue an order for areas
//	GET  /evac/{town}/office/?name=                look a member up by name (a person without their card)
//	POST /evac/{town}/office/checkin               check them in at a shelter by name (marked)
//	POST /evac/{town}/office/shelters/{id}/open    open a shelter (…/close closes it)
//	POST /evac/{town}/office/orders/{id}/lift      lift it
//	GET  /evac/{town}/office/orders/{id}           the board (per area and household) and the drill report
//	GET  /evac/{town}/office/orders/{id}/events    the board's stream: any change of the order's areas (SSE)
//	GET  /evac/{town}/office/board.js              reloads the board on each event
type Pages struct {
	s     *Service
	hub   *Hub
	site  *web.Site
	pages *web.Pages
	gate  *staff.Gate
}

// NewPages parses the templates.
func NewPages(s *Service, hub *Hub, site *web.Site) (*Pages, error) {
	pages, err := site.Parse(templates, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("evac: pages: %w", err)
	}
	return &Pages{s: s, hub: hub, site: site, pages: pages}, nil
}

func officeHome(town string) string { return "/evac/" + town + "/office/" }

// StaffOffice is the disaster office as its gate knows it.
func (p *Pages) StaffOffice() staff.Office {
	return staff.Office{Kind: staff.EvacKind, PathValue: "town", Home: officeHome,
		Name: func(ctx context.Context, id string) (string, error) {
			if id != Town {
				return "", errors.New("evac: no such office")
			}
			return "美波町 危機管理室 / Minami disaster office", nil
		}}
}

// SetStaff gives the pages their gate; without one they are not served.
func (p *Pages) SetStaff(g *staff.Gate) { p.gate = g }

// Routes registers the pages.
func (p *Pages) Routes(mux *http.ServeMux) {
	if p.gate == nil {
		return
	}
	p.gate.Mount(mux, "/evac/{town}/office/")
	mux.HandleFunc("GET /evac/{town}/office/{$}", p.gate.Only(p.office))
	mux.HandleFunc("POST /evac/{town}/office/issue", p.gate.Only(p.issue))
	mux.HandleFunc("POST /evac/{town}/office/checkin", p.gate.Only(p.checkin))
	mux.HandleFunc("POST /evac/{town}/office/shelters/{id}/{action}", p.gate.Only(p.shelter))
	mux.HandleFunc("POST /evac/{town}/office/orders/{id}/lift", p.gate.Only(p.lift))
	mux.HandleFunc("GET /evac/{town}/office/orders/{id}", p.gate.Only(p.board))
	mux.HandleFunc("GET /evac/{town}/office/orders/{id}/events", p.gate.Only(p.events))
	mux.HandleFunc("GET /evac/{town}/office/board.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		http.ServeFileFS(w, r, static, "static/board.js")
	})
}

// Links are the home page's entries.
func (p *Pages) Links() []web.Link {
	if p.gate == nil {
		return nil
	}
	return []web.Link{{Section: "テレビ / TV", TitleJA: "美波町 危機管理室：避難指示と避難状況", TitleEN: "Minami disaster office: evacuation orders and the board",
		DescJA: "職員カードで避難指示を出し・解除し、地区と世帯ごとの避難状況と訓練の報告を見ます", DescEN: "Staff (with their cards) issue and lift orders, and see the board per area and household and the drill report",
		Path: officeHome(Town)}}
}

type officeView struct {
	Staff                *staff.Session
	Areas                []Area
	Orders               []Order
	Order                Order
	Board                Board
	Report               Report
	Events               string
	ProblemJA, ProblemEN string
	// Query is the name looked up, Found who it found, Shelters the open
	// shelters to check them in at, CheckedIn the check-in just made.
	Query     string
	Found     []Found
	Shelters  []Shelter
	CheckedIn *CheckIn
	// All are every shelter, open or not.
	All []Shelter
}

// StaffStrip is the strip the site's layout shows on every office page.
func (v officeView) StaffStrip() *web.StaffStrip {
	return v.Staff.Strip(officeHome(Town) + "logout")
}

// jst is Japan's time, the office's.
var jst = time.FixedZone("JST", 9*60*60)

// When is a time as the office reads it.
func (officeView) When(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(jst).Format("2006-01-02 15:04:05")
}

// Minutes is a duration in minutes and seconds.
func (officeView) Minutes(d time.Duration) string {
	d = d.Round(time.Second)
	return fmt.Sprintf("%d:%02d", int(d.Minutes()), int(d.Seconds())%60)
}

// AreaName is an area's name by ID.
func (v officeView) AreaName(id string) Area {
	for _, a := range v.Areas {
		if a.ID == id {
			return a
		}
	}
	return Area{ID: id, NameJA: id, NameEN: id}
}

func actorOf(st *staff.Session) Actor {
	return Actor{ID: st.Grant.StaffNumber, Terminal: st.Terminal}
}

func (p *Pages) view(ctx context.Context, st *staff.Session) (officeView, error) {
	v := officeView{Staff: st}
	var err error
	if v.Areas, err = p.s.Areas(ctx); err != nil {
		return v, err
	}
	if v.Orders, err = p.s.Orders(ctx); err != nil {
		return v, err
	}
	all, err := p.s.Shelters(ctx)
	v.All = all
	for _, sh := range all {
		if sh.Open {
			v.Shelters = append(v.Shelters, sh)
		}
	}
	return v, err
}

func (p *Pages) office(w http.ResponseWriter, r *http.Request, st *staff.Session) {
	v, err := p.view(r.Context(), st)
	if err == nil {
		if v.Query = strings.TrimSpace(r.URL.Query().Get("name")); v.Query != "" {
			v.Found, err = p.s.Lookup(r.Context(), actorOf(st), v.Query)
		}
	}
	if err != nil {
		p.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	p.pages.Render(w, r, http.StatusOK, "office", v)
}

// checkin checks in a person found by name, for one without their card:
// marked as not by card.
func (p *Pages) checkin(w http.ResponseWriter, r *http.Request, st *staff.Session) {
	c, err := p.s.CheckInByName(r.Context(), actorOf(st), r.PostFormValue("shelter"), r.PostFormValue("person"))
	v, verr := p.view(r.Context(), st)
	if verr != nil || (err != nil && ReasonOf(err) == "") {
		p.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	status := http.StatusOK
	if reason := ReasonOf(err); reason != "" {
		status = http.StatusUnprocessableEntity
		v.ProblemJA, v.ProblemEN = reason.Messages()
	} else {
		v.CheckedIn = &c
	}
	p.pages.Render(w, r, status, "office", v)
}

func (p *Pages) issue(w http.ResponseWriter, r *http.Request, st *staff.Session) {
	if err := r.ParseForm(); err != nil {
		p.site.Error(w, r, web.Problem{Status: http.StatusBadRequest})
		return
	}
	level, _ := strconv.Atoi(r.PostFormValue("level"))
	in := OrderInput{Areas: r.PostForm["area"], Level: level, Drill: r.PostFormValue("drill") == "1"}
	o, err := p.s.Issue(r.Context(), actorOf(st), in)
	v, verr := p.view(r.Context(), st)
	if verr != nil || (err != nil && ReasonOf(err) == "") {
		p.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	if reason := ReasonOf(err); reason != "" {
		v.ProblemJA, v.ProblemEN = reason.Messages()
		p.pages.Render(w, r, http.StatusUnprocessableEntity, "office", v)
		return
	}
	http.Redirect(w, r, officeHome(Town)+"orders/"+strconv.FormatInt(o.ID, 10), http.StatusSeeOther)
}

func (p *Pages) lift(w http.ResponseWriter, r *http.Request, st *staff.Session) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		p.site.NotFound().ServeHTTP(w, r)
		return
	}
	if _, err := p.s.Lift(r.Context(), actorOf(st), id); err != nil {
		if ReasonOf(err) == ReasonNoOrder {
			p.site.NotFound().ServeHTTP(w, r)
			return
		}
		p.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	http.Redirect(w, r, officeHome(Town)+"orders/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
}

// shelter opens or closes a shelter.
func (p *Pages) shelter(w http.ResponseWriter, r *http.Request, st *staff.Session) {
	var open bool
	switch r.PathValue("action") {
	case "open":
		open = true
	case "close":
	default:
		p.site.NotFound().ServeHTTP(w, r)
		return
	}
	if err := p.s.SetShelterOpen(r.Context(), actorOf(st), r.PathValue("id"), open); err != nil {
		p.site.NotFound().ServeHTTP(w, r)
		return
	}
	http.Redirect(w, r, officeHome(Town), http.StatusSeeOther)
}

// board is the tablet's page: the order, the board and the report, which
// board.js reloads on each event of the order's areas.
func (p *Pages) board(w http.ResponseWriter, r *http.Request, st *staff.Session) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		p.site.NotFound().ServeHTTP(w, r)
		return
	}
	v, err := p.view(r.Context(), st)
	if err != nil {
		p.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	a := actorOf(st)
	if v.Board, err = p.s.Board(r.Context(), a, id); err == nil {
		v.Report, err = p.s.Report(r.Context(), a, id)
	}
	if ReasonOf(err) == ReasonNoOrder {
		p.site.NotFound().ServeHTTP(w, r)
		return
	}
	if err != nil {
		p.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	v.Order = v.Board.Order
	seq, err := p.s.LastEvent(r.Context())
	if err != nil {
		p.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	v.Events = officeHome(Town) + "orders/" + strconv.FormatInt(id, 10) + "/events?after=" + strconv.FormatInt(seq, 10)
	p.pages.Render(w, r, http.StatusOK, "board", v)
}

// events is the board's stream: every event of the order's areas after
// ?after= (the board's own reading), or Last-Event-ID.
func (p *Pages) events(w http.ResponseWriter, r *http.Request, st *staff.Session) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		p.site.NotFound().ServeHTTP(w, r)
		return
	}
	o, err := p.s.Order(r.Context(), id)
	if err != nil {
		p.site.NotFound().ServeHTTP(w, r)
		return
	}
	after := r.Header.Get("Last-Event-ID")
	if after == "" {
		after = r.URL.Query().Get("after")
	}
	sent, err := strconv.ParseInt(after, 10, 64)
	if err != nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	want := func(e Event) bool { return slices.Contains(o.Areas, e.Area) }
	p.s.serveEvents(w, r, p.hub, want, sent, true)
}

// serveEvents streams the events want takes after sent (replayed from
// the database when replay), then live from hub, until the client or the
// hub goes.
func (s *Service) serveEvents(w http.ResponseWriter, r *http.Request, hub *Hub, want func(Event) bool, sent int64, replay bool) {
	ctx := r.Context()
	// Subscribe first, then read the database: an event committed in
	// between comes through both, and the second is skipped by its seq.
	ch, cancel := hub.subscribe(want)
	defer cancel()
	rc := http.NewResponseController(w)
	// A stream lives longer than the server's write timeout.
	_ = rc.SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	// The retry hint: EventSource reconnects after 2 s, not 3–5.
	fmt.Fprint(w, "retry: 2000\n\n")
	send := func(e Event) error {
		if e.Seq <= sent {
			return nil
		}
		sent = e.Seq
		b, _ := json.Marshal(e)
		_, err := fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", e.Seq, e.Kind, b)
		return err
	}
	for replay {
		evs, err := s.Events(ctx, sent, 1000)
		if err != nil {
			return
		}
		last := sent
		for _, e := range evs {
			last = e.Seq
			if want(e) {
				if err := send(e); err != nil {
					return
				}
			}
		}
		sent, replay = last, len(evs) > 0
	}
	if err := rc.Flush(); err != nil {
		return
	}
	t := time.NewTicker(keepAlive)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-ch:
			if !ok {
				return
			}
			if err := send(e); err != nil {
				return
			}
		case <-t.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return
			}
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

// levels are the alert levels an order may give, with their names.
var levels = []struct {
	Level  int
	JA, EN string
}{{3, "高齢者等避難", "Evacuation of the elderly"}, {4, "避難指示", "Evacuation order"}, {5, "緊急安全確保", "Emergency safety measures"}}

// Levels are the choices of the form.
func (officeView) Levels() any { return levels }

// Join joins strings.
func (officeView) Join(s []string) string { return strings.Join(s, ", ") }
