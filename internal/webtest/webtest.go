// Package webtest drives mynaplat's HTTP handlers from tests the way a
// browser without JavaScript does, so that each package's tests stop
// rebuilding their own cookie jar, CSRF-token regexp and form poster.
//
// A Client keeps cookies, reads the CSRF token (web.CSRFField) from every
// page it fetches and puts it into the forms it posts, and sends the fetch
// metadata a browser sends, so that web.Site.Protect sees an ordinary
// same-origin browser. Its methods fail the test instead of returning
// errors. A Step is one request with what its answer must show; Run takes a
// slice of them in order with one client, reporting a failure by the step's
// name.
//
// A Client works against an http.Handler (Start serves it on an
// httptest.Server) or any running server (New with its base URL), such as
// the `mynaplat serve` process of cmd/mynaplat's end-to-end tests.
package webtest

import (
	"bytes"
	"encoding/json"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/mynaplat/mynaplat/web"
)

// csrfRE finds the hidden field web.View.CSRFField writes into a form.
var csrfRE = regexp.MustCompile(`name="` + regexp.QuoteMeta(web.CSRFField) + `" value="([^"]*)"`)

// Client is one browser on one server. Its copies made by With, WithHeader
// and Follow share the browser (cookies and token); Fresh starts another.
// It is safe for concurrent use, but a failure calls t.Fatal, which only the
// test's own goroutine may do: from other goroutines use HTTP.
type Client struct {
	t      testing.TB
	base   string
	b      *browser
	follow bool
	header http.Header
}

// browser is what the copies of a Client share.
type browser struct {
	jar    http.CookieJar
	follow *http.Client // follows redirects
	stay   *http.Client // returns a redirect as it is
	mu     sync.Mutex
	token  string
}

func newBrowser(t testing.TB, rt http.RoundTripper) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{
		jar:    jar,
		follow: &http.Client{Jar: jar, Transport: rt},
		stay: &http.Client{Jar: jar, Transport: rt,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
	}
}

// Start serves h on an httptest.Server, closed when the test ends, and
// returns a browser on it that does not follow redirects.
func Start(t testing.TB, h http.Handler) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &Client{t: t, base: srv.URL, b: newBrowser(t, srv.Client().Transport)}
}

// New returns a browser on the server at base (scheme and host, as
// "http://127.0.0.1:8080") that does not follow redirects.
func New(t testing.TB, base string) *Client {
	t.Helper()
	return &Client{t: t, base: strings.TrimSuffix(base, "/"), b: newBrowser(t, nil)}
}

// Fresh returns another browser on the same server: no cookies, no token,
// the same redirect rule, none of the extra headers.
func (c *Client) Fresh() *Client {
	c.t.Helper()
	return &Client{t: c.t, base: c.base, b: newBrowser(c.t, c.b.stay.Transport), follow: c.follow}
}

// With returns the same browser failing t (a subtest's) instead.
func (c *Client) With(t testing.TB) *Client {
	d := *c
	d.t = t
	return &d
}

// Follow returns the same browser following redirects (on) or returning
// them as they are (off).
func (c *Client) Follow(on bool) *Client {
	d := *c
	d.follow = on
	return &d
}

// WithHeader returns the same browser sending the header with every
// request, as an API client sends Authorization.
func (c *Client) WithHeader(key, value string) *Client {
	d := *c
	d.header = c.header.Clone()
	if d.header == nil {
		d.header = http.Header{}
	}
	d.header.Set(key, value)
	return &d
}

// Bearer returns the same browser sending "Authorization: Bearer key" with
// every request, as an API client does; with key "" it returns c, which
// sends none.
func (c *Client) Bearer(key string) *Client {
	if key == "" {
		return c
	}
	return c.WithHeader("Authorization", "Bearer "+key)
}

// URL is the absolute address of path on the client's server.
func (c *Client) URL(path string) string { return c.base + path }

// Base is the server's address: scheme and host.
func (c *Client) Base() string { return c.base }

// HTTP is the browser's http.Client (with its cookies and redirect rule)
// for what the helpers do not cover, such as requests from goroutines.
func (c *Client) HTTP() *http.Client {
	if c.follow {
		return c.b.follow
	}
	return c.b.stay
}

// Token is the CSRF token of the last page that had one.
func (c *Client) Token() string {
	c.b.mu.Lock()
	defer c.b.mu.Unlock()
	return c.b.token
}

