package web_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/internal/ratelimit"
	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/wareki"
	"github.com/mynaplat/mynaplat/web"
)

// TestLoginsLimited: failed logins at one office from one browser are
// refused with 429, Retry-After and the seconds in both languages once the
// pair's tries are spent, a good one included, until Retry-After has
// passed; another office from the same browser is not touched; the advice
// names the card sign-in, not a key.
func TestLoginsLimited(t *testing.T) {
	ck := &clock{t: time.Date(2026, 11, 24, 10, 0, 0, 0, wareki.JST())}
	site, err := web.New(context.Background(), web.Options{DB: storetest.SQLite(t), Now: ck.now})
	if err != nil {
		t.Fatal(err)
	}
	pages, err := site.Parse(os.DirFS("testdata/pages"), "*.html")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	site.Routes(mux)
	mux.HandleFunc("GET /office/{id}/{$}", func(w http.ResponseWriter, r *http.Request) { pages.Render(w, r, http.StatusOK, "form", "") })
	// A login that passes with "right-{id}", counted as offices count.
	mux.HandleFunc("POST /office/{id}/login", func(w http.ResponseWriter, r *http.Request) {
		account, source := "test:"+r.PathValue("id"), ratelimit.Source(r)
		if d := site.Logins().Check(account, source); d > 0 {
			site.TooMany(w, r, d)
			return
		}
		ok := r.PostFormValue("proof") == "right-"+r.PathValue("id")
		site.Logins().Done(account, source, ok)
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		http.Redirect(w, r, "/office/"+r.PathValue("id")+"/", http.StatusSeeOther)
	})
	b := webtest.Start(t, site.Protect(mux))
	b.Get("/office/a/")
	login := func(id, proof, query string) *webtest.Response {
		return b.PostForm("/office/"+id+"/login"+query, url.Values{"proof": {proof}})
	}
	lim := web.DefaultLoginLimits()
	for i := range lim.Pair.Burst {
		if r := login("a", "wrong", ""); r.Status != http.StatusUnauthorized {
			t.Fatalf("wrong proof %d: %d", i+1, r.Status)
		}
	}
	for _, tc := range []struct{ proof, query, want, not string }{
		{"wrong", "", "60秒後にもう一度お試しください。", "キー"},
		{"right-a", "?lang=en", "Try again in 60 seconds.", "key"},
		{"right-a", "?lang=en", "own card at the staff terminal", "key"},
	} {
		r := login("a", tc.proof, tc.query)
		if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") != "60" || !strings.Contains(r.Body, tc.want) {
			t.Errorf("proof %s: %d, Retry-After %q; want 429, 60 and %q in\n%s", tc.proof, r.Status, r.Header.Get("Retry-After"), tc.want, r.Body)
		}
		if strings.Contains(r.Body, tc.not) {
			t.Errorf("proof %s: the refusal mentions %q:\n%s", tc.proof, tc.not, r.Body)
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
