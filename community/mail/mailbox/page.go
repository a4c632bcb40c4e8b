package mailbox

import (
	"embed"
	"fmt"
	"net/http"
	"slices"

	"github.com/mynaplat/mynaplat/web"
)

//go:embed templates
var templates embed.FS

// PagePath is the demo's local mailbox page.
const PagePath = "/demo/mailbox"

// Routes serves the mailbox page: every mail the server received, newest
// first, for the demo's operator (the server is the demo's own; on a real
// deployment the mails go to the families' mail servers and there is no
// such page).
func (s *Server) Routes(mux *http.ServeMux, site *web.Site) error {
	pages, err := site.Parse(templates, "templates/*.html")
	if err != nil {
		return fmt.Errorf("mailbox: pages: %w", err)
	}
	mux.HandleFunc("GET "+PagePath, func(w http.ResponseWriter, r *http.Request) {
		ms := s.Mails()
		slices.Reverse(ms)
		pages.Render(w, r, http.StatusOK, "mailbox", struct {
			Addr  string
			Mails []Mail
		}{s.Addr(), ms})
	})
	return nil
}
