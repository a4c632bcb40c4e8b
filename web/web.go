// Package web is what every mynaplat page shares: the layout, the embedded
// static files (CSS and an optional PIN-pad script), server-side sessions kept
// in the database, CSRF protection, the Japanese (default) and English texts,
// and the error, 404 and home pages.
//
// Pages are server-rendered html/template forms with POST-redirect-GET. They
// must work without JavaScript on a 1024×600 kiosk touch screen and a 1280×720
// TV browser driven by a remote, so the CSS uses large type and targets and
// visible focus outlines. Each domain package keeps its own page templates
// next to its handlers and parses them with Site.Parse at start-up, so a bad
// template stops the server from starting rather than failing a visitor.
//
// CSRF: every POST, PUT, PATCH and DELETE passes net/http's
// CrossOriginProtection (Fetch Metadata / Origin, as in Go 1.25+), and a
// browser form submission must also carry the session's token (see Protect);
// the only exceptions are the login routes named with CrossOriginLogin, which
// a page of another origin (the staff terminal) posts to and which guard
// themselves, and the machine APIs named with MachineAPI (the TSA), which
// read no cookie or session.
// Sessions follow the OWASP session management guidance: a random 256-bit id
// in an HttpOnly, SameSite=Lax cookie, only its SHA-256 in the database, an
// idle timeout (30 minutes: kiosks are shared) and an absolute one (8 hours).
package web

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mynaplat/mynaplat/internal/ratelimit"
	"github.com/mynaplat/mynaplat/store"
)

//go:embed migrations
var migrations embed.FS

//go:embed static
var static embed.FS

//go:embed templates
var templates embed.FS

// Options hold what a Site needs.
type Options struct {
	DB     *store.DB
	Logger *slog.Logger
	// Now is the clock (time.Now when nil); session expiry uses it.
	Now func() time.Time
	// SecureCookies sets the Secure attribute on cookies, for a site behind
	// TLS.
	SecureCookies bool
	// LoginLimits are the login forms' limits (DefaultLoginLimits when nil).
	LoginLimits *ratelimit.LoginLimits
	// SessionCookie names the session cookie (SessionCookie when "").
	// Cookies are kept per host name, not per port: processes that serve
	// pages on one host at different ports need a name each, or each
	// would overwrite the others' session.
	SessionCookie string
}

// Site is the shared web machinery of one mynaplat instance.
type Site struct {
	db     *store.DB
	logger *slog.Logger
	now    func() time.Time
	secure bool
	cop    *http.CrossOriginProtection
	// own holds the pages of this package: error and home.
	own *Pages
	// extra are static files of other packages' layouts (Layout.Static),
	// served under /static/ after this package's own.
	extraMu sync.RWMutex
	extra   []fs.FS
	// logins limits the login forms (Logins).
	logins *ratelimit.Login
	// cookie is the session cookie's name.
	cookie string
	// crossOrigin holds the routes that Protect lets pages of other
	// origins and programs post to (CrossOriginLogin, MachineAPI), each
	// with an exemptRoute.
	crossMu     sync.Mutex
	crossOrigin *http.ServeMux
	crossSeen   map[string]bool
	// purged is when (Unix ms) newSession last purged expired sessions.
	purged atomic.Int64
}

// New migrates the web tables (sessions) and parses the shared templates.
func New(ctx context.Context, o Options) (*Site, error) {
	if o.DB == nil {
		return nil, errors.New("web: no database")
	}
	s := &Site{db: o.DB, logger: o.Logger, now: o.Now, secure: o.SecureCookies, cookie: o.SessionCookie,
		crossOrigin: http.NewServeMux(), crossSeen: map[string]bool{}}
	if s.cookie == "" {
		s.cookie = SessionCookie
	}
	if err := (&http.Cookie{Name: s.cookie, Value: "x"}).Valid(); err != nil {
		return nil, fmt.Errorf("web: session cookie name %q: %w", s.cookie, err)
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if o.LoginLimits == nil {
		l := DefaultLoginLimits()
		o.LoginLimits = &l
	}
	s.logins = ratelimit.NewLogin(*o.LoginLimits, ratelimit.Options{Now: s.now})
	if err := o.DB.Migrate(ctx, "web", mustSub(migrations, "migrations")); err != nil {
		return nil, err
	}
	s.cop = http.NewCrossOriginProtection()
	s.cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.Error(w, r, problemCrossOrigin)
	}))
	own, err := s.Parse(mustSub(templates, "templates"), "error.html", "home.html")
	if err != nil {
		return nil, err
	}
	s.own = own
	return s, nil
}

