// Package staffdesk is the staff terminal of the offices (issue 16): the
// reader on a clerk's desk where they place their own My Number Card and
// enter its PIN with the terminal kit's screens. The platform checks the
// card as for anyone, for the staff purpose (platform.PurposeStaff, asked
// for only at a staff terminal), and the desk hands its assertion to the
// office that sent the clerk here: a form posted to that office's login
// endpoint (staff.LoginPath, a table, joined to the base URL configured
// for that kind of office; never a URL from the request) with
// the state of the office's sign-in, which the office's gate checks along
// with the grant. The desk keeps nothing after the hand-over: the card
// login leaves the browser's session with the card.
//
//	GET  /staffdesk/?office=…&state=…        the staff terminals (one: straight there)
//	GET  /staffdesk/{id}/?office=…&state=…   the card step for that sign-in
//	POST /staffdesk/{id}/place|login|remove  the kit's steps; login ends in the hand-over
//	GET|POST /staffdesk/{id}/sign…           the offices' signing handoff (signing.go)
package staffdesk

import (
	"embed"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/staff"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/web"
)

//go:embed templates
var templates embed.FS

// Config is the staff terminals' configuration.
type Config struct {
	Site  *web.Site
	Cards *card.Store
	// Terminals are the staff terminals (kind platform.StaffDesk),
	// registered at the platform.
	Terminals []terminal.Config
	// Offices are the base URLs of the hosts that serve each kind of
	// office ("municipal", "agency", …), from the deployment's
	// configuration; a kind not listed, or "", is served on this host. The
	// hand-over posts to the base joined to staff.LoginPath. The desk and
	// the offices must be same-site (see the staff package).
	Offices map[string]string
	// PlatformURL and HTTP reach the platform's API.
	PlatformURL string
	HTTP        *http.Client
	Logger      *slog.Logger
	// Self is this host's base URL: the desk calls the desk API of an
	// office served here (a kind not in Offices) there, over HTTP as it
	// would another host's (signing.go).
	Self string
}

// Pages are the staff terminals' screens.
type Pages struct {
	site     *web.Site
	screens  *web.Pages
	stations *terminal.Stations[*terminal.Terminal]
	offices  map[string]string
	self     string
	hc       *http.Client
	logger   *slog.Logger
}

