package corpreg

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// A change of name (商号変更, 商業登記法 §29 and 会社法 §915): the
// corporation keeps its 法人番号 and its representatives; the register
// keeps every former name with the instants it was in effect, as the
// 法人番号公表サイト shows a corporation's 変更履歴. Representative
// certificates keep the name they were issued with (O=): it was true when
// they were issued. To sign in the new name, the representative is
// certified again (AppointRepresentative: a new term and a certificate
// whose O= is the new name).
//
// The instant a change takes effect may be earlier than its registration
// (会社法 §915 gives two weeks to register it), and the record says what
// took effect when: a document signed in between in the former name,
// checked again later against the name at its signing time, then fails.
// That is the law's consequence, not the registry's choice.

// ErrSameName is a change of name to the name the corporation bears.
var ErrSameName = errors.New("corpreg: the corporation already bears this name")

// errRenameAt is a change of name dated before the current name took
// effect, or in the future.
var errRenameAt = fmt.Errorf("%w: the change of name must take effect after the current name did, and not later than now", ErrInvalid)

const (
	qFormerNames  = `SELECT name, from_at, until_at FROM corpreg_former_names WHERE number = $1 ORDER BY until_at`
	qNameSince    = `SELECT MAX(until_at) FROM corpreg_former_names WHERE number = $1`
	qInsertFormer = `INSERT INTO corpreg_former_names (number, name, from_at, until_at) VALUES ($1, $2, $3, $4)`
	qRename       = `UPDATE corpreg_corporations SET name = $1 WHERE number = $2 AND name = $3 AND closed_at IS NULL`
	qRenameRead   = `SELECT name, registered_at, closed_at FROM corpreg_corporations WHERE number = $1`
)

// FormerName is a name the corporation bore before a change of name, in
// effect from From (inclusive) until Until (exclusive).
type FormerName struct {
	Name  string    `json:"name"`
	From  time.Time `json:"from"`
	Until time.Time `json:"until"`
}

// NameAt is the name the corporation bore at t: the current name from
// NameSince on, a former name in its period, and the first name it was
// registered with for any earlier instant.
func (c *Corporation) NameAt(t time.Time) string {
	if !t.Before(c.NameSince) {
		return c.Name
	}
	for _, f := range c.FormerNames {
		if t.Before(f.Until) {
			return f.Name
		}
	}
	return c.Name
}

// Rename records a change of the corporation's name to name, in effect
// from at (now when zero; truncated to the second, as the registry's
// clock is). A closed corporation is ErrClosed, the current name
// ErrSameName, an instant not after the current name's start or later
// than now ErrInvalid. The event log records it as "renamed".
func (r *Registry) Rename(ctx context.Context, number, name string, at time.Time) error {
	if err := ValidNumber(number); err != nil {
		return fmt.Errorf("%w: %w", ErrUnknownCorporation, err)
	}
	if err := checkText("the name", name); err != nil {
		return err
	}
	now := r.clock()
	if at.IsZero() {
		at = now
	}
	at = at.UTC().Truncate(time.Second)
	if at.After(now) {
		return errRenameAt
	}
	var old string
	err := r.db.Tx(ctx, func(tx *sql.Tx) error {
		var registered int64
		var closed, since sql.NullInt64
		err := tx.QueryRowContext(ctx, qRenameRead, number).Scan(&old, &registered, &closed)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("%w: %s", ErrUnknownCorporation, number)
		case err != nil:
			return err
		case closed.Valid:
			return fmt.Errorf("%w: %s", ErrClosed, number)
		case old == name:
			return fmt.Errorf("%w: %s", ErrSameName, name)
		}
		if err := tx.QueryRowContext(ctx, qNameSince, number).Scan(&since); err != nil {
			return err
		}
		from := registered
		if since.Valid {
			from = since.Int64
		}
		if at.UnixMilli() <= from {
			return errRenameAt
		}
		if _, err := tx.ExecContext(ctx, qInsertFormer, number, old, from, at.UnixMilli()); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, qRename, name, number, old)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return fmt.Errorf("corpreg: the corporation changed while renaming it (%d rows, %v)", n, err)
		}
		_, err = tx.ExecContext(ctx, qInsertEvent, at.UnixMilli(), number, "renamed", old+" → "+name)
		return err
	})
	if err != nil {
		return fmt.Errorf("corpreg: rename %s: %w", number, err)
	}
	r.logger.InfoContext(ctx, "corporation renamed", "number", number, "at", at)
	return nil
}

// formerNames reads the corporation's former names, oldest first, and the
// instant its current name took effect.
func (r *Registry) formerNames(ctx context.Context, number string, registered time.Time) ([]FormerName, time.Time, error) {
	rows, err := r.db.QueryContext(ctx, qFormerNames, number)
	if err != nil {
		return nil, time.Time{}, err
	}
	defer rows.Close()
	out, since := []FormerName{}, registered
	for rows.Next() {
		var f FormerName
		var from, until int64
		if err := rows.Scan(&f.Name, &from, &until); err != nil {
			return nil, time.Time{}, err
		}
		f.From, f.Until = time.UnixMilli(from).UTC(), time.UnixMilli(until).UTC()
		out, since = append(out, f), f.Until
	}
	return out, since, rows.Err()
}
