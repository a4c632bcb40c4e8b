package tv

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/mynaplat/mynaplat/community/catv"
	"github.com/mynaplat/mynaplat/community/gate"
	"github.com/mynaplat/mynaplat/community/watch"
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
	// Messages are the CATV operators' messages (catv.Client), reached
	// with the person's card login; nil when no operator is reachable (the
	// menu then has no messages).
	Messages Messages
	// Town is the towns' checkups and booking (town.Client), reached with
	// the person's card login; nil when no town is reachable (the menu then
	// has neither).
	Town Town
	// Watch is the health centre's watch-over (watch.Client), reached
	// with the person's card login; nil when none is reachable (the menu
	// then has no daily check).
	Watch Watch
	// Evac is the disaster office's orders (evac.Client), reached with the
	// person's card login; nil when it is not reachable (no screen then
	// follows its orders). evac.go.
	Evac Evac
	// Gates are the schools' and libraries' children's check-ins
	// (gate.Client, one per body), reached with the parent's card login;
	// none: the menu has no check-ins.
	Gates []Gate
	// Now is the clock (time.Now when nil).
	Now    func() time.Time
	Logger *slog.Logger
}

// Messages is the operators' API as the portal uses it (catv.Client).
type Messages interface {
	Inbox(ctx context.Context, assertion string) ([]catv.Message, error)
	Read(ctx context.Context, assertion string, id int64) (catv.Message, error)
	PowerOn(ctx context.Context, assertion string) error
}

// Pages are the portal's screens under /tv/{id}/, one portal per TV
// terminal.
type Pages struct {
	cfg   Config
	pages *web.Pages
	// kits are the TVs' card flows by terminal ID.
	kits *terminal.Stations[*terminal.Kit]
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
	p := &Pages{cfg: cfg, pages: pages, kits: terminal.NewStations[*terminal.Kit](cfg.Site, cfg.Logger)}
	for _, k := range cfg.Kits {
		id := k.Terminal().ID
		if k.Screen() != terminal.ScreenTV {
			return nil, fmt.Errorf("tv: terminal %s has the %s screen, not a TV's", id, k.Screen())
		}
		if err := p.kits.AddKit(id, k, k); err != nil {
			return nil, fmt.Errorf("tv: %w", err)
		}
	}
	return p, nil
}

// Routes registers the screens.
func (p *Pages) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /tv/{id}/{$}", p.home)
	mux.HandleFunc("GET /tv/{id}/menu", p.menu)
	mux.HandleFunc("GET /tv/{id}/messages", p.messages)
	mux.HandleFunc("GET /tv/{id}/messages/{n}", p.message)
	mux.HandleFunc("POST /tv/{id}/end", p.end)
	p.townRoutes(mux)
	p.watchRoutes(mux)
	p.evacRoutes(mux)
	p.gateRoutes(mux)
}

// Path is the portal's power-on page of TV terminal id.
func Path(id string) string { return "/tv/" + id + "/" }

// Links are the home page's entries: one per TV.
func (p *Pages) Links() []web.Link {
	var out []web.Link
	for _, k := range p.kits.All() {
		t := k.Terminal()
		out = append(out, web.Link{Section: "テレビ / TV", TitleJA: t.Name + "：テレビポータル", TitleEN: t.Name + ": the TV portal",
			DescJA: t.Owner + "・カードとリモコン（キーボード）だけで使えます", DescEN: t.Owner + ": the card and the remote (or the keyboard) only",
			Path: Path(t.ID)})
	}
	return out
}

// lookup is the TV the path names and the browser's session; false when
// the answer is written (an unknown TV, no session store).
func (p *Pages) lookup(w http.ResponseWriter, r *http.Request) (*terminal.Kit, *web.Session, bool) {
	return p.kits.Lookup(w, r)
}

// cardScreen sends the person to the kit's card screen of the TV, which
// comes back to the portal after the login.
func (p *Pages) cardScreen(w http.ResponseWriter, r *http.Request, k *terminal.Kit) {
	id := k.Terminal().ID
	http.Redirect(w, r, terminal.LoginPath(id, Path(id)), http.StatusSeeOther)
}

