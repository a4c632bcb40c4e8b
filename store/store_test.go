package store_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

func migrate(t *testing.T, db *store.DB) {
	t.Helper()
	if err := db.Migrate(context.Background(), "storetest", os.DirFS("testdata/migrations")); err != nil {
		t.Fatal(err)
	}
	// A second run finds nothing to do.
	if err := db.Migrate(context.Background(), "storetest", os.DirFS("testdata/migrations")); err != nil {
		t.Fatal(err)
	}
}

func TestTxCommitsAndRollsBack(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		migrate(t, db)
		ctx := context.Background()
		if err := db.Tx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO counters (name, n, data) VALUES ($1, $2, $3)`, "crl", 1, []byte{0x30, 0x00})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		boom := errors.New("boom")
		err := db.Tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `UPDATE counters SET n = n + 1 WHERE name = $1`, "crl"); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Tx error = %v, want boom", err)
		}
		var n int64
		var data []byte
		if err := db.QueryRowContext(ctx, `SELECT n, data FROM counters WHERE name = $1`, "crl").Scan(&n, &data); err != nil {
			t.Fatal(err)
		}
		if n != 1 || len(data) != 2 {
			t.Fatalf("after rollback n=%d data=%x, want 1 and 3000", n, data)
		}
		_, err = db.ExecContext(ctx, `INSERT INTO counters (name, n) VALUES ($1, $2)`, "crl", 5)
		if !store.IsUniqueViolation(err) {
			t.Fatalf("duplicate insert: %v, want a unique violation", err)
		}
	})
}

// TestTxConcurrentIncrements runs read-modify-write transactions from many
// goroutines; with serialization failures retried, no increment is lost.
func TestTxConcurrentIncrements(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		migrate(t, db)
		ctx := context.Background()
		if _, err := db.ExecContext(ctx, `INSERT INTO counters (name, n) VALUES ($1, $2)`, "c", 0); err != nil {
			t.Fatal(err)
		}
		const workers, each = 8, 10
		var wg sync.WaitGroup
		errs := make(chan error, workers*each)
		for range workers {
			wg.Go(func() {
				for range each {
					errs <- db.Tx(ctx, func(tx *sql.Tx) error {
						var n int64
						if err := tx.QueryRowContext(ctx, `SELECT n FROM counters WHERE name = $1`, "c").Scan(&n); err != nil {
							return err
						}
						_, err := tx.ExecContext(ctx, `UPDATE counters SET n = $1 WHERE name = $2`, n+1, "c")
						return err
					})
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		var n int64
		if err := db.QueryRowContext(ctx, `SELECT n FROM counters WHERE name = $1`, "c").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != workers*each {
			t.Fatalf("n = %d, want %d", n, workers*each)
		}
	})
}

func TestCheckPlaceholders(t *testing.T) {
	tests := []struct {
		q  string
		ok bool
	}{
		{`SELECT 1`, true},
		{`UPDATE t SET a = $1 WHERE b = $2 AND c = $1`, true},
		{`UPDATE t SET a = $2 WHERE b = $1`, false},
		{`SELECT $1, $3`, false},
	}
	for _, tc := range tests {
		t.Run(tc.q, func(t *testing.T) {
			if err := store.CheckPlaceholders(tc.q); (err == nil) != tc.ok {
				t.Fatalf("CheckPlaceholders = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestOpenRejectsUnknownDSN(t *testing.T) {
	_, err := store.Open(context.Background(), store.Options{DSN: "mysql://u:secret@h/db"})
	if err == nil {
		t.Fatal("want an error")
	}
	if got := err.Error(); strings.Contains(got, "secret") {
		t.Fatalf("error leaks the password: %s", got)
	}
}

// TestTxExecTxQueryRow: TxExec and TxQueryRow (cached statements on SQLite)
// see the transaction's own writes, and a rollback undoes TxExec's.
func TestTxExecTxQueryRow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		migrate(t, db)
		ctx := context.Background()
		boom := errors.New("boom")
		for i, want := range []error{nil, boom} {
			err := db.Tx(ctx, func(tx *sql.Tx) error {
				if _, err := db.TxExec(ctx, tx, `INSERT INTO counters (name, n) VALUES ($1, $2)`, "c", i); err != nil {
					return err
				}
				if _, err := db.TxExec(ctx, tx, `UPDATE counters SET n = n + 10 WHERE name = $1`, "c"); err != nil {
					return err
				}
				var n int
				if err := db.TxQueryRow(ctx, tx, `SELECT n FROM counters WHERE name = $1`, "c").Scan(&n); err != nil {
					return err
				}
				if n != i+10 {
					t.Errorf("in the transaction: n = %d, want %d", n, i+10)
				}
				if want != nil {
					return want
				}
				_, err := db.TxExec(ctx, tx, `DELETE FROM counters WHERE name = $1`, "c")
				return err
			})
			if !errors.Is(err, want) {
				t.Fatalf("run %d: %v, want %v", i, err, want)
			}
		}
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM counters`).Scan(&n); err != nil || n != 0 {
			t.Errorf("after commit of a delete and a rollback: %d rows, %v", n, err)
		}
	})
}
