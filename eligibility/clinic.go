package eligibility

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/staff"
	"github.com/mynaplat/mynaplat/web"
)

// ClinicPages are the facility's back office (/clinic/{facility}/): its
// staff sign in with their own card at a staff terminal (package staff: a
// grant for office clinic:{facility}, role clinic staff, checked again on
// every request), see the facility's recorded checks and the terminals'
// provisional ones, and run the batch pre-check (一括照会) of a
// reservation list. The batch API for programs is separate: see
// BatchRoutes.
//
//	GET  /clinic/{facility}/                          the checks (or to the sign-in)
//	GET  /clinic/{facility}/signin                    the sign-in: to the staff terminal
//	POST /clinic/{facility}/login                     the staff terminal's card login
//	POST /clinic/{facility}/logout                    sign out
//	GET  /clinic/{facility}/batch                     the batches, and the upload form
//	POST /clinic/{facility}/batch                     upload a reservation list
//	GET  /clinic/{facility}/batch/{id}                one batch
//	GET  /clinic/{facility}/batch/{id}/status         its progress (JSON, polled by batch.js)
//	GET  /clinic/{facility}/batch/{id}/results.csv    its results
//	GET  /clinic/batch/sample.csv, /clinic/batch.js   the sample list and the page's script (no data)
type ClinicPages struct {
	s           *Service
	site        *web.Site
	pages       *web.Pages
	provisional func(ctx context.Context, facility string) ([]ProvisionalCheck, error)
	worker      *BatchWorker
	logger      *slog.Logger
	gate        *staff.Gate
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

// ClinicOffice is the staff directory's ID of a facility's back office.
func ClinicOffice(code string) string { return "clinic:" + code }

// ClinicHome is the first page of a facility's back office.
func ClinicHome(code string) string { return "/clinic/" + code + "/" }

// StaffOffice is the back offices as their gate knows them: the office
// of a path is clinic:{facility}, for a facility the service knows. Make the
// gate with staff.NewOfficeGate and pass it to SetStaff.
func (p *ClinicPages) StaffOffice() staff.Office {
	return staff.Office{Kind: "clinic", PathValue: "facility", Home: ClinicHome,
		Name: func(ctx context.Context, id string) (string, error) {
			if !facilityCode.MatchString(id) {
				return "", fmt.Errorf("%w: facility %q", ErrNotFound, id)
			}
			return p.s.FacilityName(ctx, id)
		}}
}

// SetStaff gives the back office its gate (made of StaffOffice). Without one the back office is not served at all: there
// is no other way in. Call it before Routes.
func (p *ClinicPages) SetStaff(g *staff.Gate) { p.gate = g }

// Routes registers the pages under /clinic/.
func (p *ClinicPages) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /clinic/batch/sample.csv", p.sample)
	mux.HandleFunc("GET /clinic/batch.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		http.ServeFileFS(w, r, templates, "templates/clinic/batch.js")
	})
	if p.gate == nil {
		return
	}
	mux.HandleFunc("GET /clinic/{facility}/{$}", p.staffOnly(p.home))
	p.gate.Mount(mux, "/clinic/{facility}/")
	mux.HandleFunc("GET /clinic/{facility}/batch", p.staffOnly(p.batches))
	mux.HandleFunc("POST /clinic/{facility}/batch", p.staffOnly(p.upload))
	mux.HandleFunc("GET /clinic/{facility}/batch/{id}", p.staffOnly(p.batch))
	mux.HandleFunc("GET /clinic/{facility}/batch/{id}/status", p.staffOnly(p.status))
	mux.HandleFunc("GET /clinic/{facility}/batch/{id}/results.csv", p.staffOnly(p.resultsCSV))
}

// demoFacility is the facility whose back office the home page links to:
// the demo's clinic staff member works there.
const demoFacility = "0611000019"

// Links are the home page entries.
func (p *ClinicPages) Links() []web.Link {
	const sec = "医療機関 / Medical facilities"
	return []web.Link{
		{Section: sec, TitleJA: "医療機関の管理画面", TitleEN: "Facility back office",
			DescJA: "資格確認の記録と未送信の仮確認", DescEN: "Recorded eligibility checks and provisional ones not yet sent", Path: ClinicHome(demoFacility)},
		{Section: sec, TitleJA: "一括照会", TitleEN: "Batch pre-check",
			DescJA: "予約一覧（CSV）の資格をまとめて確認", DescEN: "Check the coverage of a reservation list (CSV) at once", Path: ClinicHome(demoFacility) + "batch"},
	}
}

// clinicChrome is what every signed-in page shows: the facility and, in
// the staff strip, who is signed in.
type clinicChrome struct {
	Facility clinicHeader
	Staff    *staff.Session
}

// Home is the back office's first page; every link of its pages starts
// there.
func (c clinicChrome) Home() string { return ClinicHome(c.Facility.Code) }

// StaffStrip is the strip the site's layout shows on every office page.
func (c clinicChrome) StaffStrip() *web.StaffStrip { return c.Staff.Strip(c.Home() + "logout") }

