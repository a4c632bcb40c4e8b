package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"testing"
)

// TestStmtCacheEvictsSafely fills a cache of two statements with more
// queries while rows of an evicted statement are still being read: the
// rows read on, and the cache stays at its bound.
func TestStmtCacheEvictsSafely(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx, "storetest", os.DirFS("testdata/migrations")); err != nil {
		t.Fatal(err)
	}
	db.stmts = newStmtCache(2)
	for i := range 5 {
		if _, err := db.Write(ctx, `INSERT INTO counters (name, n) VALUES ($1, $2)`, fmt.Sprint("c", i), i); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := db.QueryContext(ctx, `SELECT n FROM counters ORDER BY n`)
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for i := 0; rows.Next(); i++ {
		var n int
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		got = append(got, n)
		// Evict the statement being read from, and others, meanwhile.
		var m int
		q := fmt.Sprintf(`SELECT n + %d FROM counters WHERE name = $1`, i)
		if err := db.QueryRowContext(ctx, q, "c1").Scan(&m); err != nil || m != 1+i {
			t.Fatalf("%s = %d, %v", q, m, err)
		}
		if _, err := db.Write(ctx, `UPDATE counters SET data = $1 WHERE name = $2`, []byte{byte(i)}, "c4"); err != nil {
			t.Fatal(err)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if fmt.Sprint(got) != "[0 1 2 3 4]" {
		t.Errorf("rows read across evictions: %v", got)
	}
	if n := db.stmts.len(); n > 2 {
		t.Errorf("%d statements cached, bound 2", n)
	}
	// A pinned statement outlives the bound.
	st, err := db.Prepared(ctx, `SELECT count(*) FROM counters`)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		db.QueryRowContext(ctx, fmt.Sprintf(`SELECT %d`, i)).Scan(new(int))
	}
	var n int
	if err := st.QueryRowContext(ctx).Scan(&n); err != nil || n != 5 {
		t.Errorf("pinned statement after evictions: %d, %v", n, err)
	}
	// In a transaction, the cached statement sees the transaction's writes.
	err = db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := db.txExec(ctx, tx, `DELETE FROM counters WHERE name = $1`, []any{"c0"}); err != nil {
			return err
		}
		return tx.StmtContext(ctx, st).QueryRowContext(ctx).Scan(&n)
	})
	if err != nil || n != 4 {
		t.Errorf("count in the transaction after a delete: %d, %v", n, err)
	}
}

// BenchmarkQueryRow is one primary-key read on SQLite, from the statement
// cache and parsed anew (the embedded *sql.DB).
func BenchmarkQueryRow(b *testing.B) {
	ctx := context.Background()
	db, err := Open(ctx, Options{DataDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx, "storetest", os.DirFS("testdata/migrations")); err != nil {
		b.Fatal(err)
	}
	if _, err := db.Write(ctx, `INSERT INTO counters (name, n, data) VALUES ($1, $2, $3)`, "crl", 1, []byte{1}); err != nil {
		b.Fatal(err)
	}
	const q = `SELECT n, data FROM counters WHERE name = $1`
	for _, bc := range []struct {
		name string
		row  func() *sql.Row
	}{
		{"cached", func() *sql.Row { return db.QueryRowContext(ctx, q, "crl") }},
		{"parsed", func() *sql.Row { return db.DB.QueryRowContext(ctx, q, "crl") }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var n int64
			var data []byte
			for b.Loop() {
				if err := bc.row().Scan(&n, &data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
