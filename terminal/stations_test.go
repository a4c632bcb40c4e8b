package terminal

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/web"
)

// TestStations: the terminals of a set of screens keep their order and
// kits, refuse a second terminal of one name, and a request finds its
// terminal and session, or is answered 404 for an unknown one and 503 when
// the session store is gone.
func TestStations(t *testing.T) {
	db := storetest.SQLite(t)
	site, err := web.New(t.Context(), web.Options{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	type st struct{ name string }
	s := NewStations[*st](site, nil)
	for _, id := range []string{"b", "a"} {
		if err := s.Add(id, &st{id}, KitConfig{Screen: ScreenPhone, Actions: Actions{Place: "/x/" + id + "/place"}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Add("a", &st{"again"}, KitConfig{Screen: ScreenPhone}); err == nil {
		t.Error("a second terminal named a was added")
	}
	given := NewKit(KitConfig{Screen: ScreenTV})
	if err := s.AddKit("c", &st{"c"}, given); err != nil || s.Kit("c") != given {
		t.Errorf("a kit made elsewhere: %v, kit %v", err, s.Kit("c"))
	}
	if err := s.AddKit("a", &st{"again"}, given); err == nil {
		t.Error("a second terminal named a was added with its kit")
	}
	var order []string
	for _, x := range s.All() {
		order = append(order, x.name)
	}
	if d := cmp.Diff([]string{"b", "a", "c"}, order); d != "" {
		t.Errorf("order (-want +got):\n%s", d)
	}
	if got, ok := s.Get("a"); !ok || got.name != "a" || s.Kit("a").Actions().Place != "/x/a/place" || s.Kit("d") != nil {
		t.Errorf("Get a: %v %v, kits %v %v", got, ok, s.Kit("a"), s.Kit("d"))
	}

	mux := http.NewServeMux()
	var found *st
	mux.HandleFunc("GET /x/{id}/", func(w http.ResponseWriter, r *http.Request) {
		got, ss, ok := s.Lookup(w, r)
		if !ok {
			return
		}
		found = got
		ss.Set("seen", "yes")
		s.Save(r, ss)
		w.WriteHeader(http.StatusNoContent)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	get := func(path string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: "an-old-session-of-nobody"})
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tc := range []struct {
		name, path string
		closed     bool
		want       int
		found      string
	}{
		{"a terminal", "/x/a/", false, http.StatusNoContent, "a"},
		{"no such terminal", "/x/d/", false, http.StatusNotFound, ""},
		{"the session store is gone", "/x/b/", true, http.StatusServiceUnavailable, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.closed {
				db.Close()
			}
			found = nil
			if got := get(tc.path); got != tc.want {
				t.Errorf("status %d, want %d", got, tc.want)
			}
			if name := func() string {
				if found == nil {
					return ""
				}
				return found.name
			}(); name != tc.found {
				t.Errorf("found %q, want %q", name, tc.found)
			}
		})
	}
}
