package evac

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// EventKind is what happened.
type EventKind string

// The kinds of events. A TV receives order and lift; the board all.
const (
	EventOrder    EventKind = "order"
	EventLift     EventKind = "lift"
	EventAck      EventKind = "ack"
	EventCheckIn  EventKind = "checkin"
	EventCheckOut EventKind = "checkout"
)

// ForTV reports whether a TV is sent events of the kind.
func (k EventKind) ForTV() bool { return k == EventOrder || k == EventLift }

// Event is one row of the event log: its sequence number (the SSE id), its
// kind, the order and the area it concerns.
type Event struct {
	Seq   int64     `json:"seq"`
	Kind  EventKind `json:"kind"`
	Order int64     `json:"order"`
	Area  string    `json:"area"`
	At    int64     `json:"at"`
}

// event appends an event in tx. The sequence is MAX+1 in the writing
// transaction (SERIALIZABLE on PostgreSQL, one writer on SQLite), so
// events commit in the order of their numbers and a poller reading
// seq > last never skips one (a database sequence would hand out numbers
// that commit out of order).
func (s *Service) event(ctx context.Context, tx *sql.Tx, kind EventKind, order int64, area string, at time.Time) error {
	var seq int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) + 1 FROM evac_events`).Scan(&seq); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO evac_events (seq, kind, order_id, area, at) VALUES ($1, $2, $3, $4, $5)`,
		seq, string(kind), order, area, at.UnixMilli())
	return err
}

// Events are the events after seq, oldest first, at most limit.
func (s *Service) Events(ctx context.Context, after int64, limit int) ([]Event, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT seq, kind, order_id, area, at FROM evac_events WHERE seq > $1 ORDER BY seq LIMIT $2`, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var kind string
		if err := rows.Scan(&e.Seq, &kind, &e.Order, &e.Area, &e.At); err != nil {
			return nil, err
		}
		e.Kind = EventKind(kind)
		out = append(out, e)
	}
	return out, rows.Err()
}

// LastEvent is the newest event's sequence number (0 for none).
func (s *Service) LastEvent(ctx context.Context) (int64, error) {
	var seq int64
	err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM evac_events`).Scan(&seq)
	return seq, err
}

// Hub fans the event log out to this process's streams: one poll of the
// database every interval for all of them (§7: 250 ms), so a new event
// costs one query whatever the number of TVs, and several instances each
// poll the same log with nothing shared in memory.
type Hub struct {
	s        *Service
	interval time.Duration

	mu   sync.Mutex
	last int64
	subs map[*sub]struct{}
	// stopped: Run has ended; a new stream ends at once.
	stopped bool
}

// sub is one stream's subscription: the events it wants go to ch; a
// stream too slow to take them is dropped (ch closed) and its client
// reconnects with Last-Event-ID, replayed from the database.
type sub struct {
	want func(Event) bool
	ch   chan Event
}

// NewHub is a hub polling every interval (0: 250 ms). Run it with Run.
func (s *Service) NewHub(interval time.Duration) *Hub {
	if interval <= 0 {
		interval = 250 * time.Millisecond
	}
	return &Hub{s: s, interval: interval, subs: map[*sub]struct{}{}}
}

// Run polls until ctx ends.
func (h *Hub) Run(ctx context.Context) {
	last, err := h.s.LastEvent(ctx)
	if err != nil && ctx.Err() == nil {
		h.s.logger.Warn("evac: hub: last event", "err", err)
	}
	h.mu.Lock()
	h.last = max(h.last, last)
	h.mu.Unlock()
	t := time.NewTicker(h.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			h.mu.Lock()
			for s := range h.subs {
				close(s.ch)
				delete(h.subs, s)
			}
			h.stopped = true
			h.mu.Unlock()
			return
		case <-t.C:
			h.poll(ctx)
		}
	}
}

func (h *Hub) poll(ctx context.Context) {
	h.mu.Lock()
	last := h.last
	h.mu.Unlock()
	for {
		evs, err := h.s.Events(ctx, last, 1000)
		if err != nil {
			if ctx.Err() == nil {
				h.s.logger.Warn("evac: hub: poll", "err", err)
			}
			return
		}
		if len(evs) == 0 {
			return
		}
		h.mu.Lock()
		for _, e := range evs {
			for s := range h.subs {
				if !s.want(e) {
					continue
				}
				select {
				case s.ch <- e:
				default:
					close(s.ch)
					delete(h.subs, s)
				}
			}
		}
		last = evs[len(evs)-1].Seq
		h.last = last
		h.mu.Unlock()
	}
}

// subscribe registers a stream: the events it wants, after the hub's last
// (the caller replays from the database up to there and skips what it
// has sent). cancel unregisters it.
func (h *Hub) subscribe(want func(Event) bool) (ch <-chan Event, cancel func()) {
	s := &sub{want: want, ch: make(chan Event, 64)}
	h.mu.Lock()
	if h.stopped {
		close(s.ch)
		h.mu.Unlock()
		return s.ch, func() {}
	}
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return s.ch, func() {
		h.mu.Lock()
		if _, ok := h.subs[s]; ok {
			delete(h.subs, s)
			close(s.ch)
		}
		h.mu.Unlock()
	}
}

// Streams is the number of streams the hub serves now.
func (h *Hub) Streams() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}