// staffOnly runs h for a member of the path's facility's staff signed in
// there (the gate checks the grant on every request); anyone else gets
// the sign-in page.
func (p *ClinicPages) staffOnly(h func(http.ResponseWriter, *http.Request, *web.Session, clinicChrome)) http.HandlerFunc {
	return p.gate.Only(func(w http.ResponseWriter, r *http.Request, st *staff.Session) {
		ss, err := p.site.Session(w, r)
		if err != nil {
			p.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
			return
		}
		h(w, r, ss, clinicChrome{Facility: clinicHeader{Code: r.PathValue("facility"), Name: st.OfficeName}, Staff: st})
	})
}

func (p *ClinicPages) save(r *http.Request, ss *web.Session) {
	if err := ss.Save(r.Context()); err != nil {
		p.logger.ErrorContext(r.Context(), "clinic: save session", "err", err)
	}
}

type clinicHeader struct {
	Code, Name string
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
	clinicChrome
	Checks         []clinicCheckRow
	Provisional    []ProvisionalCheck
	ProvisionalErr bool
}

// clinicCheckLimit is how many recent checks the home page lists.
const clinicCheckLimit = 200

func (p *ClinicPages) home(w http.ResponseWriter, r *http.Request, _ *web.Session, c clinicChrome) {
	ctx, code := r.Context(), c.Facility.Code
	d := clinicHomeData{clinicChrome: c}
	checks, err := p.s.FacilityChecks(ctx, code, clinicCheckLimit)
	if err != nil {
		p.logger.ErrorContext(r.Context(), "clinic: checks", "facility", code, "err", err)
		p.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	for _, ck := range checks {
		m, ok := staffModeNames[ck.Mode]
		if !ok {
			m = [2]string{ck.Mode, ck.Mode}
		}
		row := clinicCheckRow{At: ck.At, Terminal: ck.Terminal, ModeJA: m[0], ModeEN: m[1], Validity: Validity(ck.Validity), ValidityEN: validityEN[Validity(ck.Validity)]}
		switch ck.Warning {
		case "":
		case WarnCertExpired:
			row.WarnJA, row.WarnEN = "電子証明書の有効期限切れ（3か月以内）：更新をご案内ください", "Certificate expired (within 3 months): tell the patient to renew it"
		default:
			row.WarnJA, row.WarnEN = ck.Warning, ck.Warning
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

type clinicBatchesData struct {
	clinicChrome
	Batches []Batch
	MaxRows int
}

func (p *ClinicPages) batches(w http.ResponseWriter, r *http.Request, _ *web.Session, c clinicChrome) {
	code := c.Facility.Code
	list, err := p.s.Batches(r.Context(), code, 50)
	if err != nil {
		p.logger.ErrorContext(r.Context(), "clinic: batches", "err", err)
		p.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	p.pages.Render(w, r, http.StatusOK, "batches", clinicBatchesData{clinicChrome: c, Batches: list, MaxRows: MaxBatchRows})
}

func (p *ClinicPages) upload(w http.ResponseWriter, r *http.Request, ss *web.Session, c clinicChrome) {
	code := c.Facility.Code
	back := func(kind, ja, en string) {
		ss.SetFlash(web.Flash{Kind: kind, JA: ja, EN: en})
		p.save(r, ss)
		http.Redirect(w, r, c.Home()+"batch", http.StatusSeeOther)
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
	p.logger.InfoContext(r.Context(), "clinic: batch uploaded", "facility", code, "batch", b.ID, "staff", c.Staff.Actor())
	p.worker.Notify()
	ss.SetFlash(web.Flash{Kind: "ok", JA: "予約一覧を受け付けました（" + strconv.Itoa(b.Total) + " 件）。照会しています。",
		EN: "The reservation list was accepted (" + strconv.Itoa(b.Total) + " rows) and is being checked."})
	p.save(r, ss)
	http.Redirect(w, r, c.Home()+"batch/"+b.ID, http.StatusSeeOther)
}

type clinicBatchRow struct {
	BatchResult
	ValidityEN string
}

type clinicBatchData struct {
	clinicChrome
	Batch *Batch
	Rows  []clinicBatchRow
}

func (p *ClinicPages) batch(w http.ResponseWriter, r *http.Request, _ *web.Session, c clinicChrome) {
	code := c.Facility.Code
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
	d := clinicBatchData{clinicChrome: c, Batch: b}
	if b.Status == BatchDone {
		for _, row := range rows {
			d.Rows = append(d.Rows, clinicBatchRow{row, validityEN[row.Validity]})
		}
	}
	p.pages.Render(w, r, http.StatusOK, "batch", d)
}

// status is the batch page's progress, polled by batch.js.
func (p *ClinicPages) status(w http.ResponseWriter, r *http.Request, _ *web.Session, c clinicChrome) {
	b, err := p.s.Batch(r.Context(), c.Facility.Code, r.PathValue("id"))
	if err != nil {
		p.s.writeErr(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, batchStatusJSON(b))
}

func (p *ClinicPages) resultsCSV(w http.ResponseWriter, r *http.Request, _ *web.Session, c clinicChrome) {
	p.s.writeBatchCSV(w, r, c.Facility.Code, r.PathValue("id"), func(err error) {
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
