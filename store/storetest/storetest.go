// Package storetest runs a test against every database engine mynaplat
// supports: always SQLite in a temporary directory, and PostgreSQL when
// MYNAPLAT_TEST_PG holds a DSN (each test then gets a schema of its own, dropped
// afterwards). Under CI=true a missing MYNAPLAT_TEST_PG is a failure.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/mynaplat/mynaplat/internal/testutil"
	"github.com/mynaplat/mynaplat/store"
)

// EnvPG names the environment variable with the PostgreSQL DSN for tests.
const EnvPG = "MYNAPLAT_TEST_PG"

// Each runs fn as the subtests "sqlite" and "postgres".
func Each(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
}

// SQLite opens a fresh SQLite database in a temporary directory.
func SQLite(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), store.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Postgres opens the PostgreSQL test database with a fresh schema as the
// search path, or skips (fails under CI) when MYNAPLAT_TEST_PG is unset.
func Postgres(t testing.TB) *store.DB {
	t.Helper()
	dsn := PostgresDSN(t)
	return OpenDSN(t, dsn)
}

// PostgresDSN creates a fresh schema in the test database and returns a DSN
// whose search_path points at it, so several processes can share it.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPG)
	if base == "" {
		testutil.Missing(t, "PostgreSQL: set "+EnvPG+"=postgres://user:pass@127.0.0.1:5432/db (.ci/run does)")
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var b [6]byte
	rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("create test schema: %v", err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer a.Close()
		a.Exec("DROP SCHEMA " + schema + " CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", EnvPG, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// OpenDSN opens a database by DSN and closes it when the test ends.
func OpenDSN(t testing.TB, dsn string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), store.Options{DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
