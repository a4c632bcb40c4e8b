package store

import (
	"container/list"
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// maxCachedStmts bounds the statements SQLite keeps prepared by query text
// (each holds a parsed program on every connection that ran it). The
// platform's constant queries number a few hundred at most; a query built
// with a variable number of placeholders only churns the least recently
// used entries.
const maxCachedStmts = 512

// stmtCache keeps prepared statements by query text: the pinned ones of
// Prepared for the DB's life, the others (SQLite's every query, see
// DB.QueryContext) up to a bound, least recently used evicted. A statement
// in use is closed only when its last user releases it, so an eviction
// never fails a query in flight.
type stmtCache struct {
	max int

	mu  sync.Mutex
	m   map[string]*cachedStmt
	lru list.List // of *cachedStmt, not pinned, most recent first
}

type cachedStmt struct {
	query   string
	st      *sql.Stmt
	pinned  bool
	refs    int           // users between get and release
	evicted bool          // out of the cache: close when refs drops to 0
	elem    *list.Element // in lru unless pinned or evicted
}

func newStmtCache(max int) *stmtCache {
	return &stmtCache{max: max, m: map[string]*cachedStmt{}}
}

// get returns query's statement, preparing it on db on first use, with a
// reference the caller gives back with release. pin keeps it for good.
func (c *stmtCache) get(ctx context.Context, db *sql.DB, query string, pin bool) (*cachedStmt, error) {
	c.mu.Lock()
	if cs, ok := c.m[query]; ok {
		c.useLocked(cs, pin)
		c.mu.Unlock()
		return cs, nil
	}
	c.mu.Unlock()
	// Prepare outside the lock: it waits for a connection.
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("store: prepare: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cs, ok := c.m[query]; ok { // prepared meanwhile by another caller
		st.Close()
		c.useLocked(cs, pin)
		return cs, nil
	}
	cs := &cachedStmt{query: query, st: st, refs: 1, pinned: pin}
	c.m[query] = cs
	if !pin {
		cs.elem = c.lru.PushFront(cs)
		for c.lru.Len() > c.max {
			c.evictLocked(c.lru.Back().Value.(*cachedStmt))
		}
	}
	return cs, nil
}

func (c *stmtCache) useLocked(cs *cachedStmt, pin bool) {
	cs.refs++
	switch {
	case cs.pinned:
	case pin:
		c.lru.Remove(cs.elem)
		cs.elem, cs.pinned = nil, true
	default:
		c.lru.MoveToFront(cs.elem)
	}
}

func (c *stmtCache) evictLocked(cs *cachedStmt) {
	c.lru.Remove(cs.elem)
	cs.elem, cs.evicted = nil, true
	delete(c.m, cs.query)
	if cs.refs == 0 {
		cs.st.Close()
	}
}

// release gives back get's reference. database/sql keeps a closed
// statement's connection statements until the rows read from it are closed,
// so release may follow the query at once.
func (c *stmtCache) release(cs *cachedStmt) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs.refs--
	if cs.refs == 0 && cs.evicted {
		cs.st.Close()
	}
}

// close closes every statement, for DB.Close.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cs := range c.m {
		cs.st.Close()
	}
	clear(c.m)
	c.lru.Init()
}

// len is the number of statements kept, for tests.
func (c *stmtCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