// view is what every portal screen shows: the TV, the holder and the
// portal's paths.
type view struct {
	Name, Owner string
	Holder      string
	Expires     time.Time
	// Home, Menu, List and End are the portal's paths; HasMessages whether
	// the messages are on the menu.
	Home, Menu, List, End string
	HasMessages           bool
	// HasTown is whether the town's checkups and booking are on the menu.
	HasTown bool
	// Check is the daily check's path, "" when the menu has none.
	Check string
	// HasGates is whether the children's check-ins are on the menu;
	// Children are their screen's (gate.go).
	HasGates bool
	Children []gate.Child
	// Daily is the daily check's screen (watch.go).
	Daily daily
	// Unread is the count of unread messages (the menu's), Messages the
	// list of a messages screen, Message the one open.
	Unread   int
	Messages []catv.Message
	Message  catv.Message
	// Back is where a message's Back goes: the list it was opened from,
	// else the power-on page (the unread left, else the menu).
	Back string
	// ProblemJA and ProblemEN say why a screen could not be shown.
	ProblemJA, ProblemEN string
	// Push is the screen's stream of pushed overlays (the evacuation
	// orders, evac.go); "" for none.
	Push string
}

// PushEvents is the screen's stream of pushed overlays (terminal.Pusher).
func (v view) PushEvents() string { return v.Push }

// TerminalScreen is the TV's.
func (view) TerminalScreen() terminal.Screen { return terminal.ScreenTV }

// MessagePath is the path of message id on this TV.
func (v view) MessagePath(id int64) string { return v.List + "/" + strconv.FormatInt(id, 10) }

// The menu's items in their order, each numbered by the number key that
// presses it: the messages (when the operator is reachable), the daily
// check (for a person the health centre watches), the town's checkups and
// booking (when a town is reachable), the children's check-ins (for a
// parent linked to a child at a school or library), then "end".

// CheckNum is the number key of the daily check.
func (v view) CheckNum() int { return 1 + b2i(v.HasMessages) }

// CheckupsNum is the number key of the town's checkups.
func (v view) CheckupsNum() int { return v.CheckNum() + b2i(v.Check != "") }

// BookingNum is the number key of the booking.
func (v view) BookingNum() int { return v.CheckupsNum() + 1 }

// ChildrenNum is the number key of the children's check-ins.
func (v view) ChildrenNum() int { return v.CheckupsNum() + 2*b2i(v.HasTown) }

// EndNum is the number key of "end", the menu's last item.
func (v view) EndNum() int { return v.ChildrenNum() + b2i(v.HasGates) }

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Num is the number key of the i-th item.
func (view) Num(i int) int { return i + 1 }

// jst is Japan's time, the TV's.
var jst = time.FixedZone("JST", 9*60*60)

// When is a message's time as the TV shows it.
func (view) When(t time.Time) string { return t.In(jst).Format("2006-01-02 15:04") }

// login is the TV, its session and the person's login at it; without a
// login it sends the person to the card screen (saying why when the login
// has run out) and answers false.
func (p *Pages) login(w http.ResponseWriter, r *http.Request) (*terminal.Kit, *web.Session, view, string, bool) {
	k, ss, ok := p.lookup(w, r)
	if !ok {
		return nil, nil, view{}, "", false
	}
	l, err := k.LoggedIn(ss)
	if err != nil {
		p.expired(w, r, k, ss, err)
		return nil, nil, view{}, "", false
	}
	t := k.Terminal()
	home := Path(t.ID)
	return k, ss, view{Name: t.Name, Owner: t.Owner, Holder: l.Holder, Expires: l.Expires,
		Home: home, Menu: home + "menu", List: home + "messages", End: home + "end", HasMessages: p.cfg.Messages != nil,
		HasTown: p.cfg.Town != nil, Check: p.checkPath(home), Push: p.evacEvents(home)}, l.Assertion, true
}

// expired sends the person to the card screen; a login that has run out
// (at the TV, or as the operator found it) goes with its outcome.
func (p *Pages) expired(w http.ResponseWriter, r *http.Request, k *terminal.Kit, ss *web.Session, err error) {
	if errors.Is(err, terminal.ErrLoginExpired) || errors.Is(err, catv.ErrAssertion) || errors.Is(err, watch.ErrAssertion) {
		terminal.Logout(ss)
		ss.SetFlash(terminal.Result{Outcome: terminal.LoginExpired}.Flash())
		terminal.SaveSession(r, ss, p.cfg.Logger)
	}
	p.cardScreen(w, r, k)
}

