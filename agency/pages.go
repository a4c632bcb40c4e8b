package agency

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"

	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/postbox"
	"github.com/mynaplat/mynaplat/staff"
	"github.com/mynaplat/mynaplat/verify"
	"github.com/mynaplat/mynaplat/web"
)

//go:embed templates
var templates embed.FS

// Pages are the offices' endpoint, inbox pages and JSON API:
//
//	POST /agency/{id}/v1/submissions           the post box delivers (its key)
//	GET  /agency/{id}/v1/submissions           list (the office's API key as bearer: its own systems)
//	GET  /agency/{id}/v1/submissions/{sub}     one, with its validation reports
//	GET  /agency/{id}/inbox/                   the inbox (staff signed in with their card: office agency:{id})
//	GET  /agency/{id}/inbox/signin|POST login|logout   the staff sign-in (staff.Gate)
//	GET  /agency/{id}/inbox/{sub}              one submission's reports and delivery log
//	POST /agency/{id}/inbox/{sub}/revalidate   validate again
type Pages struct {
	s     *Service
	site  *web.Site
	pages *web.Pages
	gate  *staff.Gate
	log   *slog.Logger
}

// NewPages parses the templates.
func NewPages(s *Service, site *web.Site) (*Pages, error) {
	pages, err := site.Parse(templates, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("agency: pages: %w", err)
	}
	return &Pages{s: s, site: site, pages: pages, log: s.log}, nil
}

// OfficeID is the staff directory's ID of an office's inbox.
func OfficeID(id string) string { return "agency:" + id }

// InboxHome is the first page of an office's inbox.
func InboxHome(id string) string { return "/agency/" + id + "/inbox/" }

// StaffOffice is the inboxes as their gate knows them: the office of a
// path is agency:{id}, for an office the service knows. Make the gate with
// staff.NewOfficeGate and pass it to SetStaff.
func (p *Pages) StaffOffice() staff.Office {
	return staff.Office{Kind: "agency", PathValue: "id", Home: InboxHome,
		Name: func(ctx context.Context, id string) (string, error) {
			o, err := p.s.Office(ctx, id)
			if err != nil {
				return "", err
			}
			return o.NameJA, nil
		}}
}

// SetStaff gives the inboxes their gate (made of StaffOffice). Without one
// the inboxes are not served at all: there is no other way in. Call it
// before Routes.
func (p *Pages) SetStaff(g *staff.Gate) { p.gate = g }

// Routes registers the endpoint, the API and the pages.
func (p *Pages) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /agency/{id}/v1/submissions", p.s.Receive())
	mux.HandleFunc("GET /agency/{id}/v1/submissions", p.apiKeyOnly(p.apiList))
	mux.HandleFunc("GET /agency/{id}/v1/submissions/{sub}", p.apiKeyOnly(p.apiOne))
	if p.gate == nil {
		return
	}
	p.gate.Mount(mux, "/agency/{id}/inbox/")
	mux.HandleFunc("GET /agency/{id}/inbox/{$}", p.gate.Only(p.inbox))
	mux.HandleFunc("GET /agency/{id}/inbox/{sub}", p.gate.Only(p.submission))
	mux.HandleFunc("POST /agency/{id}/inbox/{sub}/revalidate", p.gate.Only(p.revalidate))
}

// Links are the home page entries, one per office.
func (p *Pages) Links(ctx context.Context) []web.Link {
	os, err := p.s.Offices(ctx)
	if err != nil {
		p.log.ErrorContext(ctx, "agency: offices", "err", err)
		return nil
	}
	var out []web.Link
	for _, o := range os {
		out = append(out, web.Link{Section: "受け取る機関 / Receiving agencies", TitleJA: o.NameJA + " 受付窓口", TitleEN: o.NameEN + " inbox",
			DescJA: "電子私書箱から届いた申告と添付文書、その署名の検証結果", DescEN: "Submissions from post boxes with their signature validation reports",
			Path: "/agency/" + o.ID + "/inbox/"})
	}
	return out
}

// apiKeyOnly runs h for the office's own systems, which present its API
// key (a machine's key, never a person's); the audit names them "api".
func (p *Pages) apiKeyOnly(h func(http.ResponseWriter, *http.Request, string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if err := p.s.CheckAPIKey(r.Context(), r.PathValue("id"), key); err != nil {
			p.apiErr(w, r, fmt.Errorf("%w: %w", ErrBadKey, err))
			return
		}
		h(w, r, "api")
	}
}

// SubmissionJSON is a submission as the API shows it.
type SubmissionJSON struct {
	ID         string            `json:"id"`
	SendID     string            `json:"send_id"`
	Receipt    string            `json:"receipt"`
	Subject    string            `json:"subject"`
	Applicant  string            `json:"applicant"`
	Indication verify.Indication `json:"indication"`
	// BundleOK says the application's attachments are the documents sent.
	BundleOK   bool             `json:"bundle_ok"`
	Passed     bool             `json:"passed"`
	ReceivedAt string           `json:"received_at"`
	Deliveries int              `json:"deliveries"`
	Documents  []*verify.Report `json:"documents,omitempty"`
}

