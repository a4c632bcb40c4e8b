package mail

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/mynaplat/mynaplat/store"
)

//go:embed migrations
var migrations embed.FS

// Transport sends one mail (*Sender; a stand-in in tests).
type Transport interface {
	Send(ctx context.Context, m Message) error
}

// Outbox is the mails queued by one owner (a service: "watch"), sent by a
// worker with retry.
type Outbox struct {
	db     *store.DB
	owner  string
	t      Transport
	now    func() time.Time
	logger *slog.Logger
}

// The worker's timing: a claim lasts lease (a worker that died frees its
// mails after it), and a refused mail waits backoff(attempts).
const (
	lease      = 2 * time.Minute
	maxBackoff = 10 * time.Minute
	batch      = 50
)

func backoff(attempts int) time.Duration {
	d := 5 * time.Second
	for i := 1; i < attempts && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}

// OpenOutbox migrates the outbox table and returns owner's outbox, sending
// with t.
func OpenOutbox(ctx context.Context, db *store.DB, owner string, t Transport, now func() time.Time, logger *slog.Logger) (*Outbox, error) {
	if db == nil || owner == "" || t == nil {
		return nil, errors.New("mail: an outbox needs a database, an owner and a transport")
	}
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	mfs, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx, "community_mail", mfs); err != nil {
		return nil, err
	}
	return &Outbox{db: db, owner: owner, t: t, now: now, logger: logger}, nil
}

// EnqueueTx queues m about ref in tx, the transaction that records what
// the mail tells, so that both or neither stay. A ref already queued is
// left as it is (the thing is mailed once); queued says whether this call
// queued it.
func (o *Outbox) EnqueueTx(ctx context.Context, tx *sql.Tx, ref string, m Message) (queued bool, err error) {
	now := o.now().UnixMilli()
	res, err := o.db.TxExec(ctx, tx, `INSERT INTO mail_outbox (owner, ref, recipient, subject, body, created_at, next_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (owner, ref) DO NOTHING`, o.owner, ref, m.To, m.Subject, m.Body, now, now)
	if err != nil {
		return false, fmt.Errorf("mail: queue %s: %w", ref, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// Status is where a queued mail is.
type Status struct {
	Queued, Sent time.Time
	Attempts     int
	LastError    string
}

// ErrNotQueued is a ref with no mail.
var ErrNotQueued = errors.New("mail: no such mail")

// Status is the mail about ref, or ErrNotQueued.
func (o *Outbox) Status(ctx context.Context, ref string) (Status, error) {
	var s Status
	var created, sent int64
	err := o.db.QueryRowContext(ctx, `SELECT created_at, sent_at, attempts, last_error FROM mail_outbox WHERE owner = $1 AND ref = $2`,
		o.owner, ref).Scan(&created, &sent, &s.Attempts, &s.LastError)
	if errors.Is(err, sql.ErrNoRows) {
		return s, ErrNotQueued
	}
	if err != nil {
		return s, err
	}
	s.Queued = time.UnixMilli(created)
	if sent != 0 {
		s.Sent = time.UnixMilli(sent)
	}
	return s, nil
}

type queued struct {
	id  int64
	ref string
	m   Message
}

// Flush sends the mails that are due, each by one worker at a time: a
// mail is claimed with a conditional UPDATE, so two workers (or two
// processes) never both send it, and marked sent once the SMTP server took
// it. A refused mail stays queued and is tried again after its backoff. It
// returns how many were sent.
func (o *Outbox) Flush(ctx context.Context) (int, error) {
	now := o.now().UnixMilli()
	rows, err := o.db.QueryContext(ctx, `SELECT id, ref, recipient, subject, body FROM mail_outbox
		WHERE owner = $1 AND sent_at = 0 AND next_at <= $2 AND claimed_until < $2 ORDER BY next_at, id LIMIT $3`, o.owner, now, batch)
	if err != nil {
		return 0, err
	}
	var due []queued
	for rows.Next() {
		var q queued
		if err := rows.Scan(&q.id, &q.ref, &q.m.To, &q.m.Subject, &q.m.Body); err != nil {
			rows.Close()
			return 0, err
		}
		due = append(due, q)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	sent := 0
	for _, q := range due {
		ok, err := o.send(ctx, q)
		if err != nil {
			return sent, err
		}
		if ok {
			sent++
		}
	}
	return sent, nil
}

// send claims q, sends it and records the outcome; ok when it was sent.
func (o *Outbox) send(ctx context.Context, q queued) (bool, error) {
	now := o.now()
	res, err := o.db.Write(ctx, `UPDATE mail_outbox SET claimed_until = $1 WHERE id = $2 AND sent_at = 0 AND claimed_until < $3`,
		now.Add(lease).UnixMilli(), q.id, now.UnixMilli())
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return false, err // another worker has it
	}
	if serr := o.t.Send(ctx, q.m); serr != nil {
		o.logger.Warn("mail: not sent, will retry", "ref", q.ref, "err", serr)
		var attempts int
		if err := o.db.QueryRowContext(ctx, `SELECT attempts FROM mail_outbox WHERE id = $1`, q.id).Scan(&attempts); err != nil {
			return false, err
		}
		_, err := o.db.Write(ctx, `UPDATE mail_outbox SET attempts = $1, next_at = $2, claimed_until = 0, last_error = $3 WHERE id = $4 AND sent_at = 0`,
			attempts+1, o.now().Add(backoff(attempts+1)).UnixMilli(), serr.Error(), q.id)
		return false, err
	}
	_, err = o.db.Write(ctx, `UPDATE mail_outbox SET sent_at = $1, attempts = attempts + 1, claimed_until = 0, last_error = '' WHERE id = $2 AND sent_at = 0`,
		o.now().UnixMilli(), q.id)
	return err == nil, err
}

// Run flushes the outbox every interval until ctx ends.
func (o *Outbox) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := o.Flush(ctx); err != nil && ctx.Err() == nil {
			o.logger.Error("mail: outbox", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
