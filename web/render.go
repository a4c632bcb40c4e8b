package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"slices"
	"strings"
)

// Pages are the parsed page templates of one package.
type Pages struct {
	site  *Site
	pages map[string]*template.Template
}

// Parse parses page templates with the shared layout. Each file NAME.html
// matched by patterns in fsys must define the templates "title" and "content";
// the page is rendered by its NAME. Call it at start-up: any error (a bad
// template, a missing define, no file matched) should stop the program.
func (s *Site) Parse(fsys fs.FS, patterns ...string) (*Pages, error) {
	return s.ParseIn(Layout{FS: templates, Patterns: []string{"templates/layout.html"}}, fsys, patterns...)
}

// Layout is a page layout other than the site's: files of FS matched by
// Patterns that define "layout" (and any partials the pages share), with
// template functions of their own besides the site's, and static files (its
// style sheet and scripts, served under /static/ after the site's own: the
// content security policy allows no inline style or script). The
// terminals' screens use one without the site's header and navigation, so
// that a person at a kiosk cannot walk out of the card flow.
type Layout struct {
	FS       fs.FS
	Patterns []string
	Funcs    template.FuncMap
	Static   fs.FS
}

// ParseIn is Parse with the pages in layout l.
func (s *Site) ParseIn(l Layout, fsys fs.FS, patterns ...string) (*Pages, error) {
	fm := funcs()
	for k, f := range l.Funcs {
		fm[k] = f
	}
	base := template.New("layout").Funcs(fm)
	var layout strings.Builder
	for _, pat := range l.Patterns {
		files, err := fs.Glob(l.FS, pat)
		if err != nil || len(files) == 0 {
			return nil, errorf("layout pattern %q matches no file (%v)", pat, err)
		}
		for _, f := range files {
			src, err := fs.ReadFile(l.FS, f)
			if err != nil {
				return nil, errorf("read layout: %w", err)
			}
			if _, err := base.New(path.Base(f)).Parse(string(src)); err != nil {
				return nil, errorf("parse layout %s: %w", f, err)
			}
			layout.Write(src)
		}
	}
	if base.Lookup("layout") == nil {
		return nil, errorf("the layout does not define %q", "layout")
	}
	if l.Static != nil {
		s.extraMu.Lock()
		if !slices.Contains(s.extra, l.Static) {
			s.extra = append(s.extra, l.Static)
		}
		s.extraMu.Unlock()
	}
	p := &Pages{site: s, pages: map[string]*template.Template{}}
	for _, pat := range patterns {
		files, err := fs.Glob(fsys, pat)
		if err != nil {
			return nil, errorf("pattern %q: %w", pat, err)
		}
		if len(files) == 0 {
			return nil, errorf("pattern %q matches no file", pat)
		}
		for _, f := range files {
			name, ok := strings.CutSuffix(path.Base(f), ".html")
			if !ok {
				return nil, errorf("page %s: the file name must end in .html", f)
			}
			if _, dup := p.pages[name]; dup {
				return nil, errorf("page %s: two files are named %s.html", f, name)
			}
			t, err := base.Clone()
			if err != nil {
				return nil, errorf("page %s: %w", f, err)
			}
			if t, err = t.ParseFS(fsys, f); err != nil {
				return nil, errorf("page %s: %w", f, err)
			}
			src, err := fs.ReadFile(fsys, f)
			if err != nil {
				return nil, errorf("page %s: %w", f, err)
			}
			if dup := loadedTwice(layout.String() + string(src)); dup != "" {
				return nil, errorf("page %s loads %s twice (the layout loads the shared script and style sheet)", f, dup)
			}
			for _, want := range []string{"title", "content"} {
				if t.Lookup(want) == nil {
					return nil, errorf("page %s does not define %q", f, want)
				}
			}
			p.pages[name] = t
		}
	}
	return p, nil
}

// includeRE matches a script's src and a link's href in template source.
var includeRE = regexp.MustCompile(`(?is)<(?:script|link)\b[^>]*?\b(?:src|href)\s*=\s*["']?([^"'\s>]+)`)

// loadedTwice returns a script or style sheet that the template source (the
// layout and a page) loads twice, or "". A script loaded twice runs twice:
// pinpad.js, loaded by the layout and again by the terminal screen, typed
// every digit of the PIN twice and blocked the cards of everyone who used
// the pad (issue 14). The check reads the source, so it holds for every
// branch of a page whatever the data; a page that loads a file in two
// exclusive branches would have to load it once outside them.
func loadedTwice(src string) string {
	seen := map[string]bool{}
	for _, m := range includeRE.FindAllStringSubmatch(src, -1) {
		if seen[m[1]] {
			return m[1]
		}
		seen[m[1]] = true
	}
	return ""
}

