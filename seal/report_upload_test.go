package seal

import (
	"context"
	"html/template"
	"strings"
	"testing"

	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// TestReportUpload: /verify offers the signed-file form only with a
// Reporter, hands it the file and the power of attorney uploaded beside it,
// and shows its report; an uploaded kiosk PDF gets the report too.
func TestReportUpload(t *testing.T) {
	e := newWebEnv(t, storetest.SQLite(t))
	if body := e.verifyPage(t).Step(webtest.Step{Name: "no reporter", Path: "/verify"}).Body; strings.Contains(body, `id="signed-form"`) {
		t.Error("the signed-file form is offered without a reporter")
	}
	type call struct{ name, data, power string }
	var got []call
	e.pages.WithReporter(func(_ context.Context, name string, data, power []byte) template.HTML {
		got = append(got, call{name, string(data), string(power)})
		return `<p id="fake-report">REPORT OF ` + template.HTML(template.HTMLEscapeString(name)) + `</p>`
	})
	c := e.verifyPage(t)
	if !strings.Contains(c.Step(webtest.Step{Name: "with a reporter", Path: "/verify"}).Body, `id="signed-form"`) {
		t.Fatal("no signed-file form with a reporter")
	}
	r := c.PostMultipart("/verify", nil, webtest.File{Field: "signed", Name: "app.p7s", Data: []byte("CMS")},
		webtest.File{Field: "power", Name: "power.p7m", Data: []byte("POWER")})
	if r.Status != 200 || !strings.Contains(r.Body, `id="report"`) || !strings.Contains(r.Body, "REPORT OF app.p7s") {
		t.Errorf("upload: %d\n%s", r.Status, r.Body)
	}
	_, body := e.postPDF(t, []byte("%PDF-1.7 not really"))
	if !strings.Contains(body, "REPORT OF certificate.pdf") {
		t.Error("an uploaded kiosk PDF shows no report")
	}
	want := []call{{"app.p7s", "CMS", "POWER"}, {"certificate.pdf", "%PDF-1.7 not really", ""}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("the reporter got %q, want %q", got, want)
	}
}
