// Package desktest stands in for the staff terminals in tests of the
// offices' signing step (staff.GateConfig.Signing): staff terminals whose
// reader is the demo's virtual slot over a card store, registered at no
// platform — their reports of a refused signing password go to a stand-in
// that takes them and keeps nothing.
package desktest

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/staffdesk"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/web"
)

// Signing is the signing step of staff terminals ids on site, the cards
// of cards on their readers.
func Signing(t testing.TB, site *web.Site, cards *card.Store, ids ...string) *staffdesk.Signing {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(srv.Close)
	key := base64.StdEncoding.EncodeToString(make([]byte, 32))
	var tcs []terminal.Config
	for _, id := range ids {
		tcs = append(tcs, terminal.Config{ID: id, Kind: platform.StaffDesk, Owner: "test", Name: id, Key: key, Reader: "virtual"})
	}
	sg := &staffdesk.Signing{}
	if _, err := staffdesk.New(staffdesk.Config{Site: site, Cards: cards, Terminals: tcs, PlatformURL: srv.URL, HTTP: srv.Client(), Signing: sg}); err != nil {
		t.Fatal(err)
	}
	return sg
}
