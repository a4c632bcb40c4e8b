package staff

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Office is one kind of office as its gate needs to know it: every back
// office (municipal, insurer, clinic, agency, business, …) describes
// itself with one, and NewOfficeGate makes its gate, so that no office
// fills in a GateConfig of its own.
type Office struct {
	// Kind is the kind of its office IDs ("agency" of "agency:tax-sakata").
	Kind string
	// PathValue names the path value with the office's own ID ("code" in
	// /municipal/{code}/office/).
	PathValue string
	// ID is the one office of a gate whose paths name none (the JPKI
	// counter of the process's town, the platform operator), in place of
	// Kind and PathValue.
	ID string
	// Home is the first page of the office with that ID, ending in "/".
	Home func(id string) string
	// Name is the office's display name, or an error for an ID that is no
	// office's (its pages then answer 404).
	Name func(ctx context.Context, id string) (string, error)
}

// NewOfficeGate is the gate of one kind of office: cfg is what every
// office of a deployment shares (the site, the directory, the platform's
// keys and issuer, the staff terminal, the logger), o the office's own.
func NewOfficeGate(cfg GateConfig, o Office) (*Gate, error) {
	if o.Home == nil || o.Name == nil {
		return nil, errors.New("staff: an office needs its home and its name")
	}
	if o.ID != "" {
		if _, err := OfficeKind(o.ID); err != nil {
			return nil, err
		}
		cfg.Office = func(r *http.Request) (string, string, error) {
			name, err := o.Name(r.Context(), o.ID)
			return o.ID, name, err
		}
		cfg.Home = o.Home
		return NewGate(cfg)
	}
	if _, ok := officeKinds[o.Kind]; !ok || !officeKinds[o.Kind] || o.PathValue == "" {
		return nil, errors.New("staff: an office needs a kind with IDs and the path value of its ID, or its one ID")
	}
	cfg.Office = func(r *http.Request) (string, string, error) {
		id := o.Kind + ":" + r.PathValue(o.PathValue)
		if _, err := OfficeKind(id); err != nil {
			return "", "", err
		}
		name, err := o.Name(r.Context(), r.PathValue(o.PathValue))
		if err != nil {
			return "", "", fmt.Errorf("staff: office %s: %w", id, err)
		}
		return id, name, nil
	}
	cfg.Home = func(office string) string { return o.Home(strings.TrimPrefix(office, o.Kind+":")) }
	return NewGate(cfg)
}

// Mount registers the gate's own routes under home, the pattern of the
// office's first page ("/municipal/{code}/office/"): the sign-in page
// (GET home+"signin"), the login endpoint (POST home+"login", which is
// LoginPath's) and the logout (POST home+"logout"). The login endpoint is
// the one route of an office that the staff terminal's page posts to from
// another origin when the desk runs on another host: it is exempt from
// the site's cross-origin check and CSRF token (web.Site.CrossOriginLogin),
// since the one-time state bound to this browser's session and the signed
// assertion guard it instead. The signing handoff's desk API (handoff.go)
// is POST home+"sign/desk", which the staff terminals' server calls with
// no cookie (web.Site.MachineAPI); the office's own route that takes the
// desk's signature back (SignedAtDesk) is exempt as the login is, by the
// office (web.Site.CrossOriginLogin), for the same reason.
func (g *Gate) Mount(mux *http.ServeMux, home string) {
	login := "POST " + home + "login"
	g.cfg.Site.CrossOriginLogin(login)
	mux.HandleFunc("GET "+home+"signin", g.SignIn)
	mux.HandleFunc(login, g.Login)
	mux.HandleFunc("POST "+home+"logout", g.Logout)
	// The desk API of the signing handoff (handoff.go): called by the
	// staff terminals' server, with no cookie.
	desk := "POST " + home + "sign/desk"
	g.cfg.Site.MachineAPI(desk)
	mux.HandleFunc(desk, g.signDesk)
}
