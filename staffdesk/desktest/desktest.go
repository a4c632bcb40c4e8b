// Package desktest stands in for the staff terminals in tests of the
// offices' signing handoff (staff/handoff.go): staff terminals whose
// reader is the demo's virtual slot over a card store, registered at no
// platform — their reports of a refused signing password go to a stand-in
// that takes them and keeps nothing.
package desktest

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/staffdesk"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/web"
)

// Mount puts staff terminals ids on mux, on site, with the cards of cards
// on their readers. self is the base URL mux answers at: the desks call
// the desk API of the offices on it there (staffdesk.Config.Self); offices
// are the base URLs of offices elsewhere, by kind.
func Mount(t testing.TB, mux *http.ServeMux, site *web.Site, cards *card.Store, self string, offices map[string]string, ids ...string) *staffdesk.Pages {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(srv.Close)
	key := base64.StdEncoding.EncodeToString(make([]byte, 32))
	var tcs []terminal.Config
	for _, id := range ids {
		tcs = append(tcs, terminal.Config{ID: id, Kind: platform.StaffDesk, Owner: "test", Name: id, Key: key, Reader: "virtual"})
	}
	p, err := staffdesk.New(staffdesk.Config{Site: site, Cards: cards, Terminals: tcs, PlatformURL: srv.URL,
		HTTP: httpapi.NewHTTPClient(10 * time.Second), Self: self, Offices: offices})
	if err != nil {
		t.Fatal(err)
	}
	p.Routes(mux)
	return p
}
