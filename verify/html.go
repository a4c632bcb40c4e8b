package verify

import (
	"bytes"
	"embed"
	"html/template"
	"io"

	"github.com/mynaplat/mynaplat/web"
)

//go:embed templates/report.html templates/page.html
var reportFS embed.FS

// reportTemplate shows a report in both languages; parsed once, at start.
var reportTemplate = template.Must(template.New("report.html").Funcs(web.Funcs()).ParseFS(reportFS, "templates/report.html"))

// HTML is the report as a page fragment, for the pages that show reports
// (the person's box, a receiver's inbox).
func (r *Report) HTML() template.HTML {
	var b bytes.Buffer
	if err := reportTemplate.Execute(&b, r); err != nil {
		return template.HTML(template.HTMLEscapeString("report: " + err.Error()))
	}
	return template.HTML(b.String())
}

// pageTemplate is a report as a whole HTML document, styled inline.
var pageTemplate = template.Must(template.New("page.html").ParseFS(reportFS, "templates/page.html"))

// WritePage writes the report as a stand-alone HTML document (the same
// fragment as HTML, with the shared style sheet inline): `mynaplat verify
// --html`.
func (r *Report) WritePage(w io.Writer) error {
	return pageTemplate.Execute(w, struct {
		Report *Report
		CSS    template.CSS
	}{r, template.CSS(web.StyleCSS())})
}
