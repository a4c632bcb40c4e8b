package tv

import (
	"context"
	"errors"
	"net/http"

	"github.com/mynaplat/mynaplat/community/gate"
)

// Gate is a school's or a library's API as the portal uses it
// (gate.Client): a parent's children's check-ins (docs/community-tv.md
// §5.5). Each body answers only for the children linked to the parent
// there, and not_linked to anyone else.
type Gate interface {
	Linked(ctx context.Context, assertion string) (bool, error)
	History(ctx context.Context, assertion string) ([]gate.Child, error)
}

// offerGates puts the children's check-ins on the menu only for a parent
// some body knows: nobody else sees even the item.
func (p *Pages) offerGates(ctx context.Context, assertion string, v *view) {
	for _, g := range p.cfg.Gates {
		linked, err := g.Linked(ctx, assertion)
		if err != nil {
			if gate.ReasonOf(err) == "" {
				p.cfg.Logger.Warn("tv: a school or library", "err", err)
			}
			continue
		}
		if linked {
			v.HasGates = true
			return
		}
	}
}

// The children's check-ins: one screen, every body asked with the
// parent's card login, the children of those that know the parent shown
// body by body, newest first.
//
//	GET /tv/{id}/children

func (p *Pages) gateRoutes(mux *http.ServeMux) {
	if len(p.cfg.Gates) == 0 {
		return
	}
	mux.HandleFunc("GET /tv/{id}/children", p.children)
}

// MaxChildEvents are the events of a child the screen shows (the newest).
const MaxChildEvents = 12

func (p *Pages) children(w http.ResponseWriter, r *http.Request) {
	k, ss, v, assertion, ok := p.login(w, r)
	if !ok {
		return
	}
	unreachable := false
	for _, g := range p.cfg.Gates {
		kids, err := g.History(r.Context(), assertion)
		switch {
		case errors.Is(err, gate.ErrAssertion):
			p.expired(w, r, k, ss, err)
			return
		case gate.ReasonOf(err) == gate.ReasonNotLinked:
			continue
		case err != nil:
			p.cfg.Logger.Warn("tv: a school or library", "terminal", k.Terminal().ID, "err", err)
			unreachable = true
			continue
		}
		for _, c := range kids {
			if len(c.Events) > MaxChildEvents {
				c.Events = c.Events[:MaxChildEvents]
			}
			v.Children = append(v.Children, c)
		}
	}
	switch {
	case len(v.Children) == 0 && unreachable:
		v.ProblemJA, v.ProblemEN = "学校・図書館につながりませんでした。しばらくしてからもう一度お試しください。", "The school and library could not be reached. Try again later."
		p.pages.Render(w, r, http.StatusBadGateway, "children", v)
		return
	case len(v.Children) == 0:
		v.ProblemJA, v.ProblemEN = gate.ReasonNotLinked.Messages()
	case unreachable:
		v.ProblemJA, v.ProblemEN = "一部の学校・図書館につながりませんでした（その記録は表示していません）。", "A school or library could not be reached (its records are not shown)."
	}
	p.pages.Render(w, r, http.StatusOK, "children", v)
}

// KindWords are a gate event's words.
func (view) KindWords(kind string) [2]string {
	ja, en := gate.KindWords(kind)
	return [2]string{ja, en}
}
