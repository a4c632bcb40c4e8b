package tv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/community/evac"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/web"
)

// The evacuation order on the TV (docs/community-tv.md §5.6, §7): every
// portal screen follows its own terminal's stream of pushed overlays
// (terminal.Pusher, the kit's push.js), which relays the disaster office's
// stream of the person's area (evac.Client.Stream, with the person's card
// login): an order issued, or lifted, makes the screen fetch the order
// page and show it over whatever it shows, focus on 「確認しました」 (the
// red key). The browser talks only to its terminal; the terminal only to
// the office's API.
//
//	GET  /tv/{id}/evac/events         the screen's stream (server-sent events; 204 without a login)
//	GET  /tv/{id}/evac/               the order in force for the person's area (or "lifted")
//	POST /tv/{id}/evac/{order}/ack    the household acknowledges it, then the order page

// Evac is the disaster office's API as the portal uses it (evac.Client).
type Evac interface {
	Notice(ctx context.Context, assertion string) (evac.NoticeAnswer, error)
	Ack(ctx context.Context, assertion string, order int64) error
	Stream(ctx context.Context, assertion string, after int64, fn func(evac.Event) error) (int64, error)
}

func (p *Pages) evacRoutes(mux *http.ServeMux) {
	if p.cfg.Evac == nil {
		return
	}
	mux.HandleFunc("GET /tv/{id}/evac/events", p.evacStream)
	mux.HandleFunc("GET /tv/{id}/evac/{$}", p.evacOrder)
	mux.HandleFunc("POST /tv/{id}/evac/{order}/ack", p.evacAck)
}

// evacEvents is the screen's stream of pushed overlays, when the office
// is reachable.
func (p *Pages) evacEvents(home string) string {
	if p.cfg.Evac == nil {
		return ""
	}
	return home + "evac/events"
}

// evacView is the order page's.
type evacView struct {
	view
	Notice evac.Notice
	// Lifted: no order is in force (any more) for the person's area.
	Lifted bool
	Ack    string
}

// LevelJA and LevelEN name an alert level (警戒レベル) as the town says it.
func (evacView) LevelJA(l int) string {
	switch l {
	case 5:
		return "緊急安全確保"
	case 4:
		return "避難指示"
	case 3:
		return "高齢者等避難"
	}
	return "避難に関する情報"
}

// LevelEN is the level's English name.
func (evacView) LevelEN(l int) string {
	switch l {
	case 5:
		return "Emergency safety measures"
	case 4:
		return "Evacuation order"
	case 3:
		return "Evacuation of the elderly and others"
	}
	return "Evacuation information"
}

// Km is a distance in metres as the TV says it.
func (evacView) Km(m float64) string { return fmt.Sprintf("%.1f km", m/1000) }

// Names are the household's members, as the order addresses them.
func (v evacView) Names() string { return strings.Join(v.Notice.Members, "・") }

// evacOrder is the order page: the order in force for the person's area
// with the household's names and the nearest open shelter, or "lifted".
func (p *Pages) evacOrder(w http.ResponseWriter, r *http.Request) {
	k, ss, v, assertion, ok := p.login(w, r)
	if !ok {
		return
	}
	ev := evacView{view: v}
	n, err := p.cfg.Evac.Notice(r.Context(), assertion)
	switch {
	case evac.ReasonOf(err) == evac.ReasonNoOrder:
		ev.Lifted = true
	case err != nil:
		p.evacFailed(w, r, k, ss, v, err)
		return
	}
	ev.Notice = n.Notice
	ev.Ack = v.Home + "evac/" + strconv.FormatInt(n.Order.ID, 10) + "/ack"
	p.pages.Render(w, r, http.StatusOK, "evac", ev)
}

