package eligibility

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/internal/ratelimit"
	"github.com/mynaplat/mynaplat/web"
)

// ClinicPages are the facility's back office (/clinic/): staff log in with
// the facility code and key, see the facility's recorded checks and the
// terminals' provisional ones, and run the batch pre-check (一括照会) of a
// reservation list. The batch API for programs is separate: see BatchRoutes.
type ClinicPages struct {
	s           *Service
	site        *web.Site
	pages       *web.Pages
	provisional func(ctx context.Context, facility string) ([]ProvisionalCheck, error)
	worker      *BatchWorker
	logger      *slog.Logger
}

// ClinicPagesConfig holds what the clinic pages need.
type ClinicPagesConfig struct {
	Site *web.Site
	// Provisional lists the facility's checks its terminals made offline
	// and have not yet sent; nil shows none.
	Provisional func(ctx context.Context, facility string) ([]ProvisionalCheck, error)
	// Worker is woken when a list is uploaded; nil leaves the batch to a
	// worker's poll.
	Worker *BatchWorker
}

// ClinicPages parses the clinic templates.
func (s *Service) ClinicPages(cfg ClinicPagesConfig) (*ClinicPages, error) {
	if cfg.Site == nil {
		return nil, errors.New("eligibility: clinic pages need a web.Site")
	}
	pages, err := cfg.Site.Parse(templates, "templates/clinic/*.html")
	if err != nil {
		return nil, err
	}
	return &ClinicPages{s: s, site: cfg.Site, pages: pages, provisional: cfg.Provisional, worker: cfg.Worker, logger: cfg.Site.Logger()}, nil
}

// Routes registers the pages under /clinic/.
func (p *ClinicPages) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /clinic/{$}", p.home)
	mux.HandleFunc("POST /clinic/login", p.login)
	mux.HandleFunc("POST /clinic/logout", p.logout)
	mux.HandleFunc("GET /clinic/batch", p.batches)
	mux.HandleFunc("POST /clinic/batch", p.upload)
	mux.HandleFunc("GET /clinic/batch/sample.csv", p.sample)
	mux.HandleFunc("GET /clinic/batch/{id}", p.batch)
	mux.HandleFunc("GET /clinic/batch/{id}/status", p.status)
	mux.HandleFunc("GET /clinic/batch/{id}/results.csv", p.resultsCSV)
	mux.HandleFunc("GET /clinic/batch.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		http.ServeFileFS(w, r, templates, "templates/clinic/batch.js")
	})
}

// Links are the home page entries.
func (p *ClinicPages) Links() []web.Link {
	const sec = "医療機関 / Medical facilities"
	return []web.Link{
		{Section: sec, TitleJA: "医療機関の管理画面", TitleEN: "Facility back office",
			DescJA: "資格確認の記録と未送信の仮確認", DescEN: "Recorded eligibility checks and provisional ones not yet sent", Path: "/clinic/"},
		{Section: sec, TitleJA: "一括照会", TitleEN: "Batch pre-check",
			DescJA: "予約一覧（CSV）の資格をまとめて確認", DescEN: "Check the coverage of a reservation list (CSV) at once", Path: "/clinic/batch"},
	}
}

// sessionFacility is the session key of the logged-in facility's code.
const sessionFacility = "clinic:facility"

// facility returns the logged-in facility, or sends the browser to the
// login form and returns "".
func (p *ClinicPages) facility(w http.ResponseWriter, r *http.Request) (string, *web.Session) {
	ss, err := p.site.Session(w, r)
	if err != nil {
		p.logger.ErrorContext(r.Context(), "clinic: session", "err", err)
		p.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return "", nil
	}
	f := ss.Get(sessionFacility)
	if f == "" {
		ss.SetFlash(web.Flash{Kind: "warn", JA: "医療機関コードと施設キーでログインしてください。", EN: "Log in with the facility code and key."})
		p.save(r, ss)
		http.Redirect(w, r, "/clinic/", http.StatusSeeOther)
	}
	return f, ss
}

func (p *ClinicPages) save(r *http.Request, ss *web.Session) {
	if err := ss.Save(r.Context()); err != nil {
		p.logger.ErrorContext(r.Context(), "clinic: save session", "err", err)
	}
}

type clinicHeader struct {
	Code, Name string
}

func (p *ClinicPages) header(ctx context.Context, code string) clinicHeader {
	name, err := p.s.FacilityName(ctx, code)
	if err != nil {
		p.logger.WarnContext(ctx, "clinic: facility name", "facility", code, "err", err)
	}
	return clinicHeader{Code: code, Name: name}
}

// staffModeNames are the ways a check is made, as staff read them.
var staffModeNames = map[string][2]string{
	ModeCard: {"カード", "Card"}, ModeOffline: {"オフライン（確定済み）", "Offline (confirmed)"},
	ModePaper: {"資格確認書", "Eligibility certificate"}, ModeBatch: {"一括照会", "Batch pre-check"},
}

