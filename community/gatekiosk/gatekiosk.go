// Package gatekiosk is the screen of a school's or a library's gate
// terminal (docs/community-tv.md §3, §5.5): a child holds their card to
// the reader, the kit reads its 利用者証明用 certificate without a PIN
// (terminal.Kit.PresenceRead: the card was presented, nobody was
// authenticated) and the terminal sends it to its body's touch API
// (gate.Client) under the terminals' caller key; the screen says "arrived"
// or "left" with the child's name, and nothing else. In the demo the card
// is chosen on the screen (the kit's virtual reader).
package gatekiosk

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/mynaplat/mynaplat/community/gate"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/web"
)

//go:embed templates
var templates embed.FS

// Body is a body's touch API as the gate uses it (gate.Client).
type Body interface {
	Touch(ctx context.Context, terminal string, der []byte) (gate.Event, error)
}

// Gate is one gate terminal: its card flow and its body.
type Gate struct {
	Kit  *terminal.Kit
	Body Body
}

// Config holds what the screens need.
type Config struct {
	Site   *web.Site
	Gates  []Gate
	Logger *slog.Logger
}

// Pages are the gates' screens:
//
//	GET  /gatekiosk/{id}/       the reader: hold the card (the demo: choose it); the last touch's result
//	POST /gatekiosk/{id}/touch  the card held: read without a PIN, sent to the body
type Pages struct {
	cfg   Config
	pages *web.Pages
	gates *terminal.Stations[Gate]
}

// New parses the screens in the kit's layout.
func New(cfg Config) (*Pages, error) {
	if cfg.Site == nil {
		return nil, errors.New("gatekiosk: no site")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	pages, err := terminal.Parse(cfg.Site, templates, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := &Pages{cfg: cfg, pages: pages, gates: terminal.NewStations[Gate](cfg.Site, cfg.Logger)}
	for _, g := range cfg.Gates {
		if err := p.gates.AddKit(g.Kit.Terminal().ID, g, g.Kit); err != nil {
			return nil, fmt.Errorf("gatekiosk: %w", err)
		}
	}
	return p, nil
}

// Path is the screen of gate terminal id.
func Path(id string) string { return "/gatekiosk/" + id + "/" }

// Routes registers the screens.
func (p *Pages) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /gatekiosk/{id}/{$}", p.screen)
	mux.HandleFunc("POST /gatekiosk/{id}/touch", p.touch)
}

// Links are the home page's entries: one per gate.
func (p *Pages) Links() []web.Link {
	var out []web.Link
	for _, g := range p.gates.All() {
		t := g.Kit.Terminal()
		out = append(out, web.Link{Section: "テレビ / TV", TitleJA: t.Name, TitleEN: t.Name + ": the gate's reader",
			DescJA: t.Owner + "・子どもがカードをかざすと保護者にメール（暗証番号なし）", DescEN: t.Owner + ": a child holds the card, the parents get a mail (no PIN)",
			Path: Path(t.ID)})
	}
	return out
}

type view struct {
	ID, Name, Owner string
	Card            *terminal.CardStep
	// Last is the last touch's result: its kind and name, or a problem.
	Last                 *gate.Event
	ProblemJA, ProblemEN string
}

// TerminalScreen is a kiosk's.
func (view) TerminalScreen() terminal.Screen { return terminal.ScreenKiosk }

// Kind is an event kind's words.
func (view) Kind(k string) [2]string { ja, en := gate.KindWords(k); return [2]string{ja, en} }

// Clock is an event's time at the gate.
func (view) Clock(t time.Time) string { return t.In(jst).Format("15:04") }

var jst = time.FixedZone("JST", 9*60*60)

// The session keys of the last touch shown.
func lastKey(id string) string { return "gatekiosk:" + id + ":last" }

func (p *Pages) lookup(w http.ResponseWriter, r *http.Request) (Gate, *web.Session, bool) {
	return p.gates.Lookup(w, r)
}

func (p *Pages) screen(w http.ResponseWriter, r *http.Request) {
	g, ss, ok := p.lookup(w, r)
	if !ok {
		return
	}
	t := g.Kit.Terminal()
	v := view{ID: t.ID, Name: t.Name, Owner: t.Owner, Card: g.Kit.Card(r, ss)}
	if last := ss.Get(lastKey(t.ID)); last != "" {
		ss.Delete(lastKey(t.ID))
		terminal.SaveSession(r, ss, p.cfg.Logger)
		var ev gate.Event
		if err := decode(last, &ev); err == nil && ev.Kind != "" {
			v.Last = &ev
		} else {
			var prob [2]string
			if decode(last, &prob) == nil {
				v.ProblemJA, v.ProblemEN = prob[0], prob[1]
			}
		}
	}
	p.pages.Render(w, r, http.StatusOK, "gate", v)
}

// touch is the card held to the reader: placed, read without a PIN and
// taken out, then sent to the body; the screen shows the answer.
func (p *Pages) touch(w http.ResponseWriter, r *http.Request) {
	g, ss, ok := p.lookup(w, r)
	if !ok {
		return
	}
	id := g.Kit.Terminal().ID
	problem := func(ja, en string) { ss.Set(lastKey(id), encode([2]string{ja, en})) }
	if res := g.Kit.Place(r, ss); !res.Passed() {
		m := res.Message()
		problem(m.JA, m.EN)
	} else if der, res := g.Kit.PresenceRead(r, ss); !res.Passed() {
		m := res.Message()
		problem(m.JA, m.EN)
	} else if ev, err := g.Body.Touch(r.Context(), id, der); err != nil {
		if reason := gate.ReasonOf(err); reason != "" {
			problem(reason.Messages())
		} else {
			p.cfg.Logger.Warn("gatekiosk: touch", "terminal", id, "err", err)
			problem("記録できませんでした。先生や係の人に知らせてください。", "The touch could not be recorded. Tell a teacher or the staff.")
		}
	} else {
		ss.Set(lastKey(id), encode(ev))
	}
	terminal.SaveSession(r, ss, p.cfg.Logger)
	http.Redirect(w, r, Path(id), http.StatusSeeOther)
}