func mustSub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(err) // dir is a constant naming an embedded directory
	}
	return sub
}

// Logger is the site's logger, for the handlers of the packages built on it.
func (s *Site) Logger() *slog.Logger { return s.logger }

// Routes registers the static files and the language switch.
func (s *Site) Routes(mux *http.ServeMux) {
	own := mustSub(static, "static")
	mux.Handle("GET /static/{path...}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The files are embedded in the binary and change only with it.
		w.Header().Set("Cache-Control", "public, max-age=3600")
		name := r.PathValue("path")
		fsys := own
		if _, err := fs.Stat(own, name); err != nil {
			s.extraMu.RLock()
			for _, x := range s.extra {
				if _, err := fs.Stat(x, name); err == nil {
					fsys = x
					break
				}
			}
			s.extraMu.RUnlock()
		}
		http.StripPrefix("/static/", http.FileServerFS(fsys)).ServeHTTP(w, r)
	}))
	mux.HandleFunc("GET /lang", s.switchLang)
}

// langCookie remembers the chosen language for a year.
const langCookie = "lang"

// Lang is the language of a request: "en" when ?lang=en or the lang cookie
// says so, else "ja". The query parameter wins, so a link can force a language.
func Lang(r *http.Request) string {
	if q := r.URL.Query().Get("lang"); q == "ja" || q == "en" {
		return q
	}
	if c, err := r.Cookie(langCookie); err == nil && c.Value == "en" {
		return "en"
	}
	return "ja"
}

// switchLang serves GET /lang?to=ja|en&back=/path: it sets the language cookie
// and sends the browser back to where it came from. back must be a path on
// this site; anything else (an open redirect) goes to the home page instead.
func (s *Site) switchLang(w http.ResponseWriter, r *http.Request) {
	to := "ja"
	if r.URL.Query().Get("to") == "en" {
		to = "en"
	}
	http.SetCookie(w, &http.Cookie{Name: langCookie, Value: to, Path: "/", MaxAge: 365 * 24 * 3600,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, localPath(r.URL.Query().Get("back")), http.StatusSeeOther)
}

// LocalPath returns back when it is a path on this site, else "/": for
// redirects to a page named in a request (a "next" or "back" parameter).
func LocalPath(back string) string { return localPath(back) }

// localPath returns back when it is a path on this site, else "/". Browsers
// treat "//host" and "/\host" as other sites, so those are refused too. A lang
// parameter is dropped: it would override the cookie just set.
func localPath(back string) string {
	if !strings.HasPrefix(back, "/") || strings.HasPrefix(back, "//") || strings.HasPrefix(back, "/\\") {
		return "/"
	}
	for _, r := range back {
		if r < 0x20 || r == 0x7f {
			return "/"
		}
	}
	u, err := url.Parse(back)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "/"
	}
	q := u.Query()
	if q.Has("lang") {
		q.Del("lang")
		u.RawQuery = q.Encode()
	}
	return u.RequestURI()
}

// Link is one entry of the home page.
type Link struct {
	// Section is the heading of the group the link goes to when no
	// HomeSection claims its path.
	Section          string
	TitleJA, TitleEN string
	DescJA, DescEN   string
	Path             string
}

// Status says how far what a HomeSection describes is built.
type Status int

// The statuses a HomeSection can show.
const (
	NoStatus Status = iota // no badge (the start, the shared base)
	Built
	PartlyBuilt
	NotBuilt
)

// HomeSection is a part of the home page: a heading, one line about it, how
// far it is built and what is missing, the demo cards to use, numbered steps,
// and its links. The home page says plainly what is not built: a newcomer
// must not go looking for it.
type HomeSection struct {
	// ID is the section's anchor (/#ID).
	ID               string
	TitleJA, TitleEN string
	DescJA, DescEN   string
	Status           Status
	// MissingJA and MissingEN say what is not built yet.
	MissingJA, MissingEN string
	Cards                []HomeCard
	Steps                []Step
	// Links are shown first; then come the Links passed to Home whose path
	// starts with one of Paths (the longest prefix over all sections wins).
	Links []Link
	Paths []string
	// Sub are the section's parts (the pilots of an item), shown inside it.
	Sub []HomeSection
	// Framed sets the section apart (the place to start).
	Framed bool
}

