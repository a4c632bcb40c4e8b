package web

import (
	"context"
	"net/http"
	"strings"

	"github.com/mynaplat/mynaplat/internal/ratelimit"
)

// StaffGate keeps the staff of a back office logged in: a staff key the
// office issued, checked by Check, and the staff member's name, which every
// audited action then carries. An office is named by the path value "id";
// its pages live under Base(id), with the login and logout forms posting to
// Base(id)+"login" and Base(id)+"logout".
type StaffGate struct {
	Site *Site
	// Scope keeps different kinds of office apart in one session.
	Scope string
	// Title names the back office on the login page.
	TitleJA, TitleEN string
	// Name returns the office's display name, or an error for an unknown one.
	Name func(ctx context.Context, id string) (string, error)
	// Check accepts or refuses a staff key for an office.
	Check func(ctx context.Context, id, key string) error
	// Base is the office's back-office path, ending in "/".
	Base func(id string) string
}

type staffLogin struct {
	TitleJA, TitleEN, Name, Action string
	// Problem says what was wrong with the last try: "key" or "name".
	Problem string
	// Staff is the name typed, kept when the key was wrong.
	Staff string
}

// Only runs h for staff logged in to the path's office; others get the
// login form (for GET) or a refusal that changed nothing.
func (g *StaffGate) Only(h func(w http.ResponseWriter, r *http.Request, staff string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		name, err := g.Name(r.Context(), id)
		if err != nil {
			g.Site.Error(w, r, Problem{Status: http.StatusNotFound})
			return
		}
		ss, err := g.Site.Session(w, r)
		if err != nil {
			g.Site.Error(w, r, Problem{Status: http.StatusServiceUnavailable})
			return
		}
		staff := ss.Get(g.Scope + ":" + id)
		if staff == "" {
			if r.Method != http.MethodGet {
				g.Site.Error(w, r, Problem{Status: http.StatusForbidden, TitleJA: "ログインしてください", TitleEN: "Please log in",
					WhatJA: "ログインしていないため、何も行われていません。", WhatEN: "You are not logged in; nothing was done.",
					DoJA: "ログインしてからやり直してください。", DoEN: "Log in and try again."})
				return
			}
			g.Site.own.Render(w, r, http.StatusOK, "staff_login", staffLogin{TitleJA: g.TitleJA, TitleEN: g.TitleEN, Name: name, Action: g.Base(id) + "login"})
			return
		}
		h(w, r, staff)
	}
}

// Login checks the key and the name and logs the staff member in.
func (g *StaffGate) Login(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	name, err := g.Name(r.Context(), id)
	if err != nil {
		g.Site.Error(w, r, Problem{Status: http.StatusNotFound})
		return
	}
	account, source := g.Scope+":"+id, ratelimit.Source(r)
	if d := g.Site.logins.Check(account, source); d > 0 {
		g.Site.TooMany(w, r, d)
		return
	}
	staff := strings.TrimSpace(r.PostFormValue("staff"))
	problem := ""
	if staff == "" || len([]rune(staff)) > 40 {
		problem = "name"
	}
	keyErr := g.Check(r.Context(), id, strings.TrimSpace(r.PostFormValue("key")))
	if keyErr != nil {
		problem = "key"
	}
	g.Site.logins.Done(account, source, keyErr == nil)
	if problem != "" {
		g.Site.logger.InfoContext(r.Context(), "back office: login refused", "scope", g.Scope, "office", id, "problem", problem)
		if len([]rune(staff)) > 40 {
			staff = ""
		}
		g.Site.own.Render(w, r, http.StatusUnauthorized, "staff_login", staffLogin{TitleJA: g.TitleJA, TitleEN: g.TitleEN, Name: name,
			Action: g.Base(id) + "login", Problem: problem, Staff: staff})
		return
	}
	ss, err := g.Site.Session(w, r)
	if err != nil {
		g.Site.Error(w, r, Problem{Status: http.StatusServiceUnavailable})
		return
	}
	ss.Set(g.Scope+":"+id, staff)
	ss.SetFlash(Flash{Kind: "ok", JA: "ログインしました。閲覧と操作はすべて記録されます。", EN: "Logged in. Every view and action is recorded."})
	if err := ss.Save(r.Context()); err != nil {
		g.Site.Error(w, r, Problem{Status: http.StatusServiceUnavailable})
		return
	}
	http.Redirect(w, r, g.Base(id), http.StatusSeeOther)
}

// Logout ends the staff member's login.
func (g *StaffGate) Logout(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	ss, err := g.Site.Session(w, r)
	if err != nil {
		g.Site.Error(w, r, Problem{Status: http.StatusServiceUnavailable})
		return
	}
	ss.Delete(g.Scope + ":" + id)
	if err := ss.Save(r.Context()); err != nil {
		g.Site.Error(w, r, Problem{Status: http.StatusServiceUnavailable})
		return
	}
	http.Redirect(w, r, g.Base(id), http.StatusSeeOther)
}
