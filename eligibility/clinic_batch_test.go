package eligibility

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// clinicFacility is the facility of the clinic tests.
const clinicFacility = "0612345678"

// clinicSetup opens the service with 酒田 一郎 covered (06230012/12/345),
// 鳥海 花 whose coverage ended (01060011/7/777), and a facility; it returns
// the facility's key.
func clinicSetup(t *testing.T, db *store.DB) (*Service, string) {
	t.Helper()
	ctx := context.Background()
	s := open(t, db)
	if _, err := s.AddInsured(ctx, insured("06230012", "345", ichiro, day(2020, 4, 1))); err != nil {
		t.Fatal(err)
	}
	hana := Person{Name: "鳥海　花", Kana: "チョウカイ　ハナ", BirthDate: day(1990, 1, 1), Sex: 2, Address: "山形県酒田市光ケ丘"}
	ended := insured("01060011", "777", hana, day(2015, 4, 1))
	ended.Symbol, ended.CopayPercent = "7", 30
	in, err := s.AddInsured(ctx, ended)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.EndCoverage(ctx, in.ID, day(2025, 4, 1)); err != nil {
		t.Fatal(err)
	}
	key, err := s.AddFacility(ctx, clinicFacility, "日本海総合病院")
	if err != nil {
		t.Fatal(err)
	}
	return s, key
}

// clinicMixedCSV has a valid row, an ended coverage, an unknown one and a
// bad date.
const clinicMixedCSV = "\ufeff保険者番号,記号,番号,生年月日,枝番,予約\r\n" +
	"06230012,12,345,S50.6.30,00,09:00 酒田様\r\n" +
	"01060011,7,777,1990-01-01,,09:30 鳥海様\r\n" +
	"062049,1,999,1980-01-01,,10:00 初診\r\n" +
	"06230012,12,345,1975-13-01,,10:30 誤記\r\n"

type clinicRowResult struct {
	Row      int
	Label    string
	Validity Validity
	Insurer  string
	Copay    int
	Error    bool
}

var clinicMixedWant = []clinicRowResult{
	{1, "09:00 酒田様", Valid, "06230012", 30, false},
	{2, "09:30 鳥海様", Invalid, "01060011", 30, false},
	{3, "10:00 初診", NoCoverage, "", 0, false},
	{4, "10:30 誤記", "", "", 0, true},
}

func clinicResults(t *testing.T, s *Service, facility, id string) (*Batch, []clinicRowResult) {
	t.Helper()
	b, rows, err := s.BatchResults(context.Background(), facility, id)
	if err != nil {
		t.Fatal(err)
	}
	var out []clinicRowResult
	for _, r := range rows {
		out = append(out, clinicRowResult{r.Row, r.Label, r.Validity, r.CovInsurer, r.CopayPercent, r.ErrorJA != ""})
	}
	return b, out
}

