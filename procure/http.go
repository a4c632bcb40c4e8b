package procure

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/corpreg"
	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/platform"
)

// The register's HTTP API (docs/procurement.md §6, §8):
//
//	POST /procure/v1/applications                  {cms} → Filed (bearer: the agent's card login, an assertion made at the register's terminal)
//	GET  /procure/v1/agent/applications            the agent's applications (same bearer)
//	GET  /procure/v1/agent/applications/{id}       one, with its latest version (same bearer)
//	GET  /procure/v1/agent/powers                  the powers the agent may act under (same bearer; agentpowers.go)
//	GET  /procure/v1/qualifications/{number}[?at=] the qualification valid now (or at an RFC 3339 time): for the bodies
//	GET  /procure/list.json, /procure/list.csv     the public list (open data); /procure/list is its page (pages.go)
//	POST /procure/v1/notices                       {cms} → []Notice: the representative's signed request (notices.go)
//	GET  /procure/v1/notices                       the same, the CMS in "Authorization: CMS <base64>"
//
// The read API and the list are public data and need no key.

// Errors of the HTTP API.
var (
	// ErrAssertion is a bearer that is not the platform's assertion of a
	// card login at the register's terminal, for no other purpose.
	ErrAssertion = errors.New("procure: the card login could not be verified")
	errBody      = fmt.Errorf("%w: the body is not {\"cms\": …}", ErrInvalid)
	errAt        = fmt.Errorf("%w: at is not an RFC 3339 time", ErrInvalid)
	errNumber    = fmt.Errorf("%w: not a corporate number", ErrInvalid)
)

// The API's problem codes besides the refusals' (whose code is the Reason).
const (
	CodeBadRequest httpapi.Code = "bad_request"
	CodeNotFound   httpapi.Code = "not_found"
	CodeLogin      httpapi.Code = "login"
)

// Rules answers the register's errors on its API. A *Refusal is answered
// by itself (refusalProblem), with its reason as the code.
var Rules = httpapi.Rules{
	{Err: ErrAssertion, Status: http.StatusUnauthorized, Code: CodeLogin,
		JA: "カードでのログインを確認できません。もう一度ログインしてください。", EN: "The card login could not be verified: log in again."},
	{Err: ErrNotFound, Status: http.StatusNotFound, Code: CodeNotFound,
		JA: "お探しの申請または資格はありません。", EN: "No such application or qualification."},
	{Err: ErrInvalid, Status: http.StatusBadRequest, Code: CodeBadRequest, Detail: true,
		JA: "要求の形式が正しくありません。", EN: "The request is malformed."},
	httpapi.InternalRule("内部エラーが発生しました。申請は受け付けていません。しばらくしてからもう一度お送りください。",
		"An internal error occurred; the application was not filed. Send it again later."),
}

// refusalStatus is the status of a refusal: the request was understood
// and is refused as it stands.
const refusalStatus = http.StatusUnprocessableEntity

func (s *Service) writeErr(w http.ResponseWriter, r *http.Request, err error) {
	if ref, ok := errors.AsType[*Refusal](err); ok {
		httpapi.Write(w, httpapi.New(refusalStatus, httpapi.Code(ref.Reason), ref.MessageJA, ref.MessageEN))
		return
	}
	Rules.Write(w, r, s.logger, err)
}

// APIConfig is what the agent API needs to believe a card login: the
// platform's assertion keys and issuer, and the register's terminal, where
// agents log in.
type APIConfig struct {
	Keys     func(ctx context.Context) (platform.JWKS, error)
	Issuer   string
	Terminal string
}