func toJSON(sub *Submission) SubmissionJSON {
	j := SubmissionJSON{ID: sub.ID, SendID: sub.SendID, Receipt: sub.Receipt, Subject: sub.Subject, Applicant: sub.Applicant,
		Indication: sub.Overall, BundleOK: sub.BundleOK, Passed: sub.Passed(), ReceivedAt: sub.ReceivedAt.UTC().Format("2006-01-02T15:04:05Z"),
		Deliveries: sub.Deliveries}
	for _, d := range sub.Documents {
		j.Documents = append(j.Documents, d.Report)
	}
	return j
}

func (p *Pages) apiList(w http.ResponseWriter, r *http.Request, actor string) {
	subs, err := p.s.Submissions(r.Context(), r.PathValue("id"), actor)
	if err != nil {
		p.apiErr(w, r, err)
		return
	}
	out := []SubmissionJSON{}
	for _, s := range subs {
		out = append(out, toJSON(s))
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
}

func (p *Pages) apiOne(w http.ResponseWriter, r *http.Request, actor string) {
	sub, err := p.s.Submission(r.Context(), r.PathValue("id"), r.PathValue("sub"), actor)
	if err != nil {
		p.apiErr(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, toJSON(sub))
}

// apiErr answers an error of the read API through Rules.
func (p *Pages) apiErr(w http.ResponseWriter, r *http.Request, err error) {
	Rules.Write(w, r, p.log, err)
}

type inboxView struct {
	Office      *Office
	Staff       *staff.Session
	Submissions []*Submission
}

// StaffStrip is the strip the site's layout shows on every inbox page.
func (v inboxView) StaffStrip() *web.StaffStrip {
	return v.Staff.Strip(InboxHome(v.Office.ID) + "logout")
}

func (p *Pages) inbox(w http.ResponseWriter, r *http.Request, st *staff.Session) {
	id := r.PathValue("id")
	o, err := p.s.Office(r.Context(), id)
	if err != nil {
		p.site.Error(w, r, web.Problem{Status: http.StatusNotFound})
		return
	}
	subs, err := p.s.Submissions(r.Context(), id, st.Actor())
	if err != nil {
		p.log.ErrorContext(r.Context(), "agency: inbox", "err", err)
		p.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	p.pages.Render(w, r, http.StatusOK, "inbox", inboxView{Office: o, Staff: st, Submissions: subs})
}

type submissionView struct {
	Office *Office
	Staff  *staff.Session
	Sub    *Submission
	Docs   []docView
	Log    *postbox.SendView
	Lines  []postbox.LogLine
	LogErr bool
	// BundleChecked is false when the application's own signature could
	// not be confirmed: what it says it attaches is then unknown, and the
	// attachments were not compared with it.
	BundleChecked bool
	JSONURL       string
}

type docView struct {
	*Doc
	Report template.HTML
	Fields []verify.Field
	Title  string
	// SignedType is the type in the signed content, when there is one.
	SignedType string
}

// StaffStrip is the strip the site's layout shows on every inbox page.
func (v submissionView) StaffStrip() *web.StaffStrip {
	return v.Staff.Strip(InboxHome(v.Office.ID) + "logout")
}

func (p *Pages) submission(w http.ResponseWriter, r *http.Request, st *staff.Session) {
	p.showSubmission(w, r, st, false)
}

func (p *Pages) revalidate(w http.ResponseWriter, r *http.Request, st *staff.Session) {
	p.showSubmission(w, r, st, true)
}

func (p *Pages) showSubmission(w http.ResponseWriter, r *http.Request, st *staff.Session, again bool) {
	id := r.PathValue("id")
	o, err := p.s.Office(r.Context(), id)
	if err != nil {
		p.site.Error(w, r, web.Problem{Status: http.StatusNotFound})
		return
	}
	get := p.s.Submission
	if again {
		get = p.s.Revalidate
	}
	sub, err := get(r.Context(), id, r.PathValue("sub"), st.Actor())
	if errors.Is(err, ErrNotFound) {
		p.site.Error(w, r, web.Problem{Status: http.StatusNotFound})
		return
	}
	if err != nil {
		p.log.ErrorContext(r.Context(), "agency: submission", "err", err)
		p.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	v := submissionView{Office: o, Staff: st, Sub: sub, JSONURL: "/agency/" + id + "/v1/submissions/" + sub.ID,
		BundleChecked: len(sub.Documents) > 0 && sub.Documents[0].Report != nil && sub.Documents[0].Report.Passed()}
	for _, d := range sub.Documents {
		dv := docView{Doc: d, Report: d.Report.HTML(), Title: d.Name}
		if c := d.Report.Content; c != nil {
			// What the signer signed, not what the envelope said.
			dv.Fields, dv.Title, dv.SignedType = c.Fields, c.Title, c.Type
		}
		v.Docs = append(v.Docs, dv)
	}
	if v.Log, err = p.s.DeliveryLog(r.Context(), o, sub.SendID); err != nil {
		p.log.WarnContext(r.Context(), "agency: delivery log", "err", err)
		v.LogErr = true
	} else if v.Log != nil {
		v.Lines = postbox.LogLines(v.Log.Log)
	}
	p.pages.Render(w, r, http.StatusOK, "submission", v)
}
