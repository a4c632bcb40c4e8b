package eligibility

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/web"
)

// officeEnv is the back office on a test server, with insurer A's key.
type officeEnv struct {
	s      *Service
	srv    *httptest.Server
	keyA   string
	client *http.Client
}

const officeInsurerA = "39123456"

func newOfficeEnv(t *testing.T, db *store.DB) *officeEnv {
	t.Helper()
	ctx := context.Background()
	s := open(t, db)
	key, err := s.AddInsurer(ctx, officeInsurerA, "酒田市後期高齢者医療")
	if err != nil {
		t.Fatal(err)
	}
	site, err := web.New(ctx, web.Options{DB: db, Now: s.now})
	if err != nil {
		t.Fatal(err)
	}
	op, err := s.OfficePages(site)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	site.Routes(mux)
	op.Routes(mux)
	srv := httptest.NewServer(site.Protect(mux))
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &officeEnv{s: s, srv: srv, keyA: key, client: c}
}

var officeCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// officeGet fetches a page and returns its status, body and CSRF token.
func (e *officeEnv) get(t *testing.T, path string) (int, string, string) {
	t.Helper()
	resp, err := e.client.Get(e.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	tok := ""
	if m := officeCSRF.FindSubmatch(b); m != nil {
		tok = string(m[1])
	}
	return resp.StatusCode, string(b), tok
}

func (e *officeEnv) post(t *testing.T, path, token string, v url.Values) (int, string) {
	t.Helper()
	v.Set("csrf", token)
	resp, err := e.client.PostForm(e.srv.URL+path, v)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (e *officeEnv) login(t *testing.T, key string) int {
	t.Helper()
	_, _, tok := e.get(t, "/insurer/login")
	code, _ := e.post(t, "/insurer/login", tok, url.Values{"insurer": {officeInsurerA}, "key": {key}, "staff": {"庄内 花子"}})
	return code
}

// TestOfficePagesKeepToTheirInsurer: another insurer's record is a 404, a
// page of personal data leaves an access row, and the record page never
// shows the platform ID.
func TestOfficePagesKeepToTheirInsurer(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newOfficeEnv(t, db)
		if code, _, _ := e.get(t, "/insurer/"); code != http.StatusSeeOther {
			t.Fatalf("logged out: %d, want a redirect to the login", code)
		}
		if code := e.login(t, "insurer_wrong"); code != http.StatusUnauthorized {
			t.Fatalf("wrong key: %d", code)
		}
		if code := e.login(t, e.keyA); code != http.StatusSeeOther {
			t.Fatalf("login: %d", code)
		}
		own, err := e.s.AddInsured(ctx, insured(officeInsurerA, "1", ichiro, day(2020, 4, 1)))
		if err != nil {
			t.Fatal(err)
		}
		foreign, err := e.s.AddInsured(ctx, insured("06230012", "2", officeNamesake, day(2020, 4, 1)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.Link(ctx, "pid-secret-ichiro", ichiro); err != nil {
			t.Fatal(err)
		}
		code, body, _ := e.get(t, "/insurer/records/"+own.ID)
		if code != http.StatusOK || !strings.Contains(body, "紐付け済み") || strings.Contains(body, "pid-secret-ichiro") || !strings.Contains(body, "令和2年4月1日") {
			t.Errorf("own record: %d, linked shown %v, platform ID shown %v", code, strings.Contains(body, "紐付け済み"), strings.Contains(body, "pid-secret"))
		}
		if code, _, _ := e.get(t, "/insurer/records/"+foreign.ID); code != http.StatusNotFound {
			t.Errorf("another insurer's record: %d", code)
		}
		for _, q := range []string{"kana=さかた", "kana=ｻｶﾀ", "number=1", "kana=イチ%25"} {
			_, body, _ := e.get(t, "/insurer/?"+q)
			found := strings.Contains(body, "/insurer/records/"+own.ID)
			if found != (q != "kana=イチ%25") || strings.Contains(body, foreign.ID) {
				t.Errorf("search %s: own found %v, foreign shown %v", q, found, strings.Contains(body, foreign.ID))
			}
		}
		log, err := e.s.AccessLog(ctx, officeInsurerA, 100)
		if err != nil {
			t.Fatal(err)
		}
		var views, searches int
		for _, a := range log {
			if a.Actor != "庄内 花子" {
				t.Errorf("actor %q", a.Actor)
			}
			switch a.Action {
			case ActionViewRecord:
				views++
			case ActionSearch:
				searches++
			}
		}
		if views != 1 || searches != 4 {
			t.Errorf("access log: %d views, %d searches: %+v", views, searches, log)
		}
	})
}