// failed shows why the operator's answer could not be shown: a refusal in
// its words, the rest as unavailable. A login the operator no longer
// believes goes back to the card.
func (p *Pages) failed(w http.ResponseWriter, r *http.Request, k *terminal.Kit, ss *web.Session, v view, err error) {
	if errors.Is(err, catv.ErrAssertion) {
		p.expired(w, r, k, ss, err)
		return
	}
	status := http.StatusBadGateway
	if reason := catv.ReasonOf(err); reason != "" {
		status = http.StatusOK
		v.ProblemJA, v.ProblemEN = reason.Messages()
	} else {
		p.cfg.Logger.Warn("tv: the operator's messages", "terminal", k.Terminal().ID, "err", err)
		v.ProblemJA, v.ProblemEN = "お知らせを読み込めませんでした。しばらくしてからもう一度お試しください。", "The messages could not be loaded. Try again later."
	}
	p.pages.Render(w, r, status, "problem", v)
}

// home is the power-on page: the card screen until the person has logged
// in at this TV; then their unread messages first, if any, else the menu.
func (p *Pages) home(w http.ResponseWriter, r *http.Request) {
	k, ss, v, assertion, ok := p.login(w, r)
	if !ok {
		return
	}
	p.offerGates(r.Context(), assertion, &v)
	if p.cfg.Messages == nil {
		if !p.dailyFirst(w, r, &v, assertion) {
			p.pages.Render(w, r, http.StatusOK, "home", v)
		}
		return
	}
	// The first power-on page of a login is the sign of life the operator
	// keeps for watch-over; coming back to it from a message is not.
	key, login := "tv:poweron:"+k.Terminal().ID, v.Expires.Format(time.RFC3339Nano)
	if ss.Get(key) != login {
		if err := p.cfg.Messages.PowerOn(r.Context(), assertion); err != nil {
			// A missed sign of life must not keep the person from the TV.
			p.cfg.Logger.Warn("tv: power-on", "terminal", k.Terminal().ID, "err", err)
		} else {
			ss.Set(key, login)
			terminal.SaveSession(r, ss, p.cfg.Logger)
		}
	}
	if p.dailyFirst(w, r, &v, assertion) {
		return
	}
	ms, err := p.cfg.Messages.Inbox(r.Context(), assertion)
	if err != nil {
		p.failed(w, r, k, ss, v, err)
		return
	}
	for _, m := range ms {
		if !m.Read {
			v.Messages = append(v.Messages, m)
		}
	}
	if v.Unread = len(v.Messages); v.Unread == 0 {
		p.pages.Render(w, r, http.StatusOK, "home", v)
		return
	}
	p.pages.Render(w, r, http.StatusOK, "unread", v)
}

// menu is the portal's menu, with the count of unread messages.
func (p *Pages) menu(w http.ResponseWriter, r *http.Request) {
	k, ss, v, assertion, ok := p.login(w, r)
	if !ok {
		return
	}
	p.offerCheck(r.Context(), assertion, &v)
	p.offerGates(r.Context(), assertion, &v)
	if p.cfg.Messages != nil {
		ms, err := p.cfg.Messages.Inbox(r.Context(), assertion)
		if err != nil {
			p.failed(w, r, k, ss, v, err)
			return
		}
		for _, m := range ms {
			if !m.Read {
				v.Unread++
			}
		}
	}
	p.pages.Render(w, r, http.StatusOK, "home", v)
}

// messages lists the person's messages, the unread first.
func (p *Pages) messages(w http.ResponseWriter, r *http.Request) {
	k, ss, v, assertion, ok := p.login(w, r)
	if !ok {
		return
	}
	if p.cfg.Messages == nil {
		p.cfg.Site.NotFound().ServeHTTP(w, r)
		return
	}
	ms, err := p.cfg.Messages.Inbox(r.Context(), assertion)
	if err != nil {
		p.failed(w, r, k, ss, v, err)
		return
	}
	v.Messages = ms
	p.pages.Render(w, r, http.StatusOK, "messages", v)
}

// message opens one message: the operator marks it read (once) and
// audits the read.
func (p *Pages) message(w http.ResponseWriter, r *http.Request) {
	k, ss, v, assertion, ok := p.login(w, r)
	if !ok {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("n"), 10, 64)
	if p.cfg.Messages == nil || err != nil || id <= 0 {
		p.cfg.Site.NotFound().ServeHTTP(w, r)
		return
	}
	m, err := p.cfg.Messages.Read(r.Context(), assertion, id)
	if err != nil {
		p.failed(w, r, k, ss, v, err)
		return
	}
	v.Message, v.Back = m, v.Home
	if r.URL.Query().Get("from") == "list" {
		v.Back = v.List
	}
	p.pages.Render(w, r, http.StatusOK, "message", v)
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
