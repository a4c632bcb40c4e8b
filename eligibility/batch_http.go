package eligibility

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/mynaplat/mynaplat/internal/httpapi"
)

// The batch pre-check API (一括照会) of a facility (Authorization: Bearer
// <facility key>); a facility sees only its own batches, another's is 404:
//
//	POST /eligibility/v1/batches                  body text/csv → 202 {"batch_id", "total", "errors"}
//	GET  /eligibility/v1/batches/{id}             → {"batch_id", "status", "done", "total", "errors", …}
//	GET  /eligibility/v1/batches/{id}/results.csv → the results (409 while running)
//
// The CSV is described at ParseBatchCSV; ?name= may name the file. A
// malformed file is 400 (413 when over 2 MiB) with nothing stored.

// BatchRoutes registers the batch API. worker, if not nil, is woken for
// each new batch; without it the batch waits for a worker's poll.
func (s *Service) BatchRoutes(mux *http.ServeMux, worker *BatchWorker) {
	mux.HandleFunc("POST /eligibility/v1/batches", s.facilityOnly(func(w http.ResponseWriter, r *http.Request, facility string) {
		s.serveCreateBatch(w, r, facility, worker)
	}))
	mux.HandleFunc("GET /eligibility/v1/batches/{id}", s.facilityOnly(s.serveBatchStatus))
	mux.HandleFunc("GET /eligibility/v1/batches/{id}/results.csv", s.facilityOnly(s.serveBatchCSV))
}

func (s *Service) serveCreateBatch(w http.ResponseWriter, r *http.Request, facility string, worker *BatchWorker) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "text/csv" && mt != "application/csv" && mt != "text/plain") {
		s.writeErr(w, r, errCSVType)
		return
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, MaxBatchBytes+1))
	if err != nil {
		s.writeErr(w, r, fmt.Errorf("%w: %w", errCSVRead, err))
		return
	}
	b, err := s.CreateBatch(r.Context(), facility, r.URL.Query().Get("name"), data)
	if _, ok := errors.AsType[*FileError](err); ok && len(data) > MaxBatchBytes {
		p := Rules.Problem(err)
		p.Status = http.StatusRequestEntityTooLarge
		httpapi.Write(w, p)
		return
	}
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	worker.Notify()
	w.Header().Set("Location", "/eligibility/v1/batches/"+b.ID)
	httpapi.WriteJSON(w, http.StatusAccepted, struct {
		ID     string `json:"batch_id"`
		Total  int    `json:"total"`
		Errors int    `json:"errors"`
	}{b.ID, b.Total, b.Errors})
}

func (s *Service) serveBatchStatus(w http.ResponseWriter, r *http.Request, facility string) {
	b, err := s.Batch(r.Context(), facility, r.PathValue("id"))
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, batchStatusJSON(b))
}

// batchStatus is a batch's progress on the wire.
type batchStatus struct {
	*Batch
	Percent int `json:"percent"`
}

func batchStatusJSON(b *Batch) batchStatus { return batchStatus{b, b.Percent()} }

func (s *Service) serveBatchCSV(w http.ResponseWriter, r *http.Request, facility string) {
	s.writeBatchCSV(w, r, facility, r.PathValue("id"), func(err error) { s.writeErr(w, r, err) })
}

// writeBatchCSV sends a finished batch's results; fail answers errors.
func (s *Service) writeBatchCSV(w http.ResponseWriter, r *http.Request, facility, id string, fail func(error)) {
	b, rows, err := s.BatchResults(r.Context(), facility, id)
	if err != nil {
		fail(err)
		return
	}
	if b.Status != BatchDone {
		fail(errRunning)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Disposition", `attachment; filename="batch-`+b.ID+`.csv"`)
	if err := BatchResultsCSV(w, rows); err != nil {
		s.logger.ErrorContext(r.Context(), "write batch results", "batch", id, "err", err)
	}
}

// BatchResultsCSV writes results as CSV for Excel: UTF-8 with a BOM, CRLF
// line ends, a Japanese header. Cells a spreadsheet would take for a formula
// (= + - @ first) are prefixed with an apostrophe.
func BatchResultsCSV(w io.Writer, rows []BatchResult) error {
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	cw.Write([]string{"行", "予約", "保険者番号", "記号", "番号", "枝番", "生年月日", "資格確認結果", "資格の保険者番号", "負担割合（%）", "エラー", "エラー（英語）"})
	for _, r := range rows {
		copay := ""
		if r.CopayPercent > 0 {
			copay = strconv.Itoa(r.CopayPercent)
		}
		cw.Write([]string{strconv.Itoa(r.Row), cell(r.Label), cell(r.Insurer), cell(r.Symbol), cell(r.Number), cell(r.Branch),
			r.BirthDate, string(r.Validity), r.CovInsurer, copay, r.ErrorJA, r.ErrorEN})
	}
	cw.Flush()
	return cw.Error()
}

// cell defuses a value a spreadsheet would evaluate (CSV injection).
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
