package eligibility

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// BatchTerminal is the terminal name batch pre-checks are recorded under.
const BatchTerminal = "batch"

// Statuses of a batch.
const (
	BatchRunning = "running"
	BatchDone    = "done"
)

// Batch is one uploaded reservation list and its progress.
type Batch struct {
	ID         string    `json:"batch_id"`
	Facility   string    `json:"-"`
	FileName   string    `json:"file_name,omitempty"`
	Status     string    `json:"status"`
	Total      int       `json:"total"`
	Done       int       `json:"done"`
	Errors     int       `json:"errors"`
	CreatedAt  time.Time `json:"created_at"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
}

// Percent is the progress, 0 to 100.
func (b *Batch) Percent() int {
	if b.Total == 0 {
		return 100
	}
	return b.Done * 100 / b.Total
}

// CreateBatch parses a reservation list and stores it as a job of the
// facility, to be checked by the batch worker. Rows with errors are stored
// with their error (done at once); a malformed file is refused whole with an
// error wrapping ErrBadFile, and nothing is stored.
func (s *Service) CreateBatch(ctx context.Context, facility, fileName string, data []byte) (*Batch, error) {
	if facility == "" {
		return nil, fmt.Errorf("%w: facility is required", ErrInvalid)
	}
	rows, err := ParseBatchCSV(data)
	if err != nil {
		return nil, err
	}
	now := s.now()
	b := &Batch{ID: newID(), Facility: facility, FileName: clip(fileName, 100), Status: BatchRunning, Total: len(rows),
		CreatedAt: time.UnixMilli(now.UnixMilli()).UTC()}
	for _, r := range rows {
		if r.ErrJA != "" {
			b.Done++
			b.Errors++
		}
	}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, qBatchInsert, b.ID, facility, b.FileName, b.Status, b.Total, b.Done, b.Errors, now.UnixMilli()); err != nil {
			return err
		}
		stmt, err := tx.PrepareContext(ctx, qBatchRowInsert)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i, r := range rows {
			var done any
			birth := ""
			if !r.Key.BirthDate.IsZero() {
				birth = civil(r.Key.BirthDate)
			}
			if r.ErrJA != "" {
				done = now.UnixMilli()
			}
			if _, err := stmt.ExecContext(ctx, b.ID, i+1, r.Line, r.Label, r.Key.Insurer, r.Key.Symbol, r.Key.Number, r.Key.Branch,
				birth, r.ErrJA, r.ErrEN, done); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("eligibility: store batch: %w", err)
	}
	s.logger.InfoContext(ctx, "batch created", "batch", b.ID, "facility", facility, "rows", b.Total, "row_errors", b.Errors)
	return b, nil
}

func scanBatch(sc interface{ Scan(...any) error }) (*Batch, error) {
	var b Batch
	var created int64
	var finished sql.NullInt64
	if err := sc.Scan(&b.ID, &b.Facility, &b.FileName, &b.Status, &b.Total, &b.Done, &b.Errors, &created, &finished); err != nil {
		return nil, err
	}
	b.CreatedAt = time.UnixMilli(created).UTC()
	if finished.Valid {
		b.FinishedAt = time.UnixMilli(finished.Int64).UTC()
	}
	return &b, nil
}

// Batch returns a facility's batch; another facility's is ErrNotFound.
func (s *Service) Batch(ctx context.Context, facility, id string) (*Batch, error) {
	b, err := scanBatch(s.db.QueryRowContext(ctx, qBatchGet, id))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && b.Facility != facility) {
		return nil, fmt.Errorf("%w: batch %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("eligibility: read batch: %w", err)
	}
	return b, nil
}

// Batches lists a facility's batches, newest first, at most limit.
func (s *Service) Batches(ctx context.Context, facility string, limit int) ([]Batch, error) {
	rows, err := s.db.QueryContext(ctx, qBatchesOf, facility, limit)
	if err != nil {
		return nil, fmt.Errorf("eligibility: read batches: %w", err)
	}
	defer rows.Close()
	var out []Batch
	for rows.Next() {
		b, err := scanBatch(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *b)
	}
	return out, rows.Err()
}

// BatchResult is one row of a batch with its answer.
type BatchResult struct {
	Row          int      `json:"row"`
	Line         int      `json:"line"`
	Label        string   `json:"label"`
	Insurer      string   `json:"insurer"`
	Symbol       string   `json:"symbol"`
	Number       string   `json:"number"`
	Branch       string   `json:"branch"`
	BirthDate    string   `json:"birth_date"`
	Done         bool     `json:"done"`
	Validity     Validity `json:"validity,omitempty"`
	CovInsurer   string   `json:"coverage_insurer,omitempty"` // the insurer of the coverage found
	CopayPercent int      `json:"copay_percent,omitempty"`
	ErrorJA      string   `json:"error_ja,omitempty"`
	ErrorEN      string   `json:"error_en,omitempty"`
}

// BatchResults lists the rows of a facility's batch in file order.
func (s *Service) BatchResults(ctx context.Context, facility, id string) (*Batch, []BatchResult, error) {
	b, err := s.Batch(ctx, facility, id)
	if err != nil {
		return nil, nil, err
	}
	rows, err := s.db.QueryContext(ctx, qBatchResults, id)
	if err != nil {
		return nil, nil, fmt.Errorf("eligibility: read batch rows: %w", err)
	}
	defer rows.Close()
	var out []BatchResult
	for rows.Next() {
		var r BatchResult
		if err := rows.Scan(&r.Row, &r.Line, &r.Label, &r.Insurer, &r.Symbol, &r.Number, &r.Branch, &r.BirthDate, &r.Validity,
			&r.CovInsurer, &r.CopayPercent, &r.ErrorJA, &r.ErrorEN, &r.Done); err != nil {
			return nil, nil, err
		}
		out = append(out, r)
	}
	return b, out, rows.Err()
}

// batchClientID is the client ID of a row's check: a row checked again
// (after an interruption) is answered from the recorded check.
func batchClientID(batchID string, row int) string {
	return "batch:" + batchID + ":" + strconv.Itoa(row)
}

// pendingRow is a row still to be checked.
type pendingRow struct {
	no  int
	key CardKey
}

// runBatch checks the batch's remaining rows in order until none is left or
// ctx ends. Each row's check is recorded under the row's client ID, and the
// row's result and the progress are written in one transaction after it, so
// a run interrupted anywhere checks no row twice when it resumes.
func (s *Service) runBatch(ctx context.Context, id string, afterRow func(int)) error {
	b, err := scanBatch(s.db.QueryRowContext(ctx, qBatchGet, id))
	if err != nil {
		return fmt.Errorf("eligibility: read batch %s: %w", id, err)
	}
	for {
		pending, err := s.pendingRows(ctx, id, 50)
		if err != nil {
			return err
		}
		if len(pending) == 0 {
			break
		}
		for _, p := range pending {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := s.checkRow(ctx, b, p); err != nil {
				return err
			}
			if afterRow != nil {
				afterRow(p.no)
			}
		}
	}
	if _, err := s.db.Write(ctx, qBatchFinish, s.now().UnixMilli(), id); err != nil {
		return fmt.Errorf("eligibility: finish batch %s: %w", id, err)
	}
	s.logger.InfoContext(ctx, "batch done", "batch", id, "facility", b.Facility)
	return nil
}

func (s *Service) pendingRows(ctx context.Context, id string, limit int) ([]pendingRow, error) {
	rows, err := s.db.QueryContext(ctx, qBatchPending, id, limit)
	if err != nil {
		return nil, fmt.Errorf("eligibility: read batch rows: %w", err)
	}
	defer rows.Close()
	var out []pendingRow
	for rows.Next() {
		var p pendingRow
		var birth string
		if err := rows.Scan(&p.no, &p.key.Insurer, &p.key.Symbol, &p.key.Number, &p.key.Branch, &birth); err != nil {
			return nil, err
		}
		if p.key.BirthDate, err = parseCivil(birth); err != nil {
			return nil, fmt.Errorf("eligibility: batch %s row %d: stored birth date %q: %w", id, p.no, birth, err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// checkRow checks one row and stores its result with the progress.
func (s *Service) checkRow(ctx context.Context, b *Batch, p pendingRow) error {
	res, err := s.paperCheck(ctx, b.Facility, BatchTerminal, ModeBatch, batchClientID(b.ID, p.no), p.key)
	var validity, checkID any
	insurer, copay, errJA, errEN, nerr := "", 0, "", "", 0
	switch {
	case errors.Is(err, ErrInvalid):
		// The parser lets through only what Lookup accepts; this is a
		// safety net, reported on the row.
		errJA, errEN, nerr = "照会できない内容です。", "The row cannot be checked: "+err.Error(), 1
	case err != nil:
		return fmt.Errorf("eligibility: batch %s row %d: %w", b.ID, p.no, err)
	default:
		validity, checkID = string(res.Validity), res.ID
		if res.Coverage != nil {
			insurer, copay = res.Coverage.Insurer, res.Coverage.CopayPercent
		}
	}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, qBatchRowDone, validity, checkID, insurer, copay, errJA, errEN, s.now().UnixMilli(), b.ID, p.no)
		if err != nil {
			return err
		}
		if n, err := r.RowsAffected(); err != nil || n == 0 {
			return err // another worker stored it first: no progress to add
		}
		_, err = tx.ExecContext(ctx, qBatchProgress, nerr, b.ID)
		return err
	})
	if err != nil {
		return fmt.Errorf("eligibility: batch %s row %d: store result: %w", b.ID, p.no, err)
	}
	return nil
}

// BatchWorkerConfig tunes the batch worker.
type BatchWorkerConfig struct {
	// Concurrency is how many batches are checked at once (2 when 0);
	// the rows of one batch are checked one after the other.
	Concurrency int
	// Poll is how often the database is looked at for batches to run, so
	// that batches created by other instances, or left running by a
	// restart, are picked up (5 s when 0). Notify wakes the worker at once.
	Poll time.Duration
	// afterRow, in tests, is called after each row is stored.
	afterRow func(batchID string, row int)
}

// BatchWorker checks the rows of running batches in the background.
type BatchWorker struct {
	s    *Service
	cfg  BatchWorkerConfig
	wake chan struct{}
	done chan struct{}
	stop context.CancelFunc

	mu      sync.Mutex
	running map[string]bool
	wg      sync.WaitGroup
}

// StartBatchWorker starts checking batches in the background until ctx
// ends: at once every batch left running (by a restart, say), then new ones
// as Notify or the poll finds them. Wait returns after ctx ended and the
// batches being checked stopped.
func (s *Service) StartBatchWorker(ctx context.Context, cfg BatchWorkerConfig) *BatchWorker {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 2
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 5 * time.Second
	}
	ctx, stop := context.WithCancel(ctx)
	w := &BatchWorker{s: s, cfg: cfg, wake: make(chan struct{}, 1), done: make(chan struct{}), stop: stop, running: map[string]bool{}}
	go w.loop(ctx)
	return w
}

// Close stops the worker and waits for the checks it is running to end:
// the owner of the worker stops it without keeping its context's cancel.
func (w *BatchWorker) Close() error {
	w.stop()
	<-w.done
	return nil
}

// Notify tells the worker a batch was created. It never blocks; a nil
// worker ignores it.
func (w *BatchWorker) Notify() {
	if w == nil {
		return
	}
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Wait blocks until the worker has stopped (after its context ended).
func (w *BatchWorker) Wait() { <-w.done }

func (w *BatchWorker) loop(ctx context.Context) {
	defer close(w.done)
	defer w.wg.Wait()
	t := time.NewTicker(w.cfg.Poll)
	defer t.Stop()
	for {
		w.startRunning(ctx)
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		case <-t.C:
		}
	}
}

// startRunning starts a goroutine for each running batch not yet being
// checked, up to the concurrency.
func (w *BatchWorker) startRunning(ctx context.Context) {
	ids, err := w.s.runningBatches(ctx)
	if err != nil {
		if ctx.Err() == nil {
			w.s.logger.ErrorContext(ctx, "batch worker: list batches", "err", err)
		}
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, id := range ids {
		if len(w.running) >= w.cfg.Concurrency {
			return
		}
		if w.running[id] {
			continue
		}
		w.running[id] = true
		w.wg.Go(func() {
			var after func(int)
			if w.cfg.afterRow != nil {
				after = func(row int) { w.cfg.afterRow(id, row) }
			}
			err := w.s.runBatch(ctx, id, after)
			if err != nil && ctx.Err() == nil {
				// Left running: the next poll tries again.
				w.s.logger.ErrorContext(ctx, "batch worker", "batch", id, "err", err)
			}
			w.mu.Lock()
			delete(w.running, id)
			w.mu.Unlock()
			if err == nil {
				w.Notify() // a slot is free: look for waiting batches
			}
		})
	}
}

func (s *Service) runningBatches(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, qBatchesRunning)
	if err != nil {
		return nil, fmt.Errorf("eligibility: list running batches: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// RunBatches checks every running batch to the end, one after the other,
// and returns: for tools and tests that do not run a worker.
func (s *Service) RunBatches(ctx context.Context) error {
	ids, err := s.runningBatches(ctx)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := s.runBatch(ctx, id, nil); err != nil {
			return err
		}
	}
	return nil
}
