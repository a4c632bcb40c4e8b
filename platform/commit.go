package platform

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/store"
)

// The end of every authentication writes: the challenge is used up and an
// audit row is added, in one transaction. Under load many authentications
// end at once, so a writer gathers the waiting ones into one transaction
// (group commit): each request still returns only after its own rows are
// committed, but the database commits once for the group. On SQLite, which
// has one writer anyway, that is the difference between a few thousand and
// tens of thousands of authentications a second.

// finishJob is one authentication waiting for its write.
type finishJob struct {
	terminalID  string
	challengeID string
	rep         *Report
	signed      bool
	// replayed is set when another request had used the challenge first.
	replayed bool
	// traceID is the trace of the request, for the audit row.
	traceID string
	done    chan error
}

// committer runs the group commits.
type committer struct {
	db    *store.DB
	now   func() time.Time
	jobs  chan *finishJob
	stmts *statements
	// mu guards closed against a job sent while close closes jobs.
	mu      sync.RWMutex
	closed  bool
	writers sync.WaitGroup
}

// maxGroup bounds one group transaction.
const maxGroup = 256

func newCommitter(db *store.DB, now func() time.Time, stmts *statements, writers int) *committer {
	c := &committer{db: db, now: now, jobs: make(chan *finishJob, 4096), stmts: stmts}
	for range writers {
		c.writers.Go(c.run)
	}
	return c
}

// close stops taking jobs and returns once every queued one is written.
func (c *committer) close() {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.jobs)
	}
	c.mu.Unlock()
	c.writers.Wait()
}

// submit queues a job and waits until it is committed (or failed).
func (c *committer) submit(ctx context.Context, j *finishJob) error {
	j.done = make(chan error, 1)
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return ErrClosed
	}
	select {
	case c.jobs <- j:
	case <-ctx.Done():
		c.mu.RUnlock()
		return ctx.Err()
	}
	c.mu.RUnlock()
	// Once queued the job is written even if the caller gives up, so that a
	// used challenge is never left unused.
	return <-j.done
}

func (c *committer) run() {
	for j := range c.jobs {
		group := []*finishJob{j}
	drain:
		for len(group) < maxGroup {
			select {
			case more, ok := <-c.jobs:
				if !ok {
					break drain
				}
				group = append(group, more)
			default:
				break drain
			}
		}
		err := c.write(group)
		for _, g := range group {
			g.done <- err
		}
	}
}

func (c *committer) write(group []*finishJob) error {
	ctx := context.Background()
	// READ COMMITTED is enough: the conditional UPDATE lets exactly one
	// transaction flip a challenge's used_at (a second one waits for the row
	// lock, re-checks and finds it used), and the rest are inserts.
	return c.db.TxLevel(ctx, sql.LevelReadCommitted, func(tx *sql.Tx) error {
		now := c.now().UnixMilli()
		// Use up every challenge of the group in one statement.
		var ids []any
		for _, j := range group {
			j.replayed = false // the transaction may run again
			if j.rep.Reason != ReasonUnknownChallenge {
				ids = append(ids, j.challengeID)
			}
		}
		consumed := map[string]bool{}
		if len(ids) > 0 {
			st, err := c.stmts.group(ctx, c.db, consumeQuery(len(ids)))
			if err != nil {
				return err
			}
			rows, err := tx.StmtContext(ctx, st).QueryContext(ctx, append([]any{now}, ids...)...)
			if err != nil {
				return fmt.Errorf("platform: use challenges: %w", err)
			}
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					rows.Close()
					return err
				}
				consumed[id] = true
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("platform: use challenges: %w", err)
			}
		}
		person := tx.StmtContext(ctx, c.stmts.personOfCert)
		args := make([]any, 0, 9*len(group))
		for _, j := range group {
			if j.rep.Reason != ReasonUnknownChallenge {
				// The first job of a challenge gets it; a second one in the
				// same group (a replay racing the original) does not.
				if consumed[j.challengeID] {
					delete(consumed, j.challengeID)
				} else if j.rep.Reason != ReasonReplayed {
					j.replayed = true
				}
			}
			// A failed attempt shows in the holder's audit log only when the
			// card really signed, so nobody can write into another person's
			// log with a copied certificate.
			var pid sql.NullString
			switch {
			case j.replayed:
			case j.rep.PlatformID != "":
				pid = sql.NullString{String: j.rep.PlatformID, Valid: true}
			case j.signed && j.rep.Serial != "":
				if err := person.QueryRowContext(ctx, string(jpki.Auth), j.rep.Serial).Scan(&pid); err != nil && !errors.Is(err, sql.ErrNoRows) {
					return fmt.Errorf("platform: find person: %w", err)
				}
			}
			result, reason := string(j.rep.Result), string(j.rep.Reason)+":"+j.rep.Detail
			if j.replayed {
				result, reason = string(Failed), string(ReasonReplayed)+":"
			}
			args = append(args, newSortableID(j.rep.At), j.rep.At.UnixMilli(), pid, j.terminalID,
				"authenticate", result, reason, j.rep.Serial, j.traceID)
		}
		st, err := c.stmts.group(ctx, c.db, auditQuery(len(group)))
		if err != nil {
			return err
		}
		if _, err := tx.StmtContext(ctx, st).ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("platform: audit: %w", err)
		}
		return nil
	})
}

// consumeQuery uses up n challenges: $1 is the time, $2… the IDs.
func consumeQuery(n int) string {
	var b strings.Builder
	b.WriteString(`UPDATE platform_challenges SET used_at = $1 WHERE used_at IS NULL AND id IN (`)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d", i+2)
	}
	b.WriteString(`) RETURNING id`)
	return b.String()
}

// auditQuery inserts n audit rows of 9 columns.
func auditQuery(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO platform_audit (id, at, person_id, terminal_id, action, result, reason, cert_serial, trace_id) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for k := range 9 {
			if k > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "$%d", i*9+k+1)
		}
		b.WriteByte(')')
	}
	return b.String()
}

// newSortableID is a random ID that sorts by time, so audit rows are
// appended to the end of their index rather than scattered through it.
func newSortableID(t time.Time) string {
	return fmt.Sprintf("%012x", t.UnixMilli()) + newID()[:20]
}

// statements are the hot path's prepared statements, and those of the group
// commits by group size (prepared when first needed: parsing a statement
// with hundreds of placeholders for every group would cost more than
// running it).
type statements struct {
	challenge, personOfCert *sql.Stmt
}

func (s *statements) group(ctx context.Context, db *store.DB, query string) (*sql.Stmt, error) {
	return db.Prepared(ctx, query)
}

func prepare(ctx context.Context, db *store.DB) (*statements, error) {
	s := &statements{}
	for _, p := range []struct {
		dst **sql.Stmt
		q   string
	}{{&s.challenge, qChallenge}, {&s.personOfCert, qPersonOfCert}} {
		st, err := db.PrepareContext(ctx, p.q)
		if err != nil {
			return nil, fmt.Errorf("platform: prepare: %w", err)
		}
		*p.dst = st
	}
	return s, nil
}

// personCache remembers certificate → platform ID links, which never change
// once made.
type personCache struct {
	mu sync.RWMutex
	m  map[string]string
}

func (c *personCache) get(serial string) (string, bool) {
	c.mu.RLock()
	id, ok := c.m[serial]
	c.mu.RUnlock()
	return id, ok
}

func (c *personCache) put(serial, id string) {
	c.mu.Lock()
	if len(c.m) >= maxLeafCache {
		clear(c.m)
	}
	c.m[serial] = id
	c.mu.Unlock()
}