// SetCookie stores a cookie for the whole server, as the lang cookie the
// language switch sets.
func (c *Client) SetCookie(name, value string) {
	c.t.Helper()
	u, err := url.Parse(c.base)
	if err != nil {
		c.t.Fatal(err)
	}
	c.b.jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

// Get fetches path.
func (c *Client) Get(path string) *Response {
	c.t.Helper()
	return c.do(&Step{Path: path})
}

// PostForm submits form to path as a browser submits a page's form: with the
// token of the last page, unless form has a csrf entry of its own (even an
// empty one). form is not changed.
func (c *Client) PostForm(path string, form url.Values) *Response {
	c.t.Helper()
	return c.do(&Step{Method: http.MethodPost, Path: path, Form: form})
}

// PostJSON posts v as JSON: a string, []byte or json.RawMessage goes as it
// is (to send malformed JSON), anything else is marshalled.
func (c *Client) PostJSON(path string, v any) *Response {
	c.t.Helper()
	if v == nil {
		v = json.RawMessage("null")
	}
	return c.do(&Step{Method: http.MethodPost, Path: path, JSON: v})
}

// Send sends a step's request as Step does, but checks nothing: for API
// tests that look at the answer themselves, with any method, headers and
// body.
func (c *Client) Send(s Step) *Response {
	c.t.Helper()
	return c.do(&s)
}

// File is one file of a multipart form.
type File struct {
	Field, Name string
	Data        []byte
}

// PostMultipart submits a multipart form (a file upload) with the token of
// the last page, unless fields has a csrf entry.
func (c *Client) PostMultipart(path string, fields url.Values, files ...File) *Response {
	c.t.Helper()
	fields = c.withToken(fields, false)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, vs := range fields {
		for _, v := range vs {
			if err := mw.WriteField(k, v); err != nil {
				c.t.Fatal(err)
			}
		}
	}
	for _, f := range files {
		w, err := mw.CreateFormFile(f.Field, f.Name)
		if err != nil {
			c.t.Fatal(err)
		}
		w.Write(f.Data)
	}
	if err := mw.Close(); err != nil {
		c.t.Fatal(err)
	}
	return c.send(http.MethodPost, path, mw.FormDataContentType(), body.Bytes(), nil)
}

// Step is one request of a scenario and what its answer must show.
type Step struct {
	// Name says what the step does; a failure names it.
	Name string
	// Method is GET, or POST when Form, JSON or NoToken is set.
	Method string
	// Path is the request's path (and query) on the server.
	Path string
	// Form is sent as a browser sends a form, with the token of the last
	// page unless NoToken or Form has its own csrf entry.
	Form url.Values
	// JSON is sent as with PostJSON (as another type when Header sets
	// Content-Type).
	JSON any
	// Header adds request headers; an empty value sends none. Setting
	// Origin or Sec-Fetch-Site (even to "") replaces both of the client's
	// own: to pose as another site, or as a client that is no browser.
	Header map[string]string
	// NoToken sends the form without a CSRF token: a forged post.
	NoToken bool

	// WantStatus is the answer's status; 0 means 200.
	WantStatus int
	// WantContains must all be in the body, WantNotContains none.
	WantContains, WantNotContains []string
	// WantLocation, when set, is the answer's Location header.
	WantLocation string
	// WantHeader are response headers and their values.
	WantHeader map[string]string
	// Check, when set, checks the answer further (and may keep what a
	// later step needs).
	Check func(t testing.TB, r *Response)
}

// Run takes the steps in order with one browser, so that cookies and the
// token carry from step to step. A failing step is reported with its name
// and ends the test: the steps after it would start from the wrong state.
func (c *Client) Run(steps []Step) {
	c.t.Helper()
	for i := range steps {
		c.Step(steps[i])
	}
}

// Step sends one step's request, checks its answer and returns it. A
// mismatch is reported with the step's name and ends the test.
func (c *Client) Step(s Step) *Response {
	c.t.Helper()
	r := c.do(&s)
	where := "step " + strconv.Quote(s.Name) + " (" + r.Method + " " + s.Path + ")"
	var bad []string
	want := s.WantStatus
	if want == 0 {
		want = http.StatusOK
	}
	if r.Status != want {
		bad = append(bad, "status "+strconv.Itoa(r.Status)+", want "+strconv.Itoa(want))
	}
	for _, w := range s.WantContains {
		if !strings.Contains(r.Body, w) {
			bad = append(bad, "the answer lacks "+strconv.Quote(w))
		}
	}
	for _, w := range s.WantNotContains {
		if strings.Contains(r.Body, w) {
			bad = append(bad, "the answer shows "+strconv.Quote(w))
		}
	}
	if s.WantLocation != "" && r.Location() != s.WantLocation {
		bad = append(bad, "Location "+strconv.Quote(r.Location())+", want "+strconv.Quote(s.WantLocation))
	}
	for k, v := range s.WantHeader {
		if got := r.Header.Get(k); got != v {
			bad = append(bad, k+" "+strconv.Quote(got)+", want "+strconv.Quote(v))
		}
	}
	if len(bad) > 0 {
		c.t.Fatalf("%s: %s\n%s", where, strings.Join(bad, "; "), excerpt(r.Body))
	}
	if s.Check != nil {
		st := &stepT{TB: c.t, prefix: where + ": "}
		s.Check(st, r)
		if st.failed {
			c.t.FailNow()
		}
	}
	return r
}

// stepT prefixes what a step's Check reports with the step's name.
type stepT struct {
	testing.TB
	prefix string
	failed bool
}

func (s *stepT) Errorf(format string, args ...any) {
	s.TB.Helper()
	s.failed = true
	s.TB.Errorf(s.prefix+format, args...)
}

func (s *stepT) Error(args ...any) {
	s.TB.Helper()
	s.failed = true
	s.TB.Error(append([]any{s.prefix}, args...)...)
}

func (s *stepT) Fatalf(format string, args ...any) {
	s.TB.Helper()
	s.TB.Fatalf(s.prefix+format, args...)
}

func (s *stepT) Fatal(args ...any) {
	s.TB.Helper()
	s.TB.Fatal(append([]any{s.prefix}, args...)...)
}

// do sends a step's request.
func (c *Client) do(s *Step) *Response {
	c.t.Helper()
	method, ctype, body := s.Method, "", []byte(nil)
	switch {
	case s.JSON != nil:
		ctype = "application/json"
		switch v := s.JSON.(type) {
		case string:
			body = []byte(v)
		case []byte:
			body = v
		case json.RawMessage:
			body = v
		default:
			b, err := json.Marshal(v)
			if err != nil {
				c.t.Fatalf("%s: %v", s.Path, err)
			}
			body = b
		}
	case s.Form != nil || s.NoToken || method == http.MethodPost:
		ctype = "application/x-www-form-urlencoded"
		body = []byte(c.withToken(s.Form, s.NoToken).Encode())
	}
	if method == "" {
		method = http.MethodGet
		if body != nil {
			method = http.MethodPost
		}
	}
	return c.send(method, s.Path, ctype, body, s.Header)
}

// withToken is form with the last page's token added, unless form has one.
func (c *Client) withToken(form url.Values, none bool) url.Values {
	if form.Has(web.CSRFField) || none {
		return form
	}
	out := url.Values{}
	for k, v := range form {
		out[k] = v
	}
	out.Set(web.CSRFField, c.Token())
	return out
}

// send does one request and reads the whole answer.
func (c *Client) send(method, path, ctype string, body []byte, header map[string]string) *Response {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	// What a same-origin browser sends; web.Site.Protect passes it. A
	// caller posing as another site sets its own.
	_, origin := header["Origin"]
	_, site := header["Sec-Fetch-Site"]
	if !origin && !site {
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		if method != http.MethodGet && method != http.MethodHead {
			req.Header.Set("Origin", c.base)
		}
	}
	for k, vs := range c.header {
		req.Header[k] = vs
	}
	for k, v := range header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := c.HTTP().Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: reading the answer: %v", method, path, err)
	}
	r := &Response{t: c.t, Method: method, Status: resp.StatusCode, Header: resp.Header, Body: string(b),
		URL: resp.Request.URL, cookies: resp.Cookies()}
	if m := csrfRE.FindStringSubmatch(r.Body); m != nil {
		c.b.mu.Lock()
		c.b.token = html.UnescapeString(m[1])
		c.b.mu.Unlock()
	}
	return r
}

