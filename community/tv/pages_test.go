package tv

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/web"
)

// TestPortalBeforeLogin: the power-on page of a TV sends the person to the
// kit's card screen, which comes back to it after the login; an unknown TV
// is the site's 404; ending a session that has none goes there too.
func TestPortalBeforeLogin(t *testing.T) {
	site, err := web.New(context.Background(), web.Options{DB: storetest.SQLite(t)})
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(Config{Site: site, Kits: []*terminal.Kit{kitOf(t, "tv-1", platform.TV)}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	p.Routes(mux)
	for _, tc := range []struct {
		method, path string
		status       int
		location     string
	}{
		{"GET", "/tv/tv-1/", http.StatusSeeOther, "/t/tv-1/?next=%2Ftv%2Ftv-1%2F"},
		{"GET", "/tv/kiosk-1/", http.StatusNotFound, ""},
		{"POST", "/tv/tv-1/end", http.StatusSeeOther, "/tv/tv-1/"},
	} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		if rec.Code != tc.status || rec.Header().Get("Location") != tc.location {
			t.Errorf("%s %s: %d to %q, want %d to %q", tc.method, tc.path, rec.Code, rec.Header().Get("Location"), tc.status, tc.location)
		}
	}
	if got := p.Links(); len(got) != 1 || got[0].Path != "/tv/tv-1/" || !strings.Contains(got[0].TitleJA, "居間のテレビ") {
		t.Errorf("links %+v, want the one TV's portal", got)
	}
}

// TestPortalOnlyOnTVs: a terminal that is not on a TV screen has no TV
// portal, and a TV given twice is a configuration error.
func TestPortalOnlyOnTVs(t *testing.T) {
	site, err := web.New(context.Background(), web.Options{DB: storetest.SQLite(t)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{Site: site, Kits: []*terminal.Kit{kitOf(t, "kiosk-1", platform.Kiosk)}}); err == nil {
		t.Error("a kiosk's kit was taken for a TV")
	}
	tv := kitOf(t, "tv-1", platform.TV)
	if _, err := New(Config{Site: site, Kits: []*terminal.Kit{tv, tv}}); err == nil {
		t.Error("a TV given twice was taken")
	}
}
