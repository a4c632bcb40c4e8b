package tv

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/web"
)

// kitOf is the kit of a terminal id of kind, with a virtual reader.
func kitOf(t *testing.T, id string, kind platform.TerminalKind) *terminal.Kit {
	t.Helper()
	tm, err := terminal.New(terminal.Config{ID: id, Kind: kind, Owner: "須高ケーブルテレビ", Name: "居間のテレビ",
		Key: base64.StdEncoding.EncodeToString(make([]byte, 32))}, "http://127.0.0.1:0", &http.Client{})
	if err != nil {
		t.Fatal(err)
	}
	return terminal.NewKit(terminal.KitConfig{Terminal: tm, Reader: terminal.VirtualReader{}})
}

// startPortal serves the portal of the TV tv-1 with cfg's services (its
// Site and Kits are set here) on a site over SQLite, and a stand-in for
// the kit's card step at GET /test/login: a login of pid (holder) at tv-1
// with the assertion "a.b.c" in the session, where the kit keeps it
// ("terminal:login"). It returns a client of the server with no session.
func startPortal(t *testing.T, cfg Config, pid, holder string) *webtest.Client {
	t.Helper()
	site, err := web.New(context.Background(), web.Options{DB: storetest.SQLite(t)})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Site, cfg.Kits = site, []*terminal.Kit{kitOf(t, "tv-1", platform.TV)}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	site.Routes(mux)
	p.Routes(mux)
	mux.HandleFunc("GET /test/login", func(w http.ResponseWriter, r *http.Request) {
		ss, err := site.Session(w, r)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(terminal.Login{Terminal: "tv-1", PlatformID: pid, Assertion: "a.b.c", Holder: holder,
			Expires: time.Now().Add(5 * time.Minute)})
		ss.Set("terminal:login", string(b))
		terminal.SaveSession(r, ss, nil)
	})
	return webtest.Start(t, site.Protect(mux))
}

// loggedIn is startPortal's client after the login of pid (holder) at tv-1.
func loggedIn(t *testing.T, cfg Config, pid, holder string) *webtest.Client {
	t.Helper()
	c := startPortal(t, cfg, pid, holder).With(t)
	c.Step(webtest.Step{Name: "log in", Path: "/test/login"})
	return c
}