// New sets up the staff terminals (with the demo's virtual reader).
func New(cfg Config) (*Pages, error) {
	screens, err := terminal.Parse(cfg.Site, templates, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("staffdesk: pages: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	offices := map[string]string{}
	for kind, base := range cfg.Offices {
		if base == "" {
			continue
		}
		u, err := url.Parse(base)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("staffdesk: the base URL %q of the %s offices", base, kind)
		}
		offices[kind] = strings.TrimRight(base, "/")
	}
	p := &Pages{site: cfg.Site, screens: screens, stations: terminal.NewStations[*terminal.Terminal](cfg.Site, cfg.Logger), offices: offices,
		self: strings.TrimRight(cfg.Self, "/"), hc: cfg.HTTP, logger: cfg.Logger}
	for _, c := range cfg.Terminals {
		if c.Kind != platform.StaffDesk {
			return nil, fmt.Errorf("staffdesk: terminal %s is a %s terminal, not a staff terminal", c.ID, c.Kind)
		}
		t, err := terminal.New(c, cfg.PlatformURL, cfg.HTTP)
		if err != nil {
			return nil, err
		}
		base := "/staffdesk/" + c.ID + "/"
		if err := p.stations.Add(c.ID, t, terminal.KitConfig{Terminal: t, Reader: terminal.VirtualReader{Cards: cfg.Cards}, Cards: cfg.Cards,
			Purpose: platform.PurposeStaff, Screen: terminal.ScreenDesk,
			Actions: terminal.Actions{Place: base + "place", PIN: base + "login", Remove: base + "remove"}}); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Routes registers the screens.
func (p *Pages) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /staffdesk/{$}", p.list)
	mux.HandleFunc("GET /staffdesk/{id}/{$}", p.screen)
	mux.HandleFunc("POST /staffdesk/{id}/place", p.place)
	mux.HandleFunc("POST /staffdesk/{id}/login", p.login)
	mux.HandleFunc("POST /staffdesk/{id}/remove", p.remove)
	mux.HandleFunc("GET /staffdesk/{id}/sign", p.signPage)
	mux.HandleFunc("POST /staffdesk/{id}/sign", p.sign)
	mux.HandleFunc("POST /staffdesk/{id}/sign/place", p.signPlace)
	mux.HandleFunc("POST /staffdesk/{id}/sign/remove", p.signRemove)
}

// Links are the terminals, for /t/'s list of terminals elsewhere.
func (p *Pages) Links() []web.Link {
	var out []web.Link
	for _, t := range p.stations.All() {
		out = append(out, web.Link{Section: "職員 / Staff", TitleJA: t.Name, TitleEN: t.Name,
			DescJA: "職員用端末・" + t.Owner + "：職員が自分のカードで事務所にログイン", DescEN: "Staff terminal · " + t.Owner + ": staff sign in to their office with their own card",
			Path: "/staffdesk/" + t.ID + "/"})
	}
	return out
}

// The session keys of a desk's sign-in: the office that sent the clerk
// and the state of its sign-in.
func officeKey(id string) string { return "staffdesk:" + id + ":office" }
func stateKey(id string) string  { return "staffdesk:" + id + ":state" }

type listData struct {
	Desks []web.Link
	Query string
}

func (p *Pages) list(w http.ResponseWriter, r *http.Request) {
	all := p.stations.All()
	q := url.Values{"office": {r.URL.Query().Get("office")}, "state": {r.URL.Query().Get("state")}}.Encode()
	if len(all) == 1 {
		http.Redirect(w, r, "/staffdesk/"+all[0].ID+"/?"+q, http.StatusSeeOther)
		return
	}
	p.screens.Render(w, r, http.StatusOK, "list", listData{Desks: p.Links(), Query: q})
}

type screenData struct {
	ID, Name, Owner string
	// Office is the office the sign-in is for ("" when no office sent
	// the clerk: the screen says to start at the office's page).
	Office string
	Card   *terminal.CardStep
}

// TerminalScreen is the desk's screen.
func (d screenData) TerminalScreen() terminal.Screen { return terminal.ScreenDesk }

func (p *Pages) screen(w http.ResponseWriter, r *http.Request) {
	t, ss, ok := p.stations.Lookup(w, r)
	if !ok {
		return
	}
	if office := r.URL.Query().Get("office"); office != "" {
		// An office's sign-in: a new one replaces any before it.
		if _, err := staff.LoginPath(office); err != nil {
			p.site.Error(w, r, web.Problem{Status: http.StatusBadRequest, TitleJA: "この事務所にはログインできません", TitleEN: "No sign-in for this office",
				WhatJA: "事務所の指定が正しくないか、職員カードでのログインにまだ対応していない事務所です。", WhatEN: "The office is not right, or it does not take card sign-ins yet.",
				DoJA: "事務所の画面からやり直してください。", DoEN: "Start again from the office's page."})
			return
		}
		ss.Set(officeKey(t.ID), office)
		ss.Set(stateKey(t.ID), r.URL.Query().Get("state"))
		p.stations.Save(r, ss)
	}
	d := screenData{ID: t.ID, Name: t.Name, Owner: t.Owner, Office: ss.Get(officeKey(t.ID)), Card: p.stations.Kit(t.ID).Card(r, ss)}
	p.screens.Render(w, r, http.StatusOK, "screen", d)
}

func (p *Pages) back(w http.ResponseWriter, r *http.Request, id string) {
	http.Redirect(w, r, "/staffdesk/"+id+"/", http.StatusSeeOther)
}

func (p *Pages) place(w http.ResponseWriter, r *http.Request) {
	t, ss, ok := p.stations.Lookup(w, r)
	if !ok {
		return
	}
	if res := p.stations.Kit(t.ID).Place(r, ss); !res.Passed() {
		ss.SetFlash(res.Flash())
	}
	p.stations.Save(r, ss)
	p.back(w, r, t.ID)
}

func (p *Pages) remove(w http.ResponseWriter, r *http.Request) {
	t, ss, ok := p.stations.Lookup(w, r)
	if !ok {
		return
	}
	p.stations.Kit(t.ID).Remove(ss)
	p.stations.Save(r, ss)
	p.back(w, r, t.ID)
}

// handoff is the form that takes the card login to the office.
type handoff struct {
	Name, Office, Action string
	Assertion, State     string
}

// TerminalScreen is the desk's screen.
func (handoff) TerminalScreen() terminal.Screen { return terminal.ScreenDesk }

func (p *Pages) login(w http.ResponseWriter, r *http.Request) {
	t, ss, ok := p.stations.Lookup(w, r)
	if !ok {
		return
	}
	office, state := ss.Get(officeKey(t.ID)), ss.Get(stateKey(t.ID))
	action, base, err := p.loginURL(office)
	if err != nil {
		ss.SetFlash(web.Flash{Kind: "error", JA: "事務所の画面から「カードでログイン」を押して始めてください。", EN: "Start from the office's page with “Sign in with your card”."})
		p.stations.Save(r, ss)
		p.back(w, r, t.ID)
		return
	}
	kit := p.stations.Kit(t.ID)
	l, res := kit.Login(r.Context(), r, ss)
	if !res.Passed() {
		ss.SetFlash(res.Flash())
		p.stations.Save(r, ss)
		p.back(w, r, t.ID)
		return
	}
	// The desk keeps nothing: the card comes out, the login and the
	// sign-in go with the hand-over.
	kit.Remove(ss)
	ss.Delete(officeKey(t.ID))
	ss.Delete(stateKey(t.ID))
	p.stations.Save(r, ss)
	if base != "" {
		if err := web.AllowFormAction(w, base); err != nil {
			p.logger.ErrorContext(r.Context(), "staffdesk: the office's origin", "office", office, "err", err)
		}
	}
	p.screens.Render(w, r, http.StatusOK, "handoff", handoff{Name: t.Name, Office: office, Action: action, Assertion: l.Assertion, State: state})
}

// loginURL is where the hand-over for office posts: the configured base
// URL of its kind's host (none for this host) joined to its login path.
func (p *Pages) loginURL(office string) (action, base string, err error) {
	path, err := staff.LoginPath(office)
	if err != nil {
		return "", "", err
	}
	kind, err := staff.OfficeKind(office)
	if err != nil {
		return "", "", err
	}
	base = p.offices[kind]
	return base + path, base, nil
}
