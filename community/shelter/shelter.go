// Package shelter is the screen of a shelter's card terminal (docs/
// community-tv.md §3, §5.6): the evacuee places their card and enters the
// PIN on the kit's card screen, then confirms, and the disaster office
// (community/evac, its API with the card login made here) checks them in
// — or out, when they are in at this shelter; the card is then taken out
// for the next person. It serves no data of its own.
package shelter

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/mynaplat/mynaplat/community/evac"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/web"
)

//go:embed templates
var templates embed.FS

// Office is the disaster office's API as the screen uses it (evac.Client).
type Office interface {
	Touch(ctx context.Context, assertion string) (evac.CheckIn, error)
}

// Config holds what the screens need.
type Config struct {
	Site *web.Site
	// Kits are the card flows of the shelters' terminals
	// (terminal.Pages.KitsOf(platform.Shelter)).
	Kits   []*terminal.Kit
	Office Office
	Logger *slog.Logger
}

// Pages are the screens under /shelter/{id}/:
//
//	GET  /shelter/{id}/        the card screen until a login here; then "check in / out" focused
//	POST /shelter/{id}/touch   check in or out, take the card out, say which
type Pages struct {
	cfg   Config
	pages *web.Pages
	// kits are the shelters' terminals' card flows by terminal ID.
	kits *terminal.Stations[*terminal.Kit]
}

// New parses the screens in the kit's layout.
func New(cfg Config) (*Pages, error) {
	if cfg.Site == nil || cfg.Office == nil {
		return nil, errors.New("shelter: no site or no office")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	pages, err := terminal.Parse(cfg.Site, templates, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := &Pages{cfg: cfg, pages: pages, kits: terminal.NewStations[*terminal.Kit](cfg.Site, cfg.Logger)}
	for _, k := range cfg.Kits {
		if err := p.kits.AddKit(k.Terminal().ID, k, k); err != nil {
			return nil, fmt.Errorf("shelter: %w", err)
		}
	}
	return p, nil
}

// Path is the screen of shelter terminal id.
func Path(id string) string { return "/shelter/" + id + "/" }

// Routes registers the screens.
func (p *Pages) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /shelter/{id}/{$}", p.home)
	mux.HandleFunc("POST /shelter/{id}/touch", p.touch)
}

// Links are the home page's entries: one per terminal.
func (p *Pages) Links() []web.Link {
	var out []web.Link
	for _, k := range p.kits.All() {
		t := k.Terminal()
		out = append(out, web.Link{Section: "テレビ / TV", TitleJA: t.Name + "：入所・退所の受付", TitleEN: t.Name + ": check in and out",
			DescJA: t.Owner + "・カードを置いて暗証番号で", DescEN: t.Owner + ": place the card and enter the PIN", Path: Path(t.ID)})
	}
	return out
}

type view struct {
	Name, Owner, Holder  string
	Touch, Next          string
	Done                 bool
	CheckIn              evac.CheckIn
	ProblemJA, ProblemEN string
}

// jst is Japan's time, the shelter's.
var jst = time.FixedZone("JST", 9*60*60)

// When is a time as the screen shows it.
func (view) When(t time.Time) string { return t.In(jst).Format("15:04") }

func (p *Pages) lookup(w http.ResponseWriter, r *http.Request) (*terminal.Kit, *web.Session, bool) {
	return p.kits.Lookup(w, r)
}

func (p *Pages) cardScreen(w http.ResponseWriter, r *http.Request, k *terminal.Kit) {
	id := k.Terminal().ID
	http.Redirect(w, r, terminal.LoginPath(id, Path(id)), http.StatusSeeOther)
}

func (p *Pages) home(w http.ResponseWriter, r *http.Request) {
	k, ss, ok := p.lookup(w, r)
	if !ok {
		return
	}
	l, err := k.LoggedIn(ss)
	if err != nil {
		p.cardScreen(w, r, k)
		return
	}
	t := k.Terminal()
	p.pages.Render(w, r, http.StatusOK, "shelter", view{Name: t.Name, Owner: t.Owner, Holder: l.Holder,
		Touch: Path(t.ID) + "touch", Next: Path(t.ID)})
}

// touch checks the person in or out at the office, then takes the card
// out whatever the answer, so the next person starts afresh.
func (p *Pages) touch(w http.ResponseWriter, r *http.Request) {
	k, ss, ok := p.lookup(w, r)
	if !ok {
		return
	}
	l, err := k.LoggedIn(ss)
	if err != nil {
		p.cardScreen(w, r, k)
		return
	}
	t := k.Terminal()
	v := view{Name: t.Name, Owner: t.Owner, Holder: l.Holder, Next: Path(t.ID), Done: true}
	v.CheckIn, err = p.cfg.Office.Touch(r.Context(), l.Assertion)
	k.Remove(ss)
	terminal.SaveSession(r, ss, p.cfg.Logger)
	status := http.StatusOK
	switch reason := evac.ReasonOf(err); {
	case reason != "":
		v.ProblemJA, v.ProblemEN = reason.Messages()
	case err != nil:
		p.cfg.Logger.Warn("shelter: check-in", "terminal", t.ID, "err", err)
		status = http.StatusBadGateway
		v.ProblemJA, v.ProblemEN = "受付できませんでした。係の人に声をかけてください。", "Could not check you in: please ask the staff."
	}
	p.pages.Render(w, r, status, "shelter", v)
}
