package anchors

import (
	"embed"
	"net/http"

	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/web"
)

// The list's routes:
//
//	GET /pki/                  the page (JA/EN)
//	GET /pki/trust-list.json   the trust list (List)

//go:embed templates
var templates embed.FS

// Routes registers the page and the trust list.
func (l *Lister) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+Prefix+"{$}", l.page)
	mux.HandleFunc("GET "+Prefix+"trust-list.json", l.json)
}

// Links are the home page entries.
func (l *Lister) Links() []web.Link {
	return []web.Link{{Section: "共通基盤 / Shared base", TitleJA: "トラストアンカー（認証局の証明書）", TitleEN: "Trust anchors (CA certificates)",
		DescJA: "署名・タイムスタンプ・電子公印を検証するための認証局の証明書と、その一覧（JSON）",
		DescEN: "The CA certificates to verify signatures, time-stamps and seals, and their list (JSON)", Path: Prefix}}
}

func (l *Lister) page(w http.ResponseWriter, r *http.Request) {
	l.pages.Render(w, r, http.StatusOK, "anchors", l.List(r.Context()))
}

func (l *Lister) json(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=300")
	httpapi.WriteJSON(w, http.StatusOK, l.List(r.Context()))
}
