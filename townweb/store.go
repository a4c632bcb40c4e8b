package townweb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"
)

const (
	qUpsertAccount = `INSERT INTO townweb_accounts (sub, created_at, last_login_at) VALUES ($1, $2, $2)
ON CONFLICT (sub) DO UPDATE SET last_login_at = excluded.last_login_at`
	qTopics         = `SELECT id, name_ja, name_en FROM townweb_topics ORDER BY sort`
	qFollows        = `SELECT topic FROM townweb_follows WHERE sub = $1`
	qDeleteFollows  = `DELETE FROM townweb_follows WHERE sub = $1`
	qInsertFollow   = `INSERT INTO townweb_follows (sub, topic) VALUES ($1, $2)`
	qPublicNotices  = `SELECT id, topic, published_at, title_ja, title_en, body_ja, body_en, 0 FROM townweb_notices ORDER BY published_at DESC, id LIMIT $1`
	qFollowedNotice = `SELECT n.id, n.topic, n.published_at, n.title_ja, n.title_en, n.body_ja, n.body_en,
  CASE WHEN r.notice_id IS NULL THEN 0 ELSE 1 END
FROM townweb_notices n
JOIN townweb_follows f ON f.topic = n.topic AND f.sub = $1
LEFT JOIN townweb_reads r ON r.notice_id = n.id AND r.sub = $1
ORDER BY n.published_at DESC, n.id`
	qNoticeExists = `SELECT 1 FROM townweb_notices WHERE id = $1`
	qMarkRead     = `INSERT INTO townweb_reads (sub, notice_id, read_at) VALUES ($1, $2, $3) ON CONFLICT (sub, notice_id) DO NOTHING`
	qSeedNotice   = `INSERT INTO townweb_notices (id, topic, published_at, title_ja, title_en, body_ja, body_en) VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (id) DO NOTHING`
	qInsertAudit = `INSERT INTO townweb_audit (id, at, sub, action, result, reason) VALUES ($1, $2, $3, $4, $5, $6)`
	qSelectAudit = `SELECT at, sub, action, result, reason FROM townweb_audit ORDER BY at DESC, id LIMIT $1`
)

// queries are every query constant, for the placeholder check.
var queries = []string{qUpsertAccount, qTopics, qFollows, qDeleteFollows, qInsertFollow, qPublicNotices, qFollowedNotice,
	qNoticeExists, qMarkRead, qSeedNotice, qInsertAudit, qSelectAudit}

// Errors of the site's data.
var (
	// ErrUnknownTopic is a topic the town does not have.
	ErrUnknownTopic = errors.New("townweb: unknown topic")
	// ErrNoNotice is a notice the town does not have.
	ErrNoNotice = errors.New("townweb: no such notice")
)

// Topic is a subject of the town's notices a resident can follow.
type Topic struct {
	ID             string
	NameJA, NameEN string
}

// Notice is one of the town's notices.
type Notice struct {
	ID, Topic        string
	Published        time.Time
	TitleJA, TitleEN string
	BodyJA, BodyEN   string
	// Read is whether the resident reading the list marked it read.
	Read bool
}

// AuditEntry is one row of the site's audit.
type AuditEntry struct {
	At                          time.Time
	Sub, Action, Result, Reason string
}

func newID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// login records a resident's login under the provider's sub: their account
// is made at the first one.
func (t *Town) login(ctx context.Context, sub string) error {
	return t.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, qUpsertAccount, sub, t.now().Unix()); err != nil {
			return fmt.Errorf("townweb: account: %w", err)
		}
		return t.audit(ctx, tx, sub, "login", "ok", "")
	})
}

// audit writes one audit row; reason is an error code or what changed,
// never a name or a token.
func (t *Town) audit(ctx context.Context, q interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, sub, action, result, reason string) error {
	if _, err := q.ExecContext(ctx, qInsertAudit, newID(), t.now().UnixMilli(), sub, action, result, reason); err != nil {
		return fmt.Errorf("townweb: audit: %w", err)
	}
	return nil
}

// refused records a refused login: the audit row and nothing else.
func (t *Town) refused(ctx context.Context, reason string) {
	if _, err := t.db.Write(ctx, qInsertAudit, newID(), t.now().UnixMilli(), "", "login", "refused", reason); err != nil {
		t.log.ErrorContext(ctx, "townweb: audit a refused login", "err", err)
	}
}

