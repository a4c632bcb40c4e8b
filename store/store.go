// Package store opens mynaplat's database — SQLite (modernc.org/sqlite, WAL, one
// file under the data directory) by default, or PostgreSQL through pgx when a
// postgres:// DSN is given — runs each domain package's goose migrations, and
// gives the Tx helper that retries serialization failures.
//
// One set of DML serves both engines: it is written in the PostgreSQL dialect
// with $N placeholders (modernc binds $N by number), RETURNING and ON CONFLICT.
// Only DDL differs, so each package keeps migrations/sqlite and
// migrations/postgres with the same numbers. Times are Unix seconds or
// milliseconds computed in Go from an injected clock, never now() in SQL.
// Each package owns its tables; no package reads another's.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Dialect names the SQL engine behind a DB.
type Dialect string

// The supported engines.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// ErrConflict is returned by Tx when a transaction still fails with a
// serialization conflict after all its retries.
var ErrConflict = errors.New("store: transaction kept conflicting with concurrent ones")

// DB is an open database. The embedded *sql.DB serves single statements; use
// Tx for anything that writes more than one row.
//
// On SQLite, DB's QueryContext, QueryRowContext and ExecContext (and Write)
// run each query from a statement prepared once by its text, kept in a
// bounded cache: SQLite parses every unprepared statement anew, which cost
// more than running the platform's short queries. PostgreSQL needs no such
// cache: pgx keeps its own per connection (its default exec mode,
// cache_statement, 512 statements), which the DSN leaves as it is.
type DB struct {
	*sql.DB
	Dialect Dialect
	logger  *slog.Logger
	// writeMu queues this process's SQLite write transactions. SQLite has one
	// writer; left to its busy handler, which sleeps and retries without any
	// order, a burst of writers starves some past the busy timeout. Go's
	// mutex hands the lock over in order instead.
	writeMu sync.Mutex
	// stmts are the statements of Prepared, and on SQLite those of every
	// query by text (auto).
	stmts *stmtCache
	auto  bool
}

// Options say which database to open.
type Options struct {
	// DSN is a postgres:// (or postgresql://) URL. Empty means SQLite.
	DSN string
	// DataDir holds the SQLite file mynaplat.db when DSN is empty.
	DataDir string
	Logger  *slog.Logger
}

// Open opens (and for SQLite creates) the database and checks that it answers.
func Open(ctx context.Context, o Options) (*DB, error) {
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var db *DB
	switch {
	case strings.HasPrefix(o.DSN, "postgres://"), strings.HasPrefix(o.DSN, "postgresql://"):
		sdb, err := sql.Open("pgx", o.DSN)
		if err != nil {
			return nil, fmt.Errorf("store: open postgres: %w", err)
		}
		sdb.SetMaxOpenConns(32)
		sdb.SetMaxIdleConns(32)
		db = &DB{DB: sdb, Dialect: Postgres, logger: logger, stmts: newStmtCache(maxCachedStmts)}
	case o.DSN == "":
		dir := o.DataDir
		if dir == "" {
			dir = "data"
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("store: create data dir: %w", err)
		}
		path := filepath.Join(dir, "mynaplat.db")
		// The file holds personal data: create it owner-only; SQLite gives
		// its -wal and -shm files the same mode.
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("store: create %s: %w", path, err)
		}
		f.Close()
		// busy_timeout first so the later pragmas already wait on a busy file;
		// _txlock=immediate takes the write lock at BEGIN, so a transaction never
		// fails late when it upgrades from reading to writing.
		dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
			"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
		sdb, err := sql.Open("sqlite", dsn)
		if err != nil {
			return nil, fmt.Errorf("store: open sqlite: %w", err)
		}
		sdb.SetMaxOpenConns(8)
		sdb.SetMaxIdleConns(8)
		db = &DB{DB: sdb, Dialect: SQLite, logger: logger, stmts: newStmtCache(maxCachedStmts), auto: true}
	default:
		return nil, fmt.Errorf("store: unsupported DSN %q: use postgres://… or leave it empty for SQLite", redactDSN(o.DSN))
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: connect to %s: %w", db.Dialect, err)
	}
	return db, nil
}

// redactDSN hides a password in a DSN before it goes into an error message.
func redactDSN(dsn string) string {
	if i := strings.Index(dsn, "@"); i >= 0 {
		if j := strings.Index(dsn, "://"); j >= 0 && j < i {
			return dsn[:j+3] + "…" + dsn[i:]
		}
	}
	return dsn
}