// evacAck records the household's acknowledgement and shows the order
// again, acknowledged.
func (p *Pages) evacAck(w http.ResponseWriter, r *http.Request) {
	k, ss, v, assertion, ok := p.login(w, r)
	if !ok {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("order"), 10, 64)
	if err != nil || id <= 0 {
		p.cfg.Site.NotFound().ServeHTTP(w, r)
		return
	}
	if err := p.cfg.Evac.Ack(r.Context(), assertion, id); err != nil && evac.ReasonOf(err) != evac.ReasonOrderClosed {
		p.evacFailed(w, r, k, ss, v, err)
		return
	}
	http.Redirect(w, r, v.Home+"evac/", http.StatusSeeOther)
}

// evacFailed: a login the office no longer believes goes to the card
// screen; a refusal is shown in its words; the rest as unavailable.
func (p *Pages) evacFailed(w http.ResponseWriter, r *http.Request, k *terminal.Kit, ss *web.Session, v view, err error) {
	if errors.Is(err, evac.ErrAssertion) {
		p.expired(w, r, k, ss, err)
		return
	}
	status := http.StatusBadGateway
	if reason := evac.ReasonOf(err); reason != "" {
		status = http.StatusOK
		v.ProblemJA, v.ProblemEN = reason.Messages()
	} else {
		p.cfg.Logger.Warn("tv: the evacuation order", "terminal", k.Terminal().ID, "err", err)
		v.ProblemJA, v.ProblemEN = "避難指示を読み込めませんでした。防災無線・広報車の情報に従ってください。", "The evacuation order could not be loaded. Follow the town's loudspeakers."
	}
	p.pages.Render(w, r, status, "problem", v)
}

// pushEvent is what the screen's push.js is sent: the overlay to show.
type pushEvent struct {
	Overlay string `json:"overlay"`
}

// evacStream relays the office's stream of the person's area to the
// screen: an order (not yet acknowledged) in force when the screen
// connects at once, then every order and lift as it comes, each as the
// order page to show. Event ids are the office's, so the browser's
// Last-Event-ID resumes the office's stream where it was.
func (p *Pages) evacStream(w http.ResponseWriter, r *http.Request) {
	k, ss, ok := p.lookup(w, r)
	if !ok {
		return
	}
	l, err := k.LoggedIn(ss)
	if err != nil {
		// 204: EventSource does not reconnect; the next screen asks again.
		w.WriteHeader(http.StatusNoContent)
		return
	}
	ctx := r.Context()
	home := Path(k.Terminal().ID)
	data, _ := json.Marshal(pushEvent{Overlay: home + "evac/"})
	after, err := strconv.ParseInt(r.Header.Get("Last-Event-ID"), 10, 64)
	first := err != nil
	var n evac.NoticeAnswer
	if first {
		n, err = p.cfg.Evac.Notice(ctx, l.Assertion)
		switch {
		case evac.ReasonOf(err) != "" && evac.ReasonOf(err) != evac.ReasonNoOrder, errors.Is(err, evac.ErrAssertion):
			w.WriteHeader(http.StatusNoContent)
			return
		case err != nil && evac.ReasonOf(err) == "":
			p.cfg.Logger.Warn("tv: evacuation stream", "terminal", k.Terminal().ID, "err", err)
			http.Error(w, "unavailable", http.StatusBadGateway)
			return
		}
		after = n.Seq
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 2000\n\n")
	if first && n.Order.ID != 0 && !n.Acknowledged {
		fmt.Fprintf(w, "id: %d\nevent: push\ndata: %s\n\n", after, data)
	}
	if err := rc.Flush(); err != nil {
		return
	}
	_, err = p.cfg.Evac.Stream(ctx, l.Assertion, after, func(e evac.Event) error {
		if _, err := fmt.Fprintf(w, "id: %d\nevent: push\ndata: %s\n\n", e.Seq, data); err != nil {
			return err
		}
		return rc.Flush()
	})
	if err != nil && ctx.Err() == nil {
		p.cfg.Logger.Info("tv: evacuation stream ended", "terminal", k.Terminal().ID, "err", err)
	}
}
