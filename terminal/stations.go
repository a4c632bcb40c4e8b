package terminal

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/mynaplat/mynaplat/web"
)

// Stations are the terminals of one set of screens (/t/, the reception
// stations, the kiosks), each with its card flow, in the order they were
// added: the one place that finds the terminal a request's path names
// ({id}) and the browser's session, so that every kind of terminal answers
// an unknown one and a lost session store alike.
type Stations[S any] struct {
	site   *web.Site
	logger *slog.Logger
	byID   map[string]stationOf[S]
	order  []string
}

// stationOf is one terminal and its kit.
type stationOf[S any] struct {
	st  S
	kit *Kit
}

// NewStations is an empty set of terminals of site's screens.
func NewStations[S any](site *web.Site, logger *slog.Logger) *Stations[S] {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Stations[S]{site: site, logger: logger, byID: map[string]stationOf[S]{}}
}

// Add adds terminal id with the kit of kc (its Logger the set's when
// nil); an ID given twice is an error.
func (s *Stations[S]) Add(id string, st S, kc KitConfig) error {
	if kc.Logger == nil {
		kc.Logger = s.logger
	}
	return s.AddKit(id, st, NewKit(kc))
}

// AddKit adds terminal id with a kit made elsewhere (a service's screens
// given the kits of /t/, Pages.KitsOf); an ID given twice is an error.
func (s *Stations[S]) AddKit(id string, st S, k *Kit) error {
	if _, dup := s.byID[id]; dup {
		return fmt.Errorf("terminal: two terminals are named %s", id)
	}
	s.byID[id] = stationOf[S]{st, k}
	s.order = append(s.order, id)
	return nil
}

// Get is terminal id, if there is one.
func (s *Stations[S]) Get(id string) (S, bool) {
	e, ok := s.byID[id]
	return e.st, ok
}

// Kit is the card flow of terminal id (nil for none).
func (s *Stations[S]) Kit(id string) *Kit { return s.byID[id].kit }

// All are the terminals in the order they were added.
func (s *Stations[S]) All() []S {
	out := make([]S, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, s.byID[id].st)
	}
	return out
}

// Lookup is the terminal the request's path names ({id}) and the
// browser's session. An unknown terminal is answered with the site's 404,
// a session that cannot be had with a 503; false means the answer is
// written.
func (s *Stations[S]) Lookup(w http.ResponseWriter, r *http.Request) (S, *web.Session, bool) {
	e, ok := s.byID[r.PathValue("id")]
	if !ok {
		s.site.NotFound().ServeHTTP(w, r)
		var none S
		return none, nil, false
	}
	ss, ok := Session(s.site, s.logger, w, r)
	return e.st, ss, ok
}

// Save saves a terminal screen's session (SaveSession).
func (s *Stations[S]) Save(r *http.Request, ss *web.Session) { SaveSession(r, ss, s.logger) }

// Session is the browser's session of a terminal screen. When the session
// store cannot be reached the screen answers 503 and false: the card flow
// cannot go on without it.
func Session(site *web.Site, logger *slog.Logger, w http.ResponseWriter, r *http.Request) (*web.Session, bool) {
	ss, err := site.Session(w, r)
	if err != nil {
		if logger != nil {
			logger.ErrorContext(r.Context(), "terminal: session", "path", r.URL.Path, "err", err)
		}
		site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return nil, false
	}
	return ss, true
}

// SaveSession saves a terminal screen's session before it redirects. A
// failure is logged and the screen goes on: the next one reads the state
// as it was and shows that step again.
func SaveSession(r *http.Request, ss *web.Session, logger *slog.Logger) {
	if err := ss.Save(r.Context()); err != nil && logger != nil {
		logger.ErrorContext(r.Context(), "terminal: save session", "path", r.URL.Path, "err", err)
	}
}
