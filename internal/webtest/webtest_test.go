package webtest_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/web"
)

// site is a small application behind web.Site's protection: a form that
// keeps a name in the session, an upload, and a JSON endpoint that echoes
// its body and Authorization header.
func site(t *testing.T) http.Handler {
	t.Helper()
	ctx := context.Background()
	s, err := web.New(ctx, web.Options{DB: storetest.SQLite(t)})
	if err != nil {
		t.Fatal(err)
	}
	pages, err := s.Parse(fstest.MapFS{"form.html": {Data: []byte(`{{define "title"}}{{$.T "フォーム" "Form"}}{{end}}
{{define "content"}}<form method="post" action="/form">{{$.CSRFField}}<p id="name">{{.Data}}</p></form>{{end}}`)}}, "*.html")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	s.Routes(mux)
	mux.HandleFunc("GET /form", func(w http.ResponseWriter, r *http.Request) {
		ss, err := s.Session(w, r)
		if err != nil {
			t.Error(err)
			return
		}
		pages.Render(w, r, http.StatusOK, "form", ss.Get("name"))
	})
	mux.HandleFunc("POST /form", func(w http.ResponseWriter, r *http.Request) {
		ss, err := s.Session(w, r)
		if err != nil {
			t.Error(err)
			return
		}
		ss.Set("name", r.PostFormValue("name"))
		ss.SetFlash(web.Flash{Kind: "ok", JA: "保存しました <" + r.PostFormValue("name") + ">", EN: "Saved"})
		if err := ss.Save(r.Context()); err != nil {
			t.Error(err)
		}
		http.Redirect(w, r, "/form", http.StatusSeeOther)
	})
	mux.HandleFunc("POST /upload", func(w http.ResponseWriter, r *http.Request) {
		f, h, err := r.FormFile("doc")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		b, _ := io.ReadAll(f)
		fmt.Fprintf(w, "%s %s %s", h.Filename, b, r.PostFormValue("note"))
	})
	mux.HandleFunc("POST /api", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"auth":%q,"body":%q,"type":%q}`, r.Header.Get("Authorization"), b, r.Header.Get("Content-Type"))
	})
	return s.Protect(mux)
}

// TestCSRFRoundTrip: the token of the page goes into the form, the session
// cookie carries the name to the next page, and web.Site refuses what a
// browser would not send: no session, no token, another site's post.
func TestCSRFRoundTrip(t *testing.T) {
	c := webtest.Start(t, site(t))
	c.Run([]webtest.Step{
		{Name: "open the form", Path: "/form", WantContains: []string{`name="csrf"`}},
		{Name: "send a name", Path: "/form", Form: map[string][]string{"name": {"須坂　花子"}}, WantStatus: http.StatusSeeOther, WantLocation: "/form"},
		{Name: "the name is kept, with a flash", Path: "/form", WantContains: []string{`<p id="name">須坂　花子</p>`},
			Check: func(t testing.TB, r *webtest.Response) {
				if kind, text := r.Flash(); kind != "ok" || text != "保存しました <須坂　花子>" {
					t.Errorf("flash %q %q", kind, text)
				}
			}},
		{Name: "the flash is shown once", Path: "/form", Check: func(t testing.TB, r *webtest.Response) {
			if kind, text := r.Flash(); kind != "" || text != "" {
				t.Errorf("flash %q %q", kind, text)
			}
		}},
		{Name: "no token", Path: "/form", Form: map[string][]string{"name": {"x"}}, NoToken: true, WantStatus: http.StatusForbidden},
		{Name: "wrong token", Path: "/form", Form: map[string][]string{"name": {"x"}, "csrf": {"forged"}}, WantStatus: http.StatusForbidden},
		{Name: "another site", Path: "/form", Form: map[string][]string{"name": {"x"}}, Header: map[string]string{"Origin": "http://evil.example"},
			WantStatus: http.StatusForbidden},
		{Name: "another site by fetch metadata", Path: "/form", Form: map[string][]string{"name": {"x"}},
			Header: map[string]string{"Sec-Fetch-Site": "cross-site"}, WantStatus: http.StatusForbidden},
		{Name: "nothing refused was kept", Path: "/form", WantContains: []string{`<p id="name">須坂　花子</p>`}},
	})

	// Another browser has its own session and token: the first one's token
	// is refused, and it does not see the name.
	other := c.Fresh()
	if r := other.PostForm("/form", map[string][]string{"name": {"x"}, "csrf": {c.Token()}}); r.Status != http.StatusForbidden {
		t.Errorf("a token without its session: %d", r.Status)
	}
	if r := other.Get("/form"); strings.Contains(r.Body, "須坂") || other.Token() == "" || other.Token() == c.Token() {
		t.Errorf("another browser: token %q (first %q), sees the name %v", other.Token(), c.Token(), strings.Contains(r.Body, "須坂"))
	}
	if r := other.Follow(true).PostForm("/form", map[string][]string{"name": {"南砺"}}); r.Status != http.StatusOK || r.Path() != "/form" ||
		!strings.Contains(r.Body, "南砺") {
		t.Errorf("a followed post ends at %s with %d", r.Path(), r.Status)
	}
}

// TestSessionCookie: the answer's Set-Cookie is there to inspect, and a
// cookie set by the test goes with the next request.
func TestSessionCookie(t *testing.T) {
	c := webtest.Start(t, site(t))
	r := c.Get("/form")
	if ck := r.Cookie(web.SessionCookie); ck == nil || !ck.HttpOnly {
		t.Errorf("session cookie %+v", ck)
	}
	c.SetCookie("lang", "en")
	c.Step(webtest.Step{Name: "English", Path: "/form", WantContains: []string{`<html lang="en">`, "Form"}})
	if r := c.Get("/form"); r.Cookie(web.SessionCookie) != nil {
		t.Error("the session cookie was set again: the jar did not send it")
	}
}

func TestPostJSONAndUpload(t *testing.T) {
	c := webtest.Start(t, site(t))
	if c.Bearer("") != c {
		t.Error(`Bearer("") made a copy`)
	}
	api := c.Bearer("k1")
	var got map[string]string
	api.PostJSON("/api", map[string]int{"n": 1}).JSON(&got)
	if diff := cmp.Diff(map[string]string{"auth": "Bearer k1", "body": `{"n":1}`, "type": "application/json"}, got); diff != "" {
		t.Errorf("JSON post (-want +got):\n%s", diff)
	}
	api.PostJSON("/api", `{"n":`).JSON(&got)
	if got["body"] != `{"n":` {
		t.Errorf("a string went as %q", got["body"])
	}
	// The header stays with the copy.
	c.PostJSON("/api", nil).JSON(&got)
	if got["auth"] != "" {
		t.Errorf("the original client sent %q", got["auth"])
	}

	api.Send(webtest.Step{Path: "/api", JSON: "a,b", Header: map[string]string{"Content-Type": "text/csv"}}).JSON(&got)
	if got["type"] != "text/csv" || got["body"] != "a,b" {
		t.Errorf("a CSV body went as %q", got)
	}
	r := c.Send(webtest.Step{Method: http.MethodPut, Path: "/api", JSON: "x"})
	if r.Status != http.StatusMethodNotAllowed || r.Method != http.MethodPut {
		t.Errorf("PUT: %d %s", r.Status, r.Method)
	}

	c.Get("/form")
	r = c.PostMultipart("/upload", map[string][]string{"note": {"メモ"}}, webtest.File{Field: "doc", Name: "a.pdf", Data: []byte("%PDF")})
	if r.Status != http.StatusOK || r.Body != "a.pdf %PDF メモ" {
		t.Errorf("upload: %d %q", r.Status, r.Body)
	}
	if r := c.Fresh().PostMultipart("/upload", nil, webtest.File{Field: "doc", Name: "a.pdf"}); r.Status != http.StatusForbidden {
		t.Errorf("upload without a session: %d", r.Status)
	}
}

// TestRunningServer: New drives a server that runs already, by its URL.
func TestRunningServer(t *testing.T) {
	srv := httptest.NewServer(site(t))
	defer srv.Close()
	c := webtest.New(t, srv.URL+"/")
	c.Get("/form")
	c.Step(webtest.Step{Name: "post", Path: "/form", Form: map[string][]string{"name": {"前橋"}}, WantStatus: http.StatusSeeOther})
	c.Step(webtest.Step{Name: "kept", Path: "/form", WantContains: []string{"前橋"}})
	if c.URL("/x") != srv.URL+"/x" {
		t.Errorf("URL %q", c.URL("/x"))
	}
}

// recorder is a testing.TB that keeps what fails instead of failing.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	msgs   []string
	failed bool
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
	r.failed = true
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	r.FailNow()
}

func (r *recorder) FailNow() {
	r.mu.Lock()
	r.failed = true
	r.mu.Unlock()
	runtime.Goexit()
}

// runRecorded runs f with a recorder on a goroutine of its own, as the
// testing package runs a test, so that FailNow ends only f.
func runRecorded(t *testing.T, f func(tb testing.TB)) *recorder {
	rec := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(rec)
	}()
	<-done
	return rec
}

// TestFailingStepNamesIt: a failing step's message names the step and what
// is wrong, and the steps after it do not run.
func TestFailingStepNamesIt(t *testing.T) {
	h := site(t)
	tests := []struct {
		name  string
		steps []webtest.Step
		want  []string
	}{
		{"status", []webtest.Step{
			{Name: "open the form", Path: "/form"},
			{Name: "post without a token", Path: "/form", NoToken: true, WantStatus: http.StatusSeeOther},
			{Name: "never reached", Path: "/nowhere"},
		}, []string{`step "post without a token" (POST /form): status 403, want 303`}},
		{"contents and location", []webtest.Step{
			{Name: "post", Path: "/form", Form: map[string][]string{"csrf": {"x"}}, WantStatus: http.StatusForbidden,
				WantContains: []string{"no such text"}, WantNotContains: []string{"<html"}, WantLocation: "/there"},
		}, []string{`step "post" (POST /form): the answer lacks "no such text"; the answer shows "<html"; Location "", want "/there"`}},
		{"check", []webtest.Step{
			{Name: "look closer", Path: "/form", Check: func(t testing.TB, r *webtest.Response) { t.Errorf("status was %d", r.Status) }},
			{Name: "never reached", Path: "/nowhere"},
		}, []string{`step "look closer" (GET /form): status was 200`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := runRecorded(t, func(tb testing.TB) { webtest.Start(t, h).With(tb).Run(tt.steps) })
			if !rec.failed || len(rec.msgs) != len(tt.want) {
				t.Fatalf("failed %v, messages %q; want %q", rec.failed, rec.msgs, tt.want)
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(rec.msgs[i], w) {
					t.Errorf("message %q, want it to start with %q", rec.msgs[i], w)
				}
				if strings.Contains(rec.msgs[i], "never reached") {
					t.Errorf("a step after the failing one ran: %q", rec.msgs[i])
				}
			}
		})
	}
	rec := runRecorded(t, func(tb testing.TB) {
		webtest.Start(t, h).With(tb).Run([]webtest.Step{{Name: "fine", Path: "/form"}, {Name: "fine too", Path: "/form", WantContains: []string{"csrf"}}})
	})
	if rec.failed {
		t.Errorf("passing steps failed: %q", rec.msgs)
	}
}