// View is what a page template gets as its dot.
type View struct {
	// Lang is "ja" or "en".
	Lang string
	// Path is the request's path (the language switch returns there).
	Path string
	// Data is what the handler passed to Render.
	Data any
	// Flash is the one-time message set before a redirect, if any.
	Flash *Flash
	// Session is the browser's session; nil on an error page rendered when
	// the database is unreachable.
	Session *Session
	csrf    string
}

// T returns ja or en, whichever the page's language is; templates write
// {{$.T "名前" "Name"}}.
func (v *View) T(ja, en string) string {
	if v.Lang == "en" {
		return en
	}
	return ja
}

// OtherLang is the language the switch in the header offers.
func (v *View) OtherLang() string {
	if v.Lang == "en" {
		return "ja"
	}
	return "en"
}

// Flash is a one-time message shown at the top of the next page.
type Flash struct {
	// Kind is "ok", "warn" or "error".
	Kind string
	JA   string
	EN   string
}

// Render renders page name with data at status. The page gets the session
// (started if needed, for the CSRF token) and the pending flash, which it
// consumes. The whole page is rendered before anything is written, so a
// template error becomes a clean 500 rather than half a page.
func (p *Pages) Render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	s := p.site
	t, ok := p.pages[name]
	if !ok {
		s.logger.ErrorContext(r.Context(), "render: no such page", "page", name)
		s.Error(w, r, Problem{Status: http.StatusInternalServerError})
		return
	}
	ss, err := s.Session(w, r)
	if err != nil {
		s.logger.ErrorContext(r.Context(), "render: session", "page", name, "err", err)
		s.Error(w, r, problemUnavailable)
		return
	}
	v := &View{Lang: Lang(r), Path: r.URL.Path, Data: data, Session: ss, csrf: ss.csrf}
	if f := ss.popFlash(); f != nil {
		v.Flash = f
		if err := ss.Save(r.Context()); err != nil {
			s.logger.ErrorContext(r.Context(), "render: consume flash", "err", err)
		}
	}
	if !ss.stored {
		// The page carries the session's CSRF token: the session must be
		// found when its form comes back.
		if err := ss.Save(r.Context()); err != nil {
			s.logger.ErrorContext(r.Context(), "render: session", "page", name, "err", err)
			s.Error(w, r, problemUnavailable)
			return
		}
	}
	if err := p.write(w, t, status, v); err != nil {
		s.logger.ErrorContext(r.Context(), "render", "page", name, "err", err)
		s.Error(w, r, Problem{Status: http.StatusInternalServerError})
	}
}

// write executes t into a buffer and sends it. Pages carry personal data
// and CSRF tokens: no cache may keep them (the back button of a shared kiosk).
func (p *Pages) write(w http.ResponseWriter, t *template.Template, status int, v *View) error {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// Problem describes an error for the person in front of the screen: what
// happened and what to do now, in both languages.
type Problem struct {
	Status           int
	TitleJA, TitleEN string
	WhatJA, WhatEN   string
	DoJA, DoEN       string
}

// Error renders the error page for p in the request's language. Empty texts
// get defaults for the status.
func (s *Site) Error(w http.ResponseWriter, r *http.Request, p Problem) {
	if p.Status == 0 {
		p.Status = http.StatusInternalServerError
	}
	if p.TitleJA == "" && p.TitleEN == "" {
		d := defaultProblem(p.Status)
		p.TitleJA, p.TitleEN = d.TitleJA, d.TitleEN
		if p.WhatJA == "" && p.WhatEN == "" {
			p.WhatJA, p.WhatEN, p.DoJA, p.DoEN = d.WhatJA, d.WhatEN, d.DoJA, d.DoEN
		}
	}
	v := &View{Lang: Lang(r), Path: r.URL.Path, Data: p}
	// The error page has no form, so it needs no session: it must render
	// even when the database is what failed.
	// A session not stored yet (new in this request) is left out: its
	// token would not be found.
	if ss, err := s.loadSession(r); err == nil && ss != nil && ss.stored {
		v.Session, v.csrf = ss, ss.csrf
	}
	if err := s.own.write(w, s.own.pages["error"], p.Status, v); err != nil {
		s.logger.ErrorContext(r.Context(), "render error page", "err", err)
		http.Error(w, fmt.Sprintf("%d %s", p.Status, http.StatusText(p.Status)), p.Status)
	}
}

// Done ends a form's change: it puts f in the session and redirects to
// the page at to, which shows it (post, redirect, get). The change is
// already made, so a session that cannot be saved loses only the message.
func (s *Site) Done(w http.ResponseWriter, r *http.Request, f Flash, to string) {
	ss, err := s.Session(w, r)
	if err == nil {
		ss.SetFlash(f)
		err = ss.Save(r.Context())
	}
	if err != nil {
		s.logger.ErrorContext(r.Context(), "web: the message after a change", "path", r.URL.Path, "err", err)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// NotFound returns the handler of the 404 page.
func (s *Site) NotFound() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.Error(w, r, Problem{Status: http.StatusNotFound})
	})
}