// Routes registers the API with the agent API believing logins as cfg
// says (without Keys the agent API refuses every login).
func (s *Service) Routes(mux *http.ServeMux, cfg APIConfig) {
	a := &api{s: s, cfg: cfg}
	mux.HandleFunc("POST /procure/v1/applications", a.agent(a.apply))
	mux.HandleFunc("GET /procure/v1/agent/applications", a.agent(a.mine))
	mux.HandleFunc("GET /procure/v1/agent/applications/{id}", a.agent(a.mineOne))
	mux.HandleFunc("GET /procure/v1/agent/powers", a.agent(a.myPowers))
	mux.HandleFunc("GET /procure/v1/qualifications/{number}", a.qualification)
	mux.HandleFunc("GET /procure/list.json", a.listJSON)
	mux.HandleFunc("GET /procure/list.csv", a.listCSV)
	mux.HandleFunc("POST /procure/v1/notices", a.notices)
	mux.HandleFunc("GET /procure/v1/notices", a.notices)
}

type api struct {
	s   *Service
	cfg APIConfig
}

// Agent verifies the platform's assertion of a card login made at the
// register's terminal for no other purpose, and returns the platform ID.
func (c APIConfig) Agent(ctx context.Context, assertion string, now time.Time) (string, error) {
	if c.Keys == nil || assertion == "" {
		return "", ErrAssertion
	}
	keys, err := c.Keys(ctx)
	if err != nil {
		return "", fmt.Errorf("procure: platform keys: %w", err)
	}
	cl, err := platform.VerifyAssertion(assertion, keys, c.Issuer, now)
	switch {
	case err != nil:
		return "", fmt.Errorf("%w: %w", ErrAssertion, err)
	case cl.Terminal != c.Terminal:
		return "", fmt.Errorf("%w: made at terminal %q, not %q", ErrAssertion, cl.Terminal, c.Terminal)
	case cl.Purpose != "":
		return "", fmt.Errorf("%w: a login for %q", ErrAssertion, cl.Purpose)
	}
	return cl.Subject, nil
}

func (a *api) agent(h func(w http.ResponseWriter, r *http.Request, pid string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		bearer, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		pid, err := a.cfg.Agent(r.Context(), bearer, a.s.now())
		if err != nil {
			a.s.writeErr(w, r, err)
			return
		}
		h(w, r, pid)
	}
}

// ApplyBody is the body of POST /procure/v1/applications.
type ApplyBody struct {
	// CMS is the signed application, DER in standard base64.
	CMS string `json:"cms"`
}

// maxApplyBody bounds an application: the content, a certificate chain and
// a time-stamp token, in base64.
const maxApplyBody = 256 << 10