// Audit is the newest limit rows of the site's audit.
func (t *Town) Audit(ctx context.Context, limit int) ([]AuditEntry, error) {
	rows, err := t.db.QueryContext(ctx, qSelectAudit, limit)
	if err != nil {
		return nil, fmt.Errorf("townweb: audit: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at int64
		if err := rows.Scan(&at, &e.Sub, &e.Action, &e.Result, &e.Reason); err != nil {
			return nil, err
		}
		e.At = time.UnixMilli(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// Topics are the town's topics in the order it shows them.
func (t *Town) Topics(ctx context.Context) ([]Topic, error) {
	rows, err := t.db.QueryContext(ctx, qTopics)
	if err != nil {
		return nil, fmt.Errorf("townweb: topics: %w", err)
	}
	defer rows.Close()
	var out []Topic
	for rows.Next() {
		var tp Topic
		if err := rows.Scan(&tp.ID, &tp.NameJA, &tp.NameEN); err != nil {
			return nil, err
		}
		out = append(out, tp)
	}
	return out, rows.Err()
}

// Follows are the topics sub follows.
func (t *Town) Follows(ctx context.Context, sub string) ([]string, error) {
	rows, err := t.db.QueryContext(ctx, qFollows, sub)
	if err != nil {
		return nil, fmt.Errorf("townweb: follows: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out, rows.Err()
}

// SetFollows makes topics the ones sub follows. An unknown topic refuses
// the whole change (ErrUnknownTopic) and changes nothing.
func (t *Town) SetFollows(ctx context.Context, sub string, topics []string) error {
	all, err := t.Topics(ctx)
	if err != nil {
		return err
	}
	for _, id := range topics {
		if !slices.ContainsFunc(all, func(tp Topic) bool { return tp.ID == id }) {
			return fmt.Errorf("%w: %q", ErrUnknownTopic, id)
		}
	}
	topics = slices.Compact(slices.Sorted(slices.Values(topics)))
	return t.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, qDeleteFollows, sub); err != nil {
			return fmt.Errorf("townweb: follows: %w", err)
		}
		for _, id := range topics {
			if _, err := tx.ExecContext(ctx, qInsertFollow, sub, id); err != nil {
				return fmt.Errorf("townweb: follow %s: %w", id, err)
			}
		}
		return t.audit(ctx, tx, sub, "topics", "ok", fmt.Sprint(topics))
	})
}

func scanNotices(rows *sql.Rows) ([]Notice, error) {
	defer rows.Close()
	var out []Notice
	for rows.Next() {
		var n Notice
		var at int64
		var read int
		if err := rows.Scan(&n.ID, &n.Topic, &at, &n.TitleJA, &n.TitleEN, &n.BodyJA, &n.BodyEN, &read); err != nil {
			return nil, err
		}
		n.Published, n.Read = time.Unix(at, 0).In(jst), read == 1
		out = append(out, n)
	}
	return out, rows.Err()
}

// PublicNotices are the newest limit notices, for everyone.
func (t *Town) PublicNotices(ctx context.Context, limit int) ([]Notice, error) {
	rows, err := t.db.QueryContext(ctx, qPublicNotices, limit)
	if err != nil {
		return nil, fmt.Errorf("townweb: notices: %w", err)
	}
	return scanNotices(rows)
}

// MyNotices are the notices of the topics sub follows, newest first, each
// with whether sub has read it.
func (t *Town) MyNotices(ctx context.Context, sub string) ([]Notice, error) {
	rows, err := t.db.QueryContext(ctx, qFollowedNotice, sub)
	if err != nil {
		return nil, fmt.Errorf("townweb: my notices: %w", err)
	}
	return scanNotices(rows)
}

// MarkRead marks notice id read for sub (again is no change).
func (t *Town) MarkRead(ctx context.Context, sub, id string) error {
	var one int
	if err := t.db.QueryRowContext(ctx, qNoticeExists, id).Scan(&one); errors.Is(err, sql.ErrNoRows) {
		return ErrNoNotice
	} else if err != nil {
		return fmt.Errorf("townweb: notice: %w", err)
	}
	if _, err := t.db.Write(ctx, qMarkRead, sub, id, t.now().UnixMilli()); err != nil {
		return fmt.Errorf("townweb: mark read: %w", err)
	}
	return nil
}

// SeedNotices adds the demo's notices (once: a notice already there is
// left as it is).
func (t *Town) SeedNotices(ctx context.Context) error {
	return t.db.Tx(ctx, func(tx *sql.Tx) error {
		for _, n := range demoNotices {
			if _, err := tx.ExecContext(ctx, qSeedNotice, n.ID, n.Topic, n.Published.Unix(), n.TitleJA, n.TitleEN, n.BodyJA, n.BodyEN); err != nil {
				return fmt.Errorf("townweb: seed notice %s: %w", n.ID, err)
			}
		}
		return nil
	})
}
