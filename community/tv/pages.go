package tv

import (
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/web"
)

//go:embed templates
var templates embed.FS

// Config holds what the portal needs.
type Config struct {
	Site *web.Site
	// Kits are the card flows of the TV terminals whose portal this is
	// (terminal.Pages.KitsOf(platform.TV)); each must be on a TV screen.
	Kits []*terminal.Kit
	// Now is the clock (time.Now when nil).
	Now    func() time.Time
	Logger *slog.Logger
}

// Pages are the portal's screens under /tv/{id}/, one portal per TV
// terminal.
type Pages struct {
	cfg   Config
	pages *web.Pages
	kits  map[string]*terminal.Kit
	order []string
}

// New parses the portal's screens in the kit's layout.
func New(cfg Config) (*Pages, error) {
	if cfg.Site == nil {
		return nil, errors.New("tv: no site")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	pages, err := terminal.Parse(cfg.Site, templates, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := &Pages{cfg: cfg, pages: pages, kits: map[string]*terminal.Kit{}}
	for _, k := range cfg.Kits {
		id := k.Terminal().ID
		if k.Screen() != terminal.ScreenTV {
			return nil, fmt.Errorf("tv: terminal %s has the %s screen, not a TV's", id, k.Screen())
		}
		if _, dup := p.kits[id]; dup {
			return nil, fmt.Errorf("tv: terminal %s given twice", id)
		}
		p.kits[id] = k
		p.order = append(p.order, id)
	}
	return p, nil
}

// Routes registers the screens.
func (p *Pages) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /tv/{id}/{$}", p.home)
	mux.HandleFunc("POST /tv/{id}/end", p.end)
}

// Path is the portal's power-on page of TV terminal id.
func Path(id string) string { return "/tv/" + id + "/" }

// Links are the home page's entries: one per TV.
func (p *Pages) Links() []web.Link {
	var out []web.Link
	for _, id := range p.order {
		t := p.kits[id].Terminal()
		out = append(out, web.Link{Section: "テレビ / TV", TitleJA: t.Name + "：テレビポータル", TitleEN: t.Name + ": the TV portal",
			DescJA: t.Owner + "・カードとリモコン（キーボード）だけで使えます", DescEN: t.Owner + ": the card and the remote (or the keyboard) only",
			Path: Path(id)})
	}
	return out
}

// lookup is the TV the path names and the browser's session; false when
// the answer is written (an unknown TV, no session store).
func (p *Pages) lookup(w http.ResponseWriter, r *http.Request) (*terminal.Kit, *web.Session, bool) {
	k, ok := p.kits[r.PathValue("id")]
	if !ok {
		p.cfg.Site.NotFound().ServeHTTP(w, r)
		return nil, nil, false
	}
	ss, ok := terminal.Session(p.cfg.Site, p.cfg.Logger, w, r)
	return k, ss, ok
}

// cardScreen sends the person to the kit's card screen of the TV, which
// comes back to the portal after the login.
func (p *Pages) cardScreen(w http.ResponseWriter, r *http.Request, k *terminal.Kit) {
	id := k.Terminal().ID
	http.Redirect(w, r, "/t/"+url.PathEscape(id)+"/?next="+url.QueryEscape(Path(id)), http.StatusSeeOther)
}

// homeData is what the home shows.
type homeData struct {
	Name, Owner string
	Holder      string
	Expires     time.Time
	End         string
}

// TerminalScreen is the TV's.
func (homeData) TerminalScreen() terminal.Screen { return terminal.ScreenTV }

// home is the power-on page: the card screen until the person has logged
// in at this TV, then the portal's menu.
func (p *Pages) home(w http.ResponseWriter, r *http.Request) {
	k, ss, ok := p.lookup(w, r)
	if !ok {
		return
	}
	l, err := k.LoggedIn(ss)
	if err != nil {
		if errors.Is(err, terminal.ErrLoginExpired) {
			// The assertion has run out: the card again, saying why.
			terminal.Logout(ss)
			ss.SetFlash(terminal.Result{Outcome: terminal.LoginExpired}.Flash())
			terminal.SaveSession(r, ss, p.cfg.Logger)
		}
		p.cardScreen(w, r, k)
		return
	}
	t := k.Terminal()
	p.pages.Render(w, r, http.StatusOK, "home", homeData{Name: t.Name, Owner: t.Owner, Holder: l.Holder,
		Expires: l.Expires, End: Path(t.ID) + "end"})
}

// end ends the session at the TV: the card is taken out and the login
// goes (the kit's Remove), and the TV shows the card screen again.
func (p *Pages) end(w http.ResponseWriter, r *http.Request) {
	k, ss, ok := p.lookup(w, r)
	if !ok {
		return
	}
	k.Remove(ss)
	terminal.SaveSession(r, ss, p.cfg.Logger)
	http.Redirect(w, r, Path(k.Terminal().ID), http.StatusSeeOther)
}