func (a *api) apply(w http.ResponseWriter, r *http.Request, pid string) {
	var in ApplyBody
	if err := httpapi.Decode(http.MaxBytesReader(w, r.Body, maxApplyBody), &in, maxApplyBody); err != nil {
		a.s.writeErr(w, r, fmt.Errorf("%w: %w", errBody, err))
		return
	}
	der, err := base64.StdEncoding.DecodeString(in.CMS)
	if err != nil || len(der) == 0 {
		a.s.writeErr(w, r, errBody)
		return
	}
	f, err := a.s.Apply(r.Context(), ApplyRequest{AgentPlatformID: pid, Signed: der})
	if err != nil {
		a.s.writeErr(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusCreated, f)
}

func (a *api) mine(w http.ResponseWriter, r *http.Request, pid string) {
	list, err := a.s.AgentApplications(r.Context(), pid)
	if err != nil {
		a.s.writeErr(w, r, err)
		return
	}
	if list == nil {
		list = []ApplicationSummary{}
	}
	httpapi.WriteJSON(w, http.StatusOK, list)
}

func (a *api) mineOne(w http.ResponseWriter, r *http.Request, pid string) {
	d, err := a.s.AgentApplication(r.Context(), pid, r.PathValue("id"))
	if err != nil {
		a.s.writeErr(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, d)
}

func (a *api) qualification(w http.ResponseWriter, r *http.Request) {
	number := r.PathValue("number")
	if corpreg.ValidNumber(number) != nil {
		a.s.writeErr(w, r, errNumber)
		return
	}
	at := a.s.clock()
	if v := r.URL.Query().Get("at"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			a.s.writeErr(w, r, errAt)
			return
		}
		at = t
	}
	q, err := a.s.QualificationAt(r.Context(), number, at)
	if err != nil {
		a.s.writeErr(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, q)
}

// page reads ?limit= and ?offset= of a list request.
func page(r *http.Request) (limit, offset int) {
	limit, _ = strconv.Atoi(r.URL.Query().Get("limit"))
	offset, _ = strconv.Atoi(r.URL.Query().Get("offset"))
	return limit, offset
}

func (a *api) listJSON(w http.ResponseWriter, r *http.Request) {
	limit, offset := page(r)
	list, err := a.s.List(r.Context(), limit, offset)
	if err != nil {
		a.s.writeErr(w, r, err)
		return
	}
	if list == nil {
		list = []*Qualification{}
	}
	w.Header().Set("Cache-Control", "public, max-age=60")
	httpapi.WriteJSON(w, http.StatusOK, list)
}

// CSVHeader is the public list's CSV header row (Japanese, as the
// published lists have it), one row per qualification and field.
var CSVHeader = []string{"業者コード", "法人番号", "商号又は名称", "所在地", "代表者", "設立年月日", "資格の種類", "等級", "点数",
	"営業品目", "競争参加地域", "有効期間開始", "有効期間終了"}

// WriteCSV writes list as CSV (UTF-8 with a byte order mark, which the
// spreadsheet programs the list's readers use need to see UTF-8).
func WriteCSV(buf *bytes.Buffer, list []*Qualification) error {
	buf.WriteString("\ufeff")
	cw := csv.NewWriter(buf)
	cw.UseCRLF = true
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	for _, q := range list {
		for _, f := range q.Fields {
			field, _ := f.Field.Names()
			if err := cw.Write([]string{q.Code, q.CorporateNumber, q.Name, q.Address, q.Representative, q.Founded,
				field, string(f.Grade), strconv.Itoa(f.Total), strings.Join(f.Items, "、"),
				strings.Join(q.Regions, "、"), jstDate(q.ValidFrom), jstDate(q.ValidUntil)}); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// jst is Japan's time zone, in which the list's dates are written.
var jst = time.FixedZone("JST", 9*3600)

func jstDate(t time.Time) string { return t.In(jst).Format(time.DateOnly) }

func (a *api) listCSV(w http.ResponseWriter, r *http.Request) {
	limit, offset := page(r)
	list, err := a.s.List(r.Context(), limit, offset)
	if err != nil {
		a.s.writeErr(w, r, err)
		return
	}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, list); err != nil {
		a.s.writeErr(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="procure-qualifications.csv"`)
	w.Header().Set("Cache-Control", "public, max-age=60")
	w.Write(buf.Bytes())
}

// maxNoticesBody bounds a request for notices: a short content, the
// representative certificate and a time-stamp token, in base64.
const maxNoticesBody = 64 << 10

// notices answers the representative's signed request: in the body of a
// POST ({"cms"}), or in the Authorization header of a GET.
func (a *api) notices(w http.ResponseWriter, r *http.Request) {
	var b64 string
	if r.Method == http.MethodGet {
		b64, _ = strings.CutPrefix(r.Header.Get("Authorization"), "CMS ")
	} else {
		var in ApplyBody
		if err := httpapi.Decode(http.MaxBytesReader(w, r.Body, maxNoticesBody), &in, maxNoticesBody); err != nil {
			a.s.writeErr(w, r, fmt.Errorf("%w: %w", errBody, err))
			return
		}
		b64 = in.CMS
	}
	der, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(der) == 0 || len(der) > maxNoticesBody {
		a.s.writeErr(w, r, errBody)
		return
	}
	list, err := a.s.Notices(r.Context(), der)
	if err != nil {
		a.s.writeErr(w, r, err)
		return
	}
	if list == nil {
		list = []Notice{}
	}
	w.Header().Set("Cache-Control", "no-store")
	httpapi.WriteJSON(w, http.StatusOK, list)
}
