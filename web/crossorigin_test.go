package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/web"
)

// TestCrossOriginLogin: a route of CrossOriginLogin takes a post from a
// page of another origin without a CSRF token; every other POST, the same
// office's logout and a path that only redirects to the login included,
// is still refused.
func TestCrossOriginLogin(t *testing.T) {
	site, err := web.New(context.Background(), web.Options{DB: storetest.SQLite(t)})
	if err != nil {
		t.Fatal(err)
	}
	site.CrossOriginLogin("POST /office/{id}/login")
	site.CrossOriginLogin("POST /office/{id}/login") // again: nothing
	mux := http.NewServeMux()
	ok := func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "reached "+r.URL.Path) }
	mux.HandleFunc("POST /office/{id}/login", ok)
	mux.HandleFunc("POST /office/{id}/logout", ok)
	mux.HandleFunc("POST /office/{id}/login/more", ok)
	mux.HandleFunc("GET /office/{id}/login", ok)
	c := webtest.Start(t, site.Protect(mux))
	sameSite := map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "http://desk.example:8080"}
	crossSite := map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "http://evil.example"}
	oldBrowser := map[string]string{"Origin": "http://desk.example:8080"}
	for _, tc := range []struct {
		name, method, path string
		header             map[string]string
		want               int
	}{
		{"the login from the desk's origin", http.MethodPost, "/office/a/login", sameSite, http.StatusOK},
		{"the login from any origin (its state and assertion decide)", http.MethodPost, "/office/a/login", crossSite, http.StatusOK},
		{"the login from a browser without fetch metadata", http.MethodPost, "/office/a/login", oldBrowser, http.StatusOK},
		{"the logout from another origin", http.MethodPost, "/office/a/logout", sameSite, http.StatusForbidden},
		{"a route under the login", http.MethodPost, "/office/a/login/more", sameSite, http.StatusForbidden},
		{"a path that redirects to the login", http.MethodPost, "/office/a/./login", sameSite, http.StatusForbidden},
		{"the logout without a token from this origin", http.MethodPost, "/office/a/logout", nil, http.StatusForbidden},
		{"the login's GET (never guarded)", http.MethodGet, "/office/a/login", crossSite, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := webtest.Step{Name: tc.name, Method: tc.method, Path: tc.path, Header: tc.header, NoToken: true, WantStatus: tc.want}
			if tc.method == http.MethodPost {
				s.Form = url.Values{"state": {"x"}}
			}
			if tc.want == http.StatusOK {
				s.WantContains = []string{"reached"}
			}
			c.Fresh().With(t).Step(s)
		})
	}
}

// TestMachineAPI: a route of MachineAPI is answered whatever the origin,
// with or without fetch metadata and without a CSRF token, whatever its
// body's type; the routes beside it stay protected.
func TestMachineAPI(t *testing.T) {
	site, err := web.New(context.Background(), web.Options{DB: storetest.SQLite(t)})
	if err != nil {
		t.Fatal(err)
	}
	site.MachineAPI("/tsa")
	site.MachineAPI("/tsa") // again: nothing
	mux := http.NewServeMux()
	ok := func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "reached "+r.URL.Path) }
	mux.HandleFunc("/tsa", ok)
	mux.HandleFunc("POST /tsa/other", ok)
	h := site.Protect(mux)
	crossSite := map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "http://evil.example"}
	foreign := map[string]string{"Origin": "http://relying-party.example"}
	for _, tc := range []struct {
		name, path, contentType string
		header                  map[string]string
		want                    int
	}{
		{"a program without Origin or fetch metadata", "/tsa", "application/timestamp-query", nil, http.StatusOK},
		{"a foreign Origin", "/tsa", "application/timestamp-query", foreign, http.StatusOK},
		{"a cross-site browser", "/tsa", "application/timestamp-query", crossSite, http.StatusOK},
		{"a form body (the API refuses it itself)", "/tsa", "application/x-www-form-urlencoded", crossSite, http.StatusOK},
		{"no body type", "/tsa", "", nil, http.StatusOK},
		{"a route beside it, cross-site", "/tsa/other", "application/timestamp-query", crossSite, http.StatusForbidden},
		{"a route beside it, a form", "/tsa/other", "application/x-www-form-urlencoded", nil, http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "http://mynaplat.example"+tc.path, strings.NewReader("0"))
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.want || (tc.want == http.StatusOK && !strings.Contains(rec.Body.String(), "reached")) {
				t.Errorf("HTTP %d %q, want %d", rec.Code, rec.Body.String(), tc.want)
			}
		})
	}
}

// TestAllowFormAction: the hand-over page may post to the origins given,
// and to nothing else; a bad origin changes nothing.
func TestAllowFormAction(t *testing.T) {
	site, err := web.New(context.Background(), web.Options{DB: storetest.SQLite(t)})
	if err != nil {
		t.Fatal(err)
	}
	var allowErr error
	h := site.Protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o := r.URL.Query().Get("to"); o != "" {
			allowErr = web.AllowFormAction(w, o)
		}
	}))
	csp := func(q string) string {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/"+q, nil))
		return rec.Header().Get("Content-Security-Policy")
	}
	if got := csp(""); !strings.Contains(got, "form-action 'self';") {
		t.Errorf("a page: %q", got)
	}
	if got := csp("?to=" + url.QueryEscape("http://127.0.0.4:8081/municipal/062049/office/login")); !strings.Contains(got, "form-action 'self' http://127.0.0.4:8081;") || allowErr != nil {
		t.Errorf("the hand-over: %q, %v", got, allowErr)
	}
	for _, bad := range []string{"javascript:alert(1)", "http://a.example; script-src *", "/relative"} {
		if got := csp("?to=" + url.QueryEscape(bad)); !strings.Contains(got, "form-action 'self';") || allowErr == nil {
			t.Errorf("origin %q: %q, %v", bad, got, allowErr)
		}
	}
}

// TestSessionCookieName: a site named its own session cookie sets that one
// and reads only that one, so two processes on one host at other ports
// keep their sessions apart; a name that is no cookie name stops New.
func TestSessionCookieName(t *testing.T) {
	db := storetest.SQLite(t)
	site, err := web.New(context.Background(), web.Options{DB: db, SessionCookie: "mynaplat_session_desk"})
	if err != nil {
		t.Fatal(err)
	}
	h := site.Protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ss, err := site.Session(w, r)
		if err != nil {
			t.Fatal(err)
		}
		if err := ss.Save(r.Context()); err != nil {
			t.Fatal(err)
		}
	}))
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: "another-process-session"})
	h.ServeHTTP(rec, req)
	var names []string
	for _, c := range rec.Result().Cookies() {
		names = append(names, c.Name)
	}
	if len(names) != 1 || names[0] != "mynaplat_session_desk" {
		t.Errorf("cookies set %v, want only mynaplat_session_desk", names)
	}
	if _, err := web.New(context.Background(), web.Options{DB: db, SessionCookie: "no; name"}); err == nil {
		t.Error("a bad cookie name was taken")
	}
}
