package contract

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"html/template"
	"io"
	"time"

	"github.com/mynaplat/mynaplat/verify"
	"github.com/mynaplat/mynaplat/web"
)

//go:embed templates/timeline.html templates/page.html
var templateFS embed.FS

// templates show a timeline report in both languages; parsed once.
var templates = template.Must(template.New("page.html").Funcs(web.Funcs()).Funcs(template.FuncMap{
	"label":  func(k Kind) string { ja, en := k.Label(); return ja + " / " + en },
	"string": func(r Reason) string { return string(r) },
}).ParseFS(templateFS, "templates/page.html", "templates/timeline.html"))

// VerifyBundle validates a timeline bundle (a file `mynaplat verify` or
// the /verify page was given): a file that is not a well-formed bundle is
// TOTAL_FAILED/FORMAT_FAILURE with ErrBundle, never a Go error.
func VerifyBundle(ctx context.Context, name string, data []byte, p *verify.Policy, parties Parties) *Report {
	tl, err := ParseBundle(data)
	if err != nil {
		now := time.Now
		if p.Now != nil {
			now = p.Now
		}
		ja, en := ErrBundle.Messages()
		return &Report{Document: name, Format: FormatTimeline, Indication: verify.TotalFailed, SubIndication: verify.FormatFailure,
			Reason: ErrBundle, MessageJA: ja, MessageEN: en + " (" + err.Error() + ")", ValidatedAt: now()}
	}
	r := tl.Verify(ctx, p, parties)
	r.Document = name
	return r
}

// HTML is the report as a page fragment: the overall result, then each
// element with its own signature report.
func (r *Report) HTML() template.HTML {
	var b bytes.Buffer
	if err := templates.ExecuteTemplate(&b, "timeline", r); err != nil {
		return template.HTML(template.HTMLEscapeString("report: " + err.Error()))
	}
	return template.HTML(b.String())
}

// WritePage writes the report as a stand-alone HTML document with the
// shared style sheet inline (`mynaplat verify --html`).
func (r *Report) WritePage(w io.Writer) error {
	return templates.ExecuteTemplate(w, "page.html", struct {
		Report *Report
		CSS    template.CSS
	}{r, template.CSS(web.StyleCSS())})
}

// WriteText writes the report as lines of text: the overall result, then
// each element and its signature report.
func (r *Report) WriteText(out io.Writer) {
	fmt.Fprintf(out, "%s: %s", r.Document, r.Indication)
	if r.SubIndication != "" {
		fmt.Fprintf(out, " / %s", r.SubIndication)
	}
	if r.Reason != "" {
		fmt.Fprintf(out, " (%s)", string(r.Reason))
	}
	fmt.Fprintf(out, "\n  %s\n  %s\n  format: %s", r.MessageJA, r.MessageEN, r.Format)
	if r.ContractID != "" {
		fmt.Fprintf(out, ", contract %s", r.ContractID)
	}
	fmt.Fprintf(out, ", complete: %v\n", r.Complete)
	for _, e := range r.Elements {
		ja, en := e.Kind.Label()
		fmt.Fprintf(out, "element %d %s (%s / %s): %s", e.Index, e.Name, ja, en, e.Indication)
		if e.SubIndication != "" {
			fmt.Fprintf(out, " / %s", e.SubIndication)
		}
		if e.Reason != "" {
			fmt.Fprintf(out, " (%s)", string(e.Reason))
		}
		fmt.Fprintf(out, "\n  %s\n  %s\n  sha256: %s\n", e.MessageJA, e.MessageEN, e.SHA256)
		if e.Previous != "" {
			fmt.Fprintf(out, "  previous: %s\n", e.Previous)
		}
		if e.Report != nil {
			var b bytes.Buffer
			e.Report.WriteText(&b)
			for _, line := range bytes.SplitAfter(b.Bytes(), []byte("\n")) {
				if len(line) > 0 {
					fmt.Fprintf(out, "    %s", line)
				}
			}
		}
	}
	fmt.Fprintf(out, "validated at: %s\n", r.ValidatedAt.UTC().Format(time.RFC3339))
}
