package eligibility

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/web"
)

// officeEnv is the back office on a test server, with insurer A's key and
// a browser on it that does not follow redirects.
type officeEnv struct {
	s    *Service
	web  *webtest.Client
	keyA string
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
	return &officeEnv{s: s, web: webtest.Start(t, site.Protect(mux)), keyA: key}
}

func (e *officeEnv) login(t *testing.T, key string) int {
	t.Helper()
	c := e.web.With(t)
	c.Get("/insurer/login")
	return c.PostForm("/insurer/login", url.Values{"insurer": {officeInsurerA}, "key": {key}, "staff": {"庄内 花子"}}).Status
}

// TestOfficePagesKeepToTheirInsurer: another insurer's record is a 404, a
// page of personal data leaves an access row, and the record page never
// shows the platform ID.
func TestOfficePagesKeepToTheirInsurer(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newOfficeEnv(t, db)
		c := e.web.With(t)
		c.Step(webtest.Step{Name: "logged out: a redirect to the login", Path: "/insurer/", WantStatus: http.StatusSeeOther})
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
		r := c.Get("/insurer/records/" + own.ID)
		if code, body := r.Status, r.Body; code != http.StatusOK || !strings.Contains(body, "紐付け済み") || strings.Contains(body, "pid-secret-ichiro") || !strings.Contains(body, "令和2年4月1日") {
			t.Errorf("own record: %d, linked shown %v, platform ID shown %v", code, strings.Contains(body, "紐付け済み"), strings.Contains(body, "pid-secret"))
		}
		if code := c.Get("/insurer/records/" + foreign.ID).Status; code != http.StatusNotFound {
			t.Errorf("another insurer's record: %d", code)
		}
		for _, q := range []string{"kana=さかた", "kana=ｻｶﾀ", "number=1", "kana=イチ%25"} {
			body := c.Get("/insurer/?" + q).Body
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

// TestOfficeLoginLimited: wrong API keys for one insurer from one browser
// are refused with 429 and Retry-After once the site's login limits say
// so, the right key too, until the wait is over.
func TestOfficeLoginLimited(t *testing.T) {
	ctx := context.Background()
	db := storetest.SQLite(t)
	s := open(t, db)
	key, err := s.AddInsurer(ctx, officeInsurerA, "酒田市後期高齢者医療")
	if err != nil {
		t.Fatal(err)
	}
	// The site's clock stands still (the service's ticks a second a
	// reading) and moves when told.
	var at atomic.Int64
	at.Store(day(2026, 11, 24).UnixNano())
	site, err := web.New(ctx, web.Options{DB: db, Now: func() time.Time { return time.Unix(0, at.Load()) }})
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
	e := &officeEnv{s: s, web: webtest.Start(t, site.Protect(mux)), keyA: key}
	lim := web.DefaultLoginLimits()
	for i := range lim.Pair.Burst {
		if code := e.login(t, "insurer_wrong"); code != http.StatusUnauthorized {
			t.Fatalf("wrong key %d: %d", i+1, code)
		}
	}
	if code := e.login(t, e.keyA); code != http.StatusTooManyRequests {
		t.Errorf("the right key after %d wrong ones: %d, want 429", lim.Pair.Burst, code)
	}
	at.Add(int64(lim.Pair.Every))
	if code := e.login(t, e.keyA); code != http.StatusSeeOther {
		t.Errorf("the right key after Retry-After: %d, want 303", code)
	}
}