// Problems this package raises.
var (
	problemCSRF = Problem{Status: http.StatusForbidden,
		TitleJA: "この操作は受け付けられませんでした", TitleEN: "This request was not accepted",
		WhatJA: "画面を開いてから時間が経ち有効期限が切れたか、この画面以外から送信されました。",
		WhatEN: "The page expired after a while without use, or the form was not sent from this site.",
		DoJA:   "ホームに戻り、もう一度最初から操作してください。",
		DoEN:   "Go back to the home page and start again."}
	problemCrossOrigin = Problem{Status: http.StatusForbidden,
		TitleJA: "他のサイトからの送信は受け付けません", TitleEN: "Requests from other sites are refused",
		WhatJA: "別のサイトの画面からこのサイトへ送信されました。",
		WhatEN: "A page of another site tried to send a form to this site.",
		DoJA:   "このサイトの画面から操作してください。",
		DoEN:   "Use the pages of this site."}
	problemUnavailable = Problem{Status: http.StatusServiceUnavailable,
		TitleJA: "ただいま処理できません", TitleEN: "Temporarily unavailable",
		WhatJA: "システム内部でデータベースに接続できませんでした。",
		WhatEN: "The system could not reach its database.",
		DoJA:   "しばらく待ってからもう一度お試しください。続く場合は係員にお知らせください。",
		DoEN:   "Wait a moment and try again. If it persists, tell the staff."}
)

// defaultProblem gives texts for a bare status.
func defaultProblem(status int) Problem {
	switch status {
	case http.StatusNotFound:
		return Problem{TitleJA: "ページが見つかりません", TitleEN: "Page not found",
			WhatJA: "お探しのページは存在しないか、移動しました。", WhatEN: "The page does not exist or has moved.",
			DoJA: "ホームに戻って、メニューから選んでください。", DoEN: "Go back to the home page and choose from the menu."}
	case http.StatusForbidden:
		return problemCSRF
	case http.StatusBadRequest:
		return Problem{TitleJA: "入力を処理できません", TitleEN: "The request could not be processed",
			WhatJA: "送信された内容の形式が正しくありません。", WhatEN: "What was sent is not in the expected form.",
			DoJA: "前の画面に戻って、入力を確認してください。", DoEN: "Go back and check what you entered."}
	case http.StatusMethodNotAllowed:
		return Problem{TitleJA: "この操作はできません", TitleEN: "This action is not possible here",
			WhatJA: "このページはその方法では開けません。", WhatEN: "This page cannot be opened that way.",
			DoJA: "ホームに戻ってください。", DoEN: "Go back to the home page."}
	case http.StatusServiceUnavailable:
		return problemUnavailable
	}
	return Problem{TitleJA: "エラーが発生しました", TitleEN: "Something went wrong",
		WhatJA: "システム内部で問題が発生しました。", WhatEN: "An internal problem occurred.",
		DoJA: "しばらく待ってからもう一度お試しください。続く場合は係員にお知らせください。",
		DoEN: "Wait a moment and try again. If it persists, tell the staff."}
}

// StaffStrip is the strip a back-office page shows under the header: who
// is signed in, at which office, in which role, and where to sign out.
type StaffStrip struct {
	Name, Office, OfficeID string
	RoleJA, RoleEN         string
	StaffNumber            string
	// Logout is the office's sign-out action (a POST).
	Logout string
}

// StaffStripper is page data that has a staff strip (a back office's
// pages with a staff member signed in).
type StaffStripper interface{ StaffStrip() *StaffStrip }

// Strip is the page's staff strip, if its data has one.
func (v *View) Strip() *StaffStrip {
	if s, ok := v.Data.(StaffStripper); ok {
		return s.StaffStrip()
	}
	return nil
}
