package terminal

import (
	"context"
	"testing"

	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/web"
)

// TestPagesParse parses the terminal screens as serve does at start-up:
// web.Site.Parse refuses a page that loads a script or style sheet the
// layout already loads (screen.html once loaded pinpad.js a second time and
// the PIN pad typed every digit twice, issue 14).
func TestPagesParse(t *testing.T) {
	site, err := web.New(context.Background(), web.Options{DB: storetest.SQLite(t)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewPages(PagesConfig{Site: site}); err != nil {
		t.Fatal(err)
	}
}