// validityEN are the five answers in English, shown after the Japanese.
var validityEN = map[Validity]string{
	Valid: "valid", Invalid: "invalid", InvalidNewer: "invalid, newer coverage exists",
	NoCoverage: "no coverage found", MultipleMatch: "multiple matches",
}

type clinicCheckRow struct {
	At             time.Time
	Terminal       string
	ModeJA, ModeEN string
	Validity       Validity
	ValidityEN     string
	WarnJA, WarnEN string
}

type clinicHomeData struct {
	LoggedIn       bool
	Facility       clinicHeader
	Checks         []clinicCheckRow
	Provisional    []ProvisionalCheck
	ProvisionalErr bool
}

// clinicCheckLimit is how many recent checks the home page lists.
const clinicCheckLimit = 200

func (p *ClinicPages) home(w http.ResponseWriter, r *http.Request) {
	ss, err := p.site.Session(w, r)
	if err != nil {
		p.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	code := ss.Get(sessionFacility)
	if code == "" {
		p.pages.Render(w, r, http.StatusOK, "login", nil)
		return
	}
	ctx := r.Context()
	d := clinicHomeData{LoggedIn: true, Facility: p.header(ctx, code)}
	checks, err := p.s.FacilityChecks(ctx, code, clinicCheckLimit)
	if err != nil {
		p.logger.ErrorContext(r.Context(), "clinic: checks", "facility", code, "err", err)
		p.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	for _, c := range checks {
		m, ok := staffModeNames[c.Mode]
		if !ok {
			m = [2]string{c.Mode, c.Mode}
		}
		row := clinicCheckRow{At: c.At, Terminal: c.Terminal, ModeJA: m[0], ModeEN: m[1], Validity: Validity(c.Validity), ValidityEN: validityEN[Validity(c.Validity)]}
		switch c.Warning {
		case "":
		case WarnCertExpired:
			row.WarnJA, row.WarnEN = "電子証明書の有効期限切れ（3か月以内）：更新をご案内ください", "Certificate expired (within 3 months): tell the patient to renew it"
		default:
			row.WarnJA, row.WarnEN = c.Warning, c.Warning
		}
		d.Checks = append(d.Checks, row)
	}
	if p.provisional != nil {
		d.Provisional, err = p.provisional(ctx, code)
		if err != nil {
			p.logger.ErrorContext(r.Context(), "clinic: provisional checks", "facility", code, "err", err)
			d.ProvisionalErr = true
		}
	}
	p.pages.Render(w, r, http.StatusOK, "checks", d)
}

func (p *ClinicPages) login(w http.ResponseWriter, r *http.Request) {
	code := strings.TrimSpace(r.PostFormValue("code"))
	key := strings.TrimSpace(r.PostFormValue("key"))
	account, source := "clinic:"+code, ratelimit.Source(r)
	if d := p.site.Logins().Check(account, source); d > 0 {
		p.site.TooMany(w, r, d)
		return
	}
	f, err := p.s.FacilityByKey(r.Context(), key)
	p.site.Logins().Done(account, source, err == nil && key != "" && f == code)
	ss, serr := p.site.Session(w, r)
	if serr != nil {
		p.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	if err != nil || key == "" || f != code {
		p.logger.InfoContext(r.Context(), "clinic: login refused", "facility", code)
		ss.SetFlash(web.Flash{Kind: "error", JA: "医療機関コードまたは施設キーが違います。登録時に発行された施設キーを確認してください。",
			EN: "The facility code or the facility key is wrong. Check the key issued at registration."})
		p.save(r, ss)
		http.Redirect(w, r, "/clinic/", http.StatusSeeOther)
		return
	}
	// A new session at login: an id planted before it is worth nothing.
	if err := ss.Destroy(r.Context(), w); err != nil {
		p.logger.ErrorContext(r.Context(), "clinic: rotate session", "err", err)
	}
	if ss, serr = p.site.Session(w, r); serr != nil {
		p.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	ss.Set(sessionFacility, f)
	ss.SetFlash(web.Flash{Kind: "ok", JA: "ログインしました。", EN: "Logged in."})
	p.save(r, ss)
	p.logger.InfoContext(r.Context(), "clinic: login", "facility", f)
	http.Redirect(w, r, "/clinic/", http.StatusSeeOther)
}

func (p *ClinicPages) logout(w http.ResponseWriter, r *http.Request) {
	ss, err := p.site.Session(w, r)
	if err != nil {
		p.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	ss.Delete(sessionFacility)
	ss.SetFlash(web.Flash{Kind: "ok", JA: "ログアウトしました。", EN: "Logged out."})
	p.save(r, ss)
	http.Redirect(w, r, "/clinic/", http.StatusSeeOther)
}

type clinicBatchesData struct {
	Facility clinicHeader
	Batches  []Batch
	MaxRows  int
}

func (p *ClinicPages) batches(w http.ResponseWriter, r *http.Request) {
	code, _ := p.facility(w, r)
	if code == "" {
		return
	}
	list, err := p.s.Batches(r.Context(), code, 50)
	if err != nil {
		p.logger.ErrorContext(r.Context(), "clinic: batches", "err", err)
		p.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	p.pages.Render(w, r, http.StatusOK, "batches", clinicBatchesData{Facility: p.header(r.Context(), code), Batches: list, MaxRows: MaxBatchRows})
}

func (p *ClinicPages) upload(w http.ResponseWriter, r *http.Request) {
	code, ss := p.facility(w, r)
	if code == "" {
		return
	}
	back := func(kind, ja, en string) {
		ss.SetFlash(web.Flash{Kind: kind, JA: ja, EN: en})
		p.save(r, ss)
		http.Redirect(w, r, "/clinic/batch", http.StatusSeeOther)
	}
	file, fh, err := r.FormFile("file")
	if err != nil {
		back("error", "CSV ファイルを選んでください。", "Choose a CSV file.")
		return
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, MaxBatchBytes+1))
	if err != nil {
		back("error", "ファイルを読めませんでした。もう一度お試しください。", "The file could not be read; try again.")
		return
	}
	b, err := p.s.CreateBatch(r.Context(), code, fh.Filename, data)
	if fe, ok := errors.AsType[*FileError](err); ok {
		back("error", "このファイルは受け付けられません："+fe.JA, "This file was refused: "+fe.EN)
		return
	}
	if err != nil {
		p.logger.ErrorContext(r.Context(), "clinic: create batch", "err", err)
		back("error", "一括照会を登録できませんでした。しばらくしてから再度お試しください。", "The batch could not be stored; try again shortly.")
		return
	}
	p.worker.Notify()
	ss.SetFlash(web.Flash{Kind: "ok", JA: "予約一覧を受け付けました（" + strconv.Itoa(b.Total) + " 件）。照会しています。",
		EN: "The reservation list was accepted (" + strconv.Itoa(b.Total) + " rows) and is being checked."})
	p.save(r, ss)
	http.Redirect(w, r, "/clinic/batch/"+b.ID, http.StatusSeeOther)
}

type clinicBatchRow struct {
	BatchResult
	ValidityEN string
}

type clinicBatchData struct {
	Facility clinicHeader
	Batch    *Batch
	Rows     []clinicBatchRow
}

func (p *ClinicPages) batch(w http.ResponseWriter, r *http.Request) {
	code, _ := p.facility(w, r)
	if code == "" {
		return
	}
	b, rows, err := p.s.BatchResults(r.Context(), code, r.PathValue("id"))
	if errors.Is(err, ErrNotFound) {
		p.site.NotFound().ServeHTTP(w, r)
		return
	}
	if err != nil {
		p.logger.ErrorContext(r.Context(), "clinic: batch", "err", err)
		p.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	d := clinicBatchData{Facility: p.header(r.Context(), code), Batch: b}
	if b.Status == BatchDone {
		for _, row := range rows {
			d.Rows = append(d.Rows, clinicBatchRow{row, validityEN[row.Validity]})
		}
	}
	p.pages.Render(w, r, http.StatusOK, "batch", d)
}

// status is the batch page's progress, polled by batch.js.
func (p *ClinicPages) status(w http.ResponseWriter, r *http.Request) {
	ss, err := p.site.Session(w, r)
	if err != nil || ss.Get(sessionFacility) == "" {
		p.s.writeErr(w, r, errNoLogin)
		return
	}
	b, err := p.s.Batch(r.Context(), ss.Get(sessionFacility), r.PathValue("id"))
	if err != nil {
		p.s.writeErr(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, batchStatusJSON(b))
}

func (p *ClinicPages) resultsCSV(w http.ResponseWriter, r *http.Request) {
	code, _ := p.facility(w, r)
	if code == "" {
		return
	}
	p.s.writeBatchCSV(w, r, code, r.PathValue("id"), func(err error) {
		switch {
		case errors.Is(err, ErrNotFound):
			p.site.NotFound().ServeHTTP(w, r)
			return
		case errors.Is(err, errRunning):
			p.s.writeErr(w, r, err)
			return
		}
		p.logger.ErrorContext(r.Context(), "clinic: results", "err", err)
		p.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
	})
}

// sampleCSV is a reservation list to start from.
const sampleCSV = "\ufeff保険者番号,記号,番号,生年月日,枝番,予約\r\n" +
	"06230012,12,345,1975-06-30,00,11/25 09:00 酒田様\r\n" +
	"39123456,,00012345,S11.11.11,,11/25 10:30\r\n"

func (p *ClinicPages) sample(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="reservations-sample.csv"`)
	io.WriteString(w, sampleCSV)
}