// Response is an answer, read whole.
type Response struct {
	t      testing.TB
	Method string // the request's
	Status int
	Header http.Header
	Body   string
	// URL is the request's, the last one's when redirects were followed.
	URL     *url.URL
	cookies []*http.Cookie
}

// Location is the Location header (of a redirect not followed).
func (r *Response) Location() string { return r.Header.Get("Location") }

// Path is the path of URL: where a followed redirect ended.
func (r *Response) Path() string { return r.URL.Path }

// Cookie is the cookie the answer set by name, or nil.
func (r *Response) Cookie(name string) *http.Cookie {
	for _, ck := range r.cookies {
		if ck.Name == name {
			return ck
		}
	}
	return nil
}

// flashRE finds the flash message web's layout shows once after a redirect.
var flashRE = regexp.MustCompile(`(?s)<div class="flash flash-(\w+)"[^>]*><p>(.*?)</p>`)

// Flash is the page's flash message: its kind (ok, error …) and its text,
// or two empty strings when the page has none.
func (r *Response) Flash() (kind, text string) {
	if m := flashRE.FindStringSubmatch(r.Body); m != nil {
		return m[1], html.UnescapeString(m[2])
	}
	return "", ""
}

// JSON decodes the body into v, failing the test when it is not JSON.
func (r *Response) JSON(v any) {
	r.t.Helper()
	if err := json.Unmarshal([]byte(r.Body), v); err != nil {
		r.t.Fatalf("%s %s: status %d, body not JSON (%v):\n%s", r.Method, r.URL.Path, r.Status, err, excerpt(r.Body))
	}
}

// excerpt is as much of a body as a failure message should carry.
func excerpt(body string) string {
	const most = 4000
	if len(body) <= most {
		return body
	}
	i := most
	for i > 0 && !utf8.RuneStart(body[i]) {
		i--
	}
	return body[:i] + "\n…"
}