// Migrate applies one package's migrations. fsys must hold the directories
// "sqlite" and "postgres" with goose SQL files of the same numbers. Each
// package keeps its own version table (goose_<name>), so packages migrate
// independently; on PostgreSQL an advisory lock keeps two instances from
// migrating at once.
func (db *DB) Migrate(ctx context.Context, name string, fsys fs.FS) error {
	sub, err := fs.Sub(fsys, string(db.Dialect))
	if err != nil {
		return fmt.Errorf("store: migrations of %s: %w", name, err)
	}
	opts := []goose.ProviderOption{goose.WithTableName("goose_" + name)}
	dialect := goose.DialectSQLite3
	if db.Dialect == Postgres {
		dialect = goose.DialectPostgres
		h := fnv.New64a()
		h.Write([]byte("mynaplat/" + name))
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(int64(h.Sum64() >> 1)))
		if err != nil {
			return fmt.Errorf("store: migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, db.DB, sub, opts...)
	if err != nil {
		return fmt.Errorf("store: migrations of %s: %w", name, err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("store: migrate %s: %w", name, err)
	}
	for _, r := range res {
		db.logger.InfoContext(ctx, "migrated", "package", name, "version", r.Source.Version, "took", r.Duration)
	}
	return nil
}

// Write runs one writing statement as a transaction of its own, queued and
// retried like Tx. Use it rather than ExecContext for every write outside a
// transaction.
func (db *DB) Write(ctx context.Context, query string, args ...any) (sql.Result, error) {
	var res sql.Result
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		res, err = db.txExec(ctx, tx, query, args)
		return err
	})
	return res, err
}

// txExec is tx.ExecContext, from the cached statement on SQLite (the
// transaction's connection prepares it once, then reuses it).
func (db *DB) txExec(ctx context.Context, tx *sql.Tx, query string, args []any) (sql.Result, error) {
	if !db.auto {
		return tx.ExecContext(ctx, query, args...)
	}
	cs, err := db.stmts.get(ctx, db.DB, query, false)
	if err != nil {
		return tx.ExecContext(ctx, query, args...)
	}
	defer db.stmts.release(cs)
	return tx.StmtContext(ctx, cs.st).ExecContext(ctx, args...)
}

// QueryContext runs a query that returns rows; on SQLite from a cached
// prepared statement (see DB).
func (db *DB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if !db.auto {
		return db.DB.QueryContext(ctx, query, args...)
	}
	cs, err := db.stmts.get(ctx, db.DB, query, false)
	if err != nil {
		return nil, err
	}
	defer db.stmts.release(cs)
	return cs.st.QueryContext(ctx, args...)
}

// QueryRowContext runs a query that returns at most one row; on SQLite
// from a cached prepared statement (see DB). A failure to prepare shows as
// the row's error.
func (db *DB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if !db.auto {
		return db.DB.QueryRowContext(ctx, query, args...)
	}
	cs, err := db.stmts.get(ctx, db.DB, query, false)
	if err != nil {
		return db.DB.QueryRowContext(ctx, query, args...)
	}
	defer db.stmts.release(cs)
	return cs.st.QueryRowContext(ctx, args...)
}

// ExecContext runs a statement outside a transaction; on SQLite from a
// cached prepared statement (see DB). Writes go through Write instead.
func (db *DB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if !db.auto {
		return db.DB.ExecContext(ctx, query, args...)
	}
	cs, err := db.stmts.get(ctx, db.DB, query, false)
	if err != nil {
		return nil, err
	}
	defer db.stmts.release(cs)
	return cs.st.ExecContext(ctx, args...)
}

// Query is QueryContext without a context.
func (db *DB) Query(query string, args ...any) (*sql.Rows, error) {
	return db.QueryContext(context.Background(), query, args...)
}

// QueryRow is QueryRowContext without a context.
func (db *DB) QueryRow(query string, args ...any) *sql.Row {
	return db.QueryRowContext(context.Background(), query, args...)
}

// Exec is ExecContext without a context.
func (db *DB) Exec(query string, args ...any) (sql.Result, error) {
	return db.ExecContext(context.Background(), query, args...)
}

// Close closes the cached statements and the database.
func (db *DB) Close() error {
	db.stmts.close()
	return db.DB.Close()
}

// Prepared returns query prepared, preparing it on first use and keeping it
// for the DB's life: for the constant queries of hot paths, whose parsing
// would otherwise cost more than running them (SQLite parses every
// unprepared statement anew), on PostgreSQL too. Never pass a query built
// from input.
func (db *DB) Prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	cs, err := db.stmts.get(ctx, db.DB, query, true)
	if err != nil {
		return nil, err
	}
	db.stmts.release(cs) // pinned: closed only by Close
	return cs.st, nil
}

// WriteCommitted is Write at READ COMMITTED: for one conditional UPDATE
// (or an INSERT … ON CONFLICT) whose WHERE clause is the whole check, which
// PostgreSQL re-evaluates on the locked row. SERIALIZABLE adds nothing to
// such a statement but false conflicts under load.
func (db *DB) WriteCommitted(ctx context.Context, query string, args ...any) (sql.Result, error) {
	var res sql.Result
	err := db.TxLevel(ctx, sql.LevelReadCommitted, func(tx *sql.Tx) error {
		var err error
		res, err = db.txExec(ctx, tx, query, args)
		return err
	})
	return res, err
}

