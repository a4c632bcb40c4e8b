// Package ratelimit is the one rate limiter of every login in mynaplat: the
// platform's challenge and answer API, the terminal kit's PIN posts and the
// back offices' login forms. It limits how often someone may try; it does
// not replace the card's own PIN counter (3 tries for the authentication
// PIN, 5 for the signing password, kept on the card), which stays the hard
// limit on guessing a PIN.
//
// A Limiter is a set of token buckets, one per key (a source address, a
// terminal, a card), kept as one number each: the generic cell rate
// algorithm's theoretical arrival time. A key whose time has passed is a
// full bucket, the same as a key never seen, so it can be forgotten at any
// moment: that is how memory stays bounded under a flood of distinct keys.
// The clock is injected, so tests never sleep.
//
// Limits are per instance and are lost on restart, like the caches (see
// the architecture's scale-out rule): with N instances behind a load
// balancer an attacker gets at most N times the limit, still bounded, and
// nothing that must be shared lives here.
package ratelimit

import (
	"sync"
	"time"
)

// Limit is a token bucket: Burst events at once, then one every Every. The
// zero Limit limits nothing (a bucket that is not used).
type Limit struct {
	Burst int
	Every time.Duration
}

// Zero reports whether the limit is the unused zero Limit.
func (l Limit) Zero() bool { return l.Burst <= 0 || l.Every <= 0 }

// Options are what a Limiter needs besides its limit.
type Options struct {
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// MaxKeys bounds the keys kept (DefaultMaxKeys when 0).
	MaxKeys int
}

// DefaultMaxKeys is how many keys a Limiter keeps at most: a key costs
// about 100 bytes with its map entry, so some 6 MB a limiter when full.
const DefaultMaxKeys = 1 << 16

// Limiter keeps one bucket per key.
type Limiter struct {
	every   int64 // ns per token
	burst   int64 // ns of a full bucket: Burst × Every
	now     func() time.Time
	maxKeys int

	mu sync.Mutex
	// tat is each key's theoretical arrival time (Unix ns): the bucket is
	// full at tat and fills at one token per every until then. Only keys
	// with tat after now mean anything.
	tat map[string]int64
}

// New makes a limiter of l. A zero l makes a limiter that allows everything.
func New(l Limit, o Options) *Limiter {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxKeys <= 0 {
		o.MaxKeys = DefaultMaxKeys
	}
	lim := &Limiter{now: o.Now, maxKeys: o.MaxKeys, tat: map[string]int64{}}
	if !l.Zero() {
		lim.every, lim.burst = int64(l.Every), int64(l.Every)*int64(l.Burst)
	}
	return lim
}

// off is a limiter of the zero Limit (or a nil one): it allows everything.
func (l *Limiter) off() bool { return l == nil || l.every == 0 }

// Allow takes n tokens from key's bucket if it has them. If not, nothing
// is taken and wait is how long until it would have them.
func (l *Limiter) Allow(key string, n int) (wait time.Duration, ok bool) {
	if l.off() {
		return 0, true
	}
	now := l.now().UnixNano()
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.at(key, now)
	next := t + int64(n)*l.every
	if d := next - now - l.burst; d > 0 {
		return time.Duration(d), false
	}
	l.store(key, next, now)
	return 0, true
}

// at is key's theoretical arrival time seen from now: never before now (a
// full bucket). One after now+burst (past an empty bucket) can only come
// from a clock that went back — a test world's, or the wall clock stepped
// back — and then what the bucket held is unknown: it counts as full, so
// nobody is refused for the clock's gap. Called with mu held.
func (l *Limiter) at(key string, now int64) int64 {
	t := l.tat[key]
	if t > now+l.burst {
		return now
	}
	return max(t, now)
}

// Wait is how long until key's bucket has one token: 0 when it has one now.
// It takes nothing (Charge takes, once the outcome is known).
func (l *Limiter) Wait(key string) time.Duration {
	if l.off() {
		return 0
	}
	now := l.now().UnixNano()
	l.mu.Lock()
	t := l.at(key, now)
	l.mu.Unlock()
	if d := t + l.every - now - l.burst; d > 0 {
		return time.Duration(d)
	}
	return 0
}

// Charge takes n tokens from key's bucket whatever it holds, down to
// empty: an outcome found after the fact (a failed answer). It never
// leaves a debt beyond an empty bucket, so a key is refused for at most
// Every after its last charge — the bound a holder blocked by someone
// else's failures can count on.
func (l *Limiter) Charge(key string, n int) {
	if l.off() || n <= 0 {
		return
	}
	now := l.now().UnixNano()
	l.mu.Lock()
	next := min(l.at(key, now)+int64(n)*l.every, now+l.burst)
	l.store(key, next, now)
	l.mu.Unlock()
}

// Len is how many keys are kept.
func (l *Limiter) Len() int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.tat)
}

// store sets key's time, making room first when a new key would pass
// maxKeys. Called with mu held.
func (l *Limiter) store(key string, tat, now int64) {
	if _, ok := l.tat[key]; !ok && len(l.tat) >= l.maxKeys {
		l.evict(now)
	}
	l.tat[key] = tat
}

// evict forgets the keys whose buckets are full again (they are the same
// as keys never seen), and if that frees too little, arbitrary keys down
// to three quarters of maxKeys. Forgetting a key that is being limited lets
// it start afresh: under a flood of distinct keys the limiter fails open
// for some of them rather than refusing every new key, which would let the
// flood lock everyone out. Emptying a quarter at a time keeps the sweep's
// cost at a few steps per new key.
func (l *Limiter) evict(now int64) {
	for k, t := range l.tat {
		if t <= now {
			delete(l.tat, k)
		}
	}
	keep := l.maxKeys * 3 / 4
	for k := range l.tat {
		if len(l.tat) <= keep {
			break
		}
		delete(l.tat, k)
	}
}