// HomeCard is a demo card to use in a section.
type HomeCard struct {
	Name string
	// PIN is the authentication PIN; SignPIN the signing password, if any.
	PIN, SignPIN   string
	NoteJA, NoteEN string
}

// Step is one numbered thing to try.
type Step struct {
	Path             string
	TitleJA, TitleEN string
	DoJA, DoEN       string
	Card             *HomeCard
}

// homeBlock is a section or a part of one, in page order.
type homeBlock struct {
	HomeSection
	Part bool
}

// Home returns the home page handler: sections in their order, each with the
// links whose paths it claims, then the links no section claims, grouped by
// their Section in the order they first appear.
func (s *Site) Home(sections []HomeSection, links []Link) http.HandlerFunc {
	blocks := arrangeHome(sections, links)
	return func(w http.ResponseWriter, r *http.Request) {
		s.own.Render(w, r, http.StatusOK, "home", blocks)
	}
}

// arrangeHome flattens the sections and their parts into page order and
// hands each link to the block with the longest matching path prefix. A link
// whose path the block already shows (as a link or a step) is dropped.
func arrangeHome(sections []HomeSection, links []Link) []homeBlock {
	var blocks []homeBlock
	for _, sec := range sections {
		sub := sec.Sub
		sec.Sub = nil
		blocks = append(blocks, homeBlock{HomeSection: sec})
		for _, p := range sub {
			p.Sub = nil
			blocks = append(blocks, homeBlock{HomeSection: p, Part: true})
		}
	}
	own := make([]int, len(blocks)) // the number of each block's own links
	for i := range blocks {
		blocks[i].Links = slices.Clone(blocks[i].Links)
		own[i] = len(blocks[i].Links)
	}
	// rank is the index in its block's Paths of the prefix a claimed link
	// matched: a block shows its claimed links in the order of its Paths,
	// whatever order they came in.
	rank := map[string]int{}
	var rest []homeBlock
	restIdx := map[string]int{}
	for _, l := range links {
		best, bestLen, bestRank := -1, -1, 0
		for i, b := range blocks {
			for j, p := range b.Paths {
				if strings.HasPrefix(l.Path, p) && len(p) > bestLen {
					best, bestLen, bestRank = i, len(p), j
				}
			}
		}
		if best < 0 {
			i, ok := restIdx[l.Section]
			if !ok {
				i = len(rest)
				restIdx[l.Section] = i
				rest = append(rest, homeBlock{HomeSection: HomeSection{TitleJA: l.Section, TitleEN: l.Section}})
			}
			rest[i].Links = append(rest[i].Links, l)
			continue
		}
		b := &blocks[best]
		if !slices.ContainsFunc(b.Links, func(have Link) bool { return have.Path == l.Path }) &&
			!slices.ContainsFunc(b.Steps, func(st Step) bool { return st.Path == l.Path }) {
			b.Links = append(b.Links, l)
			rank[l.Path] = bestRank
		}
	}
	for i := range blocks {
		slices.SortStableFunc(blocks[i].Links[own[i]:], func(a, b Link) int { return rank[a.Path] - rank[b.Path] })
	}
	return append(blocks, rest...)
}

// Funcs are the template functions every page has (jst, wareki, hex,
// upper), for a package that renders a fragment of a page itself.
func Funcs() template.FuncMap { return funcs() }

// funcs are the template functions every page has.
func funcs() template.FuncMap {
	return template.FuncMap{
		"jst":    formatJST,
		"wareki": formatWareki,
		"hex":    formatHex,
		"upper":  strings.ToUpper,
	}
}

// errorf is fmt.Errorf with the package prefix.
func errorf(format string, args ...any) error {
	return fmt.Errorf("web: "+format, args...)
}

// statusText are the badge class and the Japanese and English words of
// each status; NoStatus has none (no badge).
var statusText = map[Status][3]string{
	Built:       {"good", "実装済み", "Built"},
	PartlyBuilt: {"warn", "一部実装", "Partly built"},
	NotBuilt:    {"notbuilt", "未実装", "Not built yet"},
}

// Class is the status's badge class ("" for no badge).
func (s Status) Class() string { return statusText[s][0] }

// JA is the status in Japanese.
func (s Status) JA() string { return statusText[s][1] }

// EN is the status in English.
func (s Status) EN() string { return statusText[s][2] }

// StyleCSS is the shared style sheet, for a page written to a file (a
// validation report saved with `mynaplat verify --html`) that has no
// server to load it from.
func StyleCSS() []byte {
	b, _ := static.ReadFile("static/style.css")
	return b
}
