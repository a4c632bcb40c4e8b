package web

import (
	"context"
	"crypto/subtle"
	"fmt"
	"html/template"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// CSRFField is the form field, and CSRFHeader the request header, that carry
// the session's CSRF token.
const (
	CSRFField  = "csrf"
	CSRFHeader = "X-CSRF-Token"
)

// contentSecurityPolicy allows only this site's own files: no inline script
// or style, no framing (clickjacking), forms posting only here.
const contentSecurityPolicy = "default-src 'self'; img-src 'self' data:; object-src 'none'; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// AllowFormAction lets the page about to be written post its forms to the
// origins too (each "scheme://host[:port]"; anything after it is dropped),
// besides this site. It is for the one page that hands a login to another
// host (the staff terminal's hand-over), with origins from configuration,
// never from the request. Call it before the page is written.
func AllowFormAction(w http.ResponseWriter, origins ...string) error {
	allowed := []string{"'self'"}
	for _, o := range origins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.ContainsAny(u.Host, " ;,'") {
			return fmt.Errorf("web: form action origin %q", o)
		}
		allowed = append(allowed, u.Scheme+"://"+u.Host)
	}
	w.Header().Set("Content-Security-Policy", strings.Replace(contentSecurityPolicy, "form-action 'self'",
		"form-action "+strings.Join(allowed, " "), 1))
	return nil
}

// exemptRoute marks the routes of CrossOriginLogin and MachineAPI.
type exemptRoute struct{}

func (exemptRoute) ServeHTTP(http.ResponseWriter, *http.Request) {}

// CrossOriginLogin exempts exactly one route, a ServeMux pattern with its
// method ("POST /municipal/{code}/office/login"), from both checks of
// Protect: the cross-origin check and the CSRF token. It is for a login
// endpoint that a page of another origin posts to (the staff terminal's
// hand-over to an office on another host) and that authenticates the post
// itself: a one-time state bound to this browser's session, which a
// cross-site page cannot read, and a signed assertion. Every other route
// stays protected. Registering a pattern again does nothing.
func (s *Site) CrossOriginLogin(pattern string) { s.exempt(pattern) }

// MachineAPI exempts exactly one route, a ServeMux pattern ("/tsa"), from
// both checks of Protect, as CrossOriginLogin does. It is for an API that
// programs call from anywhere, never a browser's session: one that reads
// no cookie and no session, acts for no signed-in user, and so gives a
// forged cross-site request nothing a direct request would not get (the
// time-stamp authority of RFC 3161 §3.4, whose clients send no Origin, or
// a browser's of any origin). Such a route answers every caller alike; one
// that needs the caller authenticated does it per request (a caller key, a
// bearer token), not by the site's cookie. Registering a pattern again
// does nothing.
func (s *Site) MachineAPI(pattern string) { s.exempt(pattern) }

func (s *Site) exempt(pattern string) {
	s.crossMu.Lock()
	defer s.crossMu.Unlock()
	if s.crossSeen[pattern] {
		return
	}
	s.crossOrigin.Handle(pattern, exemptRoute{})
	s.crossSeen[pattern] = true
}

// exempted reports whether r is a request to a route of CrossOriginLogin
// or MachineAPI itself (not one the mux would redirect there).
func (s *Site) exempted(r *http.Request) bool {
	h, _ := s.crossOrigin.Handler(r)
	_, ok := h.(exemptRoute)
	return ok
}

// Protect wraps the whole application. It sets security headers on every
// answer and guards every POST, PUT, PATCH and DELETE twice:
//
//  1. net/http's CrossOriginProtection refuses requests that browsers mark as
//     cross-site (Sec-Fetch-Site) or whose Origin is another host;
//  2. a browser form submission must carry the session's token in the form
//     field "csrf" or the header X-CSRF-Token.
//
// The routes of CrossOriginLogin and MachineAPI are exempt from both.
//
// The token is required of requests a cross-site page could send without a
// CORS preflight — bodies of type application/x-www-form-urlencoded,
// multipart/form-data, text/plain or none — unless they carry an
// Authorization header: such API clients authenticate explicitly, not by an
// ambient cookie. That leaves OCSP (application/ocsp-request), JSON APIs and
// bearer-token APIs to their own authentication. A refused request gets the
// 403 error page.
func (s *Site) Protect(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		r = r.WithContext(context.WithValue(r.Context(), stateKey{}, &reqState{}))
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			next.ServeHTTP(w, r)
			return
		}
		if s.exempted(r) {
			next.ServeHTTP(w, r)
			return
		}
		if err := s.cop.Check(r); err != nil {
			s.logger.Info("refused a cross-origin request", "method", r.Method, "path", r.URL.Path)
			s.Error(w, r, problemCrossOrigin)
			return
		}
		if needsToken(r) {
			ok, err := s.validToken(r)
			if err != nil {
				s.logger.Error("CSRF check", "err", err)
				s.Error(w, r, problemUnavailable)
				return
			}
			if !ok {
				s.logger.Info("refused a form without a valid CSRF token", "method", r.Method, "path", r.URL.Path)
				s.Error(w, r, problemCSRF)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// needsToken reports whether r is a request a cross-site form could forge.
func needsToken(r *http.Request) bool {
	if r.Header.Get("Authorization") != "" {
		return false
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return true
	}
	switch mt {
	case "application/x-www-form-urlencoded", "multipart/form-data", "text/plain":
		return true
	}
	return false
}

// validToken compares the request's token with its session's, in constant
// time. Without a live session no token is valid: the session expired, or the
// form was never served to this browser.
func (s *Site) validToken(r *http.Request) (bool, error) {
	got := r.Header.Get(CSRFHeader)
	if got == "" {
		got = r.PostFormValue(CSRFField)
	}
	if got == "" {
		return false, nil
	}
	ss, err := s.loadSession(r)
	if err != nil || ss == nil {
		return false, err
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(ss.csrf)) != 1 {
		return false, nil
	}
	if st := stateOf(r); st != nil {
		st.session = ss
	}
	return true, nil
}

// CSRFField returns the hidden form field with the session's token; put it
// into every form that posts.
func (v *View) CSRFField() template.HTML {
	return template.HTML(`<input type="hidden" name="` + CSRFField + `" value="` +
		template.HTMLEscapeString(v.csrf) + `">`)
}