func clinicCountChecks(t *testing.T, s *Service) int {
	t.Helper()
	var n int
	if err := s.db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM elig_checks WHERE facility = $1 AND mode = $2`, clinicFacility, ModeBatch).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestClinicBatchRuns(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, _ := clinicSetup(t, db)
		b, err := s.CreateBatch(ctx, clinicFacility, "reservations.csv", []byte(clinicMixedCSV))
		if err != nil {
			t.Fatal(err)
		}
		if b.Total != 4 || b.Done != 1 || b.Errors != 1 || b.Status != BatchRunning {
			t.Fatalf("created %+v", b)
		}
		if err := s.RunBatches(ctx); err != nil {
			t.Fatal(err)
		}
		got, rows := clinicResults(t, s, clinicFacility, b.ID)
		if got.Status != BatchDone || got.Done != 4 || got.Errors != 1 || got.Percent() != 100 || got.FinishedAt.IsZero() {
			t.Errorf("batch %+v", got)
		}
		if diff := cmp.Diff(clinicMixedWant, rows); diff != "" {
			t.Errorf("results (-want +got):\n%s", diff)
		}
		if n := clinicCountChecks(t, s); n != 3 {
			t.Errorf("%d batch checks recorded, want 3", n)
		}
		// They show in the facility's checks as batch checks.
		checks, err := s.FacilityChecks(ctx, clinicFacility, 10)
		if err != nil || len(checks) != 3 || checks[0].Mode != ModeBatch || checks[0].Terminal != BatchTerminal {
			t.Errorf("facility checks %+v %v", checks, err)
		}
		// Another facility does not see it.
		if _, err := s.Batch(ctx, "0699999999", b.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("other facility: %v", err)
		}
		list, err := s.Batches(ctx, clinicFacility, 10)
		if err != nil || len(list) != 1 || list[0].ID != b.ID {
			t.Errorf("batches %+v %v", list, err)
		}
		// The CSV for Excel.
		var out strings.Builder
		_, all, _ := s.BatchResults(ctx, clinicFacility, b.ID)
		if err := BatchResultsCSV(&out, all); err != nil {
			t.Fatal(err)
		}
		csv := out.String()
		for _, want := range []string{"\ufeff行,予約,保険者番号", "\r\n1,09:00 酒田様,06230012,12,345,00,1975-06-30,有効,06230012,30,,\r\n", "無効", "該当資格なし", "生年月日"} {
			if !strings.Contains(csv, want) {
				t.Errorf("results CSV lacks %q:\n%s", want, csv)
			}
		}
	})
}

func TestClinicMalformedBatchStoresNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, _ := clinicSetup(t, db)
		if _, err := s.CreateBatch(ctx, clinicFacility, "x.csv", []byte("name,birth\nx,y\n")); !errors.Is(err, ErrBadFile) {
			t.Fatalf("err = %v", err)
		}
		var n int
		if err := s.db.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM elig_batches) + (SELECT COUNT(*) FROM elig_batch_rows)`).Scan(&n); err != nil || n != 0 {
			t.Errorf("%d rows stored, %v", n, err)
		}
	})
}

// TestClinicBatchResumes interrupts a batch twice — once between a row's
// check and its result (a crash), once by stopping the worker — and
// resumes it: every row gets its result and no row is checked twice.
func TestClinicBatchResumes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, _ := clinicSetup(t, db)
		b, err := s.CreateBatch(ctx, clinicFacility, "", []byte(clinicMixedCSV))
		if err != nil {
			t.Fatal(err)
		}
		// A crash after row 1 was checked and recorded, before its result
		// was stored.
		pending, err := s.pendingRows(ctx, b.ID, 10)
		if err != nil || len(pending) != 3 {
			t.Fatalf("pending %+v %v", pending, err)
		}
		if _, err := s.paperCheck(ctx, clinicFacility, BatchTerminal, ModeBatch, batchClientID(b.ID, pending[0].no), pending[0].key); err != nil {
			t.Fatal(err)
		}
		// A worker that is stopped after the next row.
		wctx, stop := context.WithCancel(ctx)
		var mu sync.Mutex
		var seen []int
		w := s.StartBatchWorker(wctx, BatchWorkerConfig{Poll: time.Hour, afterRow: func(_ string, row int) {
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, row)
			if len(seen) == 2 {
				stop()
			}
		}})
		w.Wait()
		got, _ := clinicResults(t, s, clinicFacility, b.ID)
		if got.Status != BatchRunning || got.Done != 3 {
			t.Fatalf("after the stop: %+v (rows %v)", got, seen)
		}
		// The server starts again: the worker resumes the batch at once.
		wctx, stop = context.WithCancel(ctx)
		defer stop()
		w = s.StartBatchWorker(wctx, BatchWorkerConfig{Poll: 10 * time.Millisecond})
		deadline := time.Now().Add(20 * time.Second)
		for got.Status != BatchDone && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
			got, _ = clinicResults(t, s, clinicFacility, b.ID)
		}
		stop()
		w.Wait()
		got, rows := clinicResults(t, s, clinicFacility, b.ID)
		if got.Status != BatchDone || got.Done != 4 || got.Errors != 1 {
			t.Fatalf("after resuming: %+v", got)
		}
		if diff := cmp.Diff(clinicMixedWant, rows); diff != "" {
			t.Errorf("results (-want +got):\n%s", diff)
		}
		if n := clinicCountChecks(t, s); n != 3 {
			t.Errorf("%d batch checks recorded, want 3 (one per valid row)", n)
		}
	})
}
