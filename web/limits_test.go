package web_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/wareki"
	"github.com/mynaplat/mynaplat/web"
)

// TestStaffLoginLimited: wrong staff keys for one office from one browser
// are refused with 429, Retry-After and the seconds in both languages once
// the pair's tries are spent, the right key included, until Retry-After
// has passed; another office from the same browser is not touched.
func TestStaffLoginLimited(t *testing.T) {
	ck := &clock{t: time.Date(2026, 11, 24, 10, 0, 0, 0, wareki.JST())}
	site, err := web.New(context.Background(), web.Options{DB: storetest.SQLite(t), Now: ck.now})
	if err != nil {
		t.Fatal(err)
	}
	g := &web.StaffGate{Site: site, Scope: "agency", TitleJA: "受付窓口", TitleEN: "Inbox",
		Name: func(_ context.Context, id string) (string, error) { return "office " + id, nil },
		Check: func(_ context.Context, id, key string) error {
			if key != "right-"+id {
				return errors.New("wrong key")
			}
			return nil
		},
		Base: func(id string) string { return "/office/" + id + "/" }}
	mux := http.NewServeMux()
	site.Routes(mux)
	mux.HandleFunc("GET /office/{id}/{$}", g.Only(func(w http.ResponseWriter, r *http.Request, staff string) { w.Write([]byte("hello " + staff)) }))
	mux.HandleFunc("POST /office/{id}/login", g.Login)
	b := webtest.Start(t, site.Protect(mux))
	b.Get("/office/a/")
	login := func(id, key, query string) *webtest.Response {
		return b.PostForm("/office/"+id+"/login"+query, url.Values{"key": {key}, "staff": {"須坂 太郎"}})
	}
	lim := web.DefaultLoginLimits()
	for i := range lim.Pair.Burst {
		if r := login("a", "wrong", ""); r.Status != http.StatusUnauthorized {
			t.Fatalf("wrong key %d: %d", i+1, r.Status)
		}
	}
	for _, tc := range []struct{ key, query, want string }{
		{"wrong", "", "60秒後にもう一度お試しください。"},
		{"right-a", "?lang=en", "Try again in 60 seconds."},
	} {
		r := login("a", tc.key, tc.query)
		if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") != "60" || !strings.Contains(r.Body, tc.want) {
			t.Errorf("key %s: %d, Retry-After %q; want 429, 60 and %q in\n%s", tc.key, r.Status, r.Header.Get("Retry-After"), tc.want, r.Body)
		}
	}
	if r := login("b", "right-b", ""); r.Status != http.StatusSeeOther {
		t.Errorf("another office: %d, want 303", r.Status)
	}
	ck.advance(lim.Pair.Every)
	if r := login("a", "right-a", ""); r.Status != http.StatusSeeOther {
		t.Errorf("after Retry-After: %d, want 303", r.Status)
	}
}
