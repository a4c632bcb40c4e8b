package store

import (
	"context"
	"database/sql"
)

// TxExec is tx.ExecContext for a transaction of db's (one of Tx's), from
// the cached prepared statement on SQLite as Write does: the transaction's
// connection prepares the query once, then reuses it, where
// tx.ExecContext parses it every time. Use it on hot paths, with constant
// queries only.
func (db *DB) TxExec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	return db.txExec(ctx, tx, query, args)
}

// TxQueryRow is tx.QueryRowContext from the cached prepared statement on
// SQLite (see TxExec). A failure to prepare falls back to tx.QueryRowContext.
func (db *DB) TxQueryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	if !db.auto {
		return tx.QueryRowContext(ctx, query, args...)
	}
	cs, err := db.stmts.get(ctx, db.DB, query, false)
	if err != nil {
		return tx.QueryRowContext(ctx, query, args...)
	}
	defer db.stmts.release(cs)
	return tx.StmtContext(ctx, cs.st).QueryRowContext(ctx, args...)
}