// QueryRowPrepared is QueryRowContext with the statement prepared once (see
// Prepared). A failure to prepare shows as the row's error.
func (db *DB) QueryRowPrepared(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := db.Prepared(ctx, query)
	if err != nil {
		return db.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// QueryPrepared is QueryContext with the statement prepared once.
func (db *DB) QueryPrepared(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := db.Prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// WritePrepared is Write with the statement prepared once (see Prepared).
func (db *DB) WritePrepared(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := db.Prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	var res sql.Result
	err = db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		res, err = tx.StmtContext(ctx, st).ExecContext(ctx, args...)
		return err
	})
	return res, err
}

// maxAttempts bounds Tx's retries; maxBackoff bounds one wait between them.
const (
	maxAttempts = 10
	maxBackoff  = 100 * time.Millisecond
)

// Tx runs fn in a transaction and commits it. When the engine reports a
// serialization failure or deadlock (PostgreSQL 40001/40P01, SQLite BUSY or
// LOCKED) the whole transaction is rolled back and fn runs again, so fn must
// have no effects outside tx. On PostgreSQL transactions are SERIALIZABLE;
// SQLite serializes writers anyway.
func (db *DB) Tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return db.TxLevel(ctx, sql.LevelSerializable, fn)
}

// TxLevel is Tx at another isolation level on PostgreSQL, for transactions
// whose statements are safe without SERIALIZABLE (a single conditional
// UPDATE, plain INSERTs) and that run often enough for its cost to matter.
// SQLite ignores the level: it serializes writers anyway.
func (db *DB) TxLevel(ctx context.Context, level sql.IsolationLevel, fn func(tx *sql.Tx) error) error {
	var opts *sql.TxOptions
	if db.Dialect == Postgres {
		opts = &sql.TxOptions{Isolation: level}
	}
	var err error
	for attempt := range maxAttempts {
		if attempt > 0 {
			// Exponential backoff with full jitter (a random wait up to the
			// bound): with a fixed wait plus a little jitter, eight
			// transactions on one hot row collided again in lock step until
			// one ran out of attempts under CI load.
			bound := min(maxBackoff, time.Duration(2<<attempt)*time.Millisecond)
			d := time.Millisecond + time.Duration(rand.Int64N(int64(bound)))
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(d):
			}
		}
		err = db.tryTx(ctx, opts, fn)
		if err == nil || !Retryable(err) {
			return err
		}
		db.logger.DebugContext(ctx, "retrying transaction", "attempt", attempt+1, "err", err)
	}
	return fmt.Errorf("%w: %w", ErrConflict, err)
}

func (db *DB) tryTx(ctx context.Context, opts *sql.TxOptions, fn func(tx *sql.Tx) error) (err error) {
	if db.Dialect == SQLite {
		db.writeMu.Lock()
		defer db.writeMu.Unlock()
	}
	tx, err := db.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			tx.Rollback()
			panic(p)
		}
		if err != nil {
			tx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// Retryable reports whether err is a serialization failure or deadlock after
// which the whole transaction may simply run again.
func Retryable(err error) bool {
	if pe, ok := errors.AsType[*pgconn.PgError](err); ok {
		return pe.Code == "40001" || pe.Code == "40P01"
	}
	if se, ok := errors.AsType[*sqlite.Error](err); ok {
		c := se.Code() & 0xff // the primary result code
		return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
	}
	return false
}

// IsUniqueViolation reports whether err is a UNIQUE or PRIMARY KEY constraint
// violation, on either engine.
func IsUniqueViolation(err error) bool {
	if pe, ok := errors.AsType[*pgconn.PgError](err); ok {
		return pe.Code == "23505"
	}
	if se, ok := errors.AsType[*sqlite.Error](err); ok {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// CheckPlaceholders reports an error when a query's $N placeholders do not
// appear in ascending order of first use starting at $1. modernc binds by
// number either way, but keeping the order keeps other SQLite drivers (which
// number placeholders by first appearance) possible.
func CheckPlaceholders(query string) error {
	next := 1
	seen := map[int]bool{}
	for i := 0; i < len(query); i++ {
		if query[i] != '$' {
			continue
		}
		j := i + 1
		n := 0
		for j < len(query) && query[j] >= '0' && query[j] <= '9' {
			n = n*10 + int(query[j]-'0')
			j++
		}
		if j == i+1 || seen[n] {
			continue
		}
		if n != next {
			return fmt.Errorf("placeholder $%d appears where $%d was expected", n, next)
		}
		seen[n] = true
		next++
	}
	return nil
}
