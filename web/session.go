package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"time"
)

// SessionCookie is the session cookie's name unless Options name another.
const SessionCookie = "mynaplat_session"

// Session lifetimes. Kiosks and reception desks are shared, so a session left
// alone ends soon; the absolute limit ends even a busy one after a working day.
const (
	IdleTimeout     = 30 * time.Minute
	AbsoluteTimeout = 8 * time.Hour
)

// touchEvery bounds how often merely reading a session writes its last-seen
// time, so that page views do not each cost a database write. It also
// bounds how often a new session purges the expired ones.
const touchEvery = time.Minute

// flashKey is the session key holding the pending flash message.
const flashKey = "_flash"

const (
	qSessionGet  = `SELECT csrf, data, created_ms, seen_ms FROM web_sessions WHERE id_hash = $1`
	qSessionSave = `INSERT INTO web_sessions (id_hash, csrf, data, created_ms, seen_ms) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (id_hash) DO UPDATE SET data = excluded.data, seen_ms = excluded.seen_ms`
	qSessionTouch  = `UPDATE web_sessions SET seen_ms = $1 WHERE id_hash = $2`
	qSessionDelete = `DELETE FROM web_sessions WHERE id_hash = $1`
	qSessionPurge  = `DELETE FROM web_sessions WHERE seen_ms < $1 OR created_ms < $2`
)

// Session is one browser's server-side session. It lives in the database, so
// every instance behind a load balancer sees it. Changes (Set, Delete,
// SetFlash) are kept in memory until Save. A Session belongs to one request
// and is not safe for concurrent use.
type Session struct {
	site      *Site
	idHash    string
	csrf      string
	data      map[string]string
	created   time.Time
	destroyed bool
	// seen is the last-seen time the database holds and held the values
	// it holds. Save writes only when the values differ from them (a value
	// set and deleted again in one request is no change) or seen is due.
	seen time.Time
	held map[string]string
	// stored says the database has the session. A new one is stored by
	// its first Save, at the latest when a page shows its CSRF token
	// (Render): a new browser's first request that changes the session
	// writes it once, not twice.
	stored bool
}

// Binding names this session and no other, for server state that belongs
// to the browser (a flow's row that only this browser may continue): a
// hash of the session's database key, itself a hash of the cookie, so
// neither the cookie nor the key can be had from it.
func (ss *Session) Binding() string {
	h := sha256.Sum256([]byte("mynaplat session binding\x00" + ss.idHash))
	return hex.EncodeToString(h[:])
}

// Get returns a value, or "" when the key is not set.
func (ss *Session) Get(key string) string { return ss.data[key] }

// Set sets a value; Save stores it.
func (ss *Session) Set(key, value string) {
	if old, ok := ss.data[key]; ok && old == value {
		return
	}
	ss.data[key] = value
}

// Delete removes a value; Save stores the change.
func (ss *Session) Delete(key string) {
	delete(ss.data, key)
}

// SetFlash sets the message the next rendered page shows once (after a
// redirect, typically). Like Set, it is stored by Save.
func (ss *Session) SetFlash(f Flash) {
	b, _ := json.Marshal(f) // a struct of strings always marshals
	ss.Set(flashKey, string(b))
}

// popFlash removes and returns the pending flash; the caller saves.
func (ss *Session) popFlash() *Flash {
	raw, ok := ss.data[flashKey]
	if !ok {
		return nil
	}
	ss.Delete(flashKey)
	var f Flash
	if err := json.Unmarshal([]byte(raw), &f); err != nil {
		return nil
	}
	return &f
}

// Save stores the session's values and marks it as used now. A session
// whose values are those it was loaded or saved with (whatever was set and
// deleted in between), and whose
// last-seen time was stored less than touchEvery ago, is not written: the
// idle timeout then counts from at most touchEvery earlier, as for a page
// view that only reads the session (loadSession).
func (ss *Session) Save(ctx context.Context) error {
	if ss.destroyed {
		return errorf("save a destroyed session")
	}
	now := ss.site.now()
	if ss.stored && maps.Equal(ss.data, ss.held) && now.Sub(ss.seen) <= touchEvery {
		return nil
	}
	b, err := json.Marshal(ss.data)
	if err != nil {
		return errorf("encode session: %w", err)
	}
	if _, err := ss.site.db.Write(ctx, qSessionSave, ss.idHash, ss.csrf, string(b),
		ss.created.UnixMilli(), now.UnixMilli()); err != nil {
		return errorf("save session: %w", err)
	}
	ss.seen, ss.held, ss.stored = now, maps.Clone(ss.data), true
	return nil
}

// Destroy deletes the session from the database and tells the browser to
// forget the cookie, e.g. when a kiosk user finishes. A later call of
// Site.Session in the same request starts a new session.
func (ss *Session) Destroy(ctx context.Context, w http.ResponseWriter) error {
	ss.destroyed = true
	http.SetCookie(w, &http.Cookie{Name: ss.site.cookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: ss.site.secure, SameSite: http.SameSiteLaxMode})
	if _, err := ss.site.db.Write(ctx, qSessionDelete, ss.idHash); err != nil {
		return errorf("destroy session: %w", err)
	}
	return nil
}

// Session returns the request's session, starting a new one (and setting the
// cookie) when the browser has none or its session has expired. Within a
// request wrapped by Protect, every call returns the same *Session.
func (s *Site) Session(w http.ResponseWriter, r *http.Request) (*Session, error) {
	ss, err := s.loadSession(r)
	if err != nil {
		return nil, err
	}
	if ss == nil {
		if ss, err = s.newSession(r.Context(), w); err != nil {
			return nil, err
		}
	}
	if st := stateOf(r); st != nil {
		st.session = ss
	}
	return ss, nil
}

// loadSession returns the session named by the request's cookie, or nil when
// there is none or it has expired (an expired one is deleted).
func (s *Site) loadSession(r *http.Request) (*Session, error) {
	if st := stateOf(r); st != nil && st.session != nil && !st.session.destroyed {
		return st.session, nil
	}
	c, err := r.Cookie(s.cookie)
	if err != nil {
		return nil, nil
	}
	id, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil || len(id) != 32 {
		return nil, nil
	}
	ctx := r.Context()
	ss := &Session{site: s, idHash: hashID(id)}
	var data string
	var created, seen int64
	err = s.db.QueryRowContext(ctx, qSessionGet, ss.idHash).Scan(&ss.csrf, &data, &created, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, errorf("load session: %w", err)
	}
	now := s.now()
	ss.created = time.UnixMilli(created)
	lastSeen := time.UnixMilli(seen)
	if now.Sub(lastSeen) > IdleTimeout || now.Sub(ss.created) > AbsoluteTimeout {
		if _, err := s.db.Write(ctx, qSessionDelete, ss.idHash); err != nil {
			return nil, errorf("delete expired session: %w", err)
		}
		return nil, nil
	}
	if err := json.Unmarshal([]byte(data), &ss.data); err != nil || ss.data == nil {
		ss.data = map[string]string{}
	}
	ss.seen, ss.held, ss.stored = lastSeen, maps.Clone(ss.data), true
	if now.Sub(lastSeen) > touchEvery {
		if _, err := s.db.Write(ctx, qSessionTouch, now.UnixMilli(), ss.idHash); err != nil {
			return nil, errorf("touch session: %w", err)
		}
		ss.seen = now
	}
	return ss, nil
}

// newSession starts a session and sets the cookie. Its first Save stores
// it: Render saves it before a page shows its CSRF token, which must be
// found when the form comes back; a session never saved held nothing, and
// the browser's next request starts another. The store must answer now
// all the same (the flows cannot go on without it). It also
// removes expired sessions, at most once per touchEvery, so the table does
// not grow without bound (loadSession refuses an expired session anyway, so
// a row left a minute longer changes nothing).
func (s *Site) newSession(ctx context.Context, w http.ResponseWriter) (*Session, error) {
	var id, token [32]byte
	rand.Read(id[:])
	rand.Read(token[:])
	now := s.now()
	ss := &Session{site: s, idHash: hashID(id[:]), csrf: base64.RawURLEncoding.EncodeToString(token[:]),
		data: map[string]string{}, created: now, seen: now}
	if last := s.purged.Load(); now.UnixMilli()-last >= touchEvery.Milliseconds() || now.UnixMilli() < last {
		if _, err := s.db.Write(ctx, qSessionPurge, now.Add(-IdleTimeout).UnixMilli(), now.Add(-AbsoluteTimeout).UnixMilli()); err != nil {
			return nil, errorf("purge sessions: %w", err)
		}
		s.purged.Store(now.UnixMilli())
	}
	if err := s.db.PingContext(ctx); err != nil {
		return nil, errorf("create session: %w", err)
	}
	// No Max-Age: the cookie ends with the browser; the server enforces the
	// idle and absolute limits.
	http.SetCookie(w, &http.Cookie{Name: s.cookie, Value: base64.RawURLEncoding.EncodeToString(id[:]),
		Path: "/", HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
	return ss, nil
}

// hashID is what the database keeps of a session id.
func hashID(id []byte) string {
	h := sha256.Sum256(id)
	return hex.EncodeToString(h[:])
}

// reqState is what Protect keeps for one request: the session once loaded,
// so that the handler, Render and the CSRF check share one.
type reqState struct {
	session *Session
}

type stateKey struct{}

func stateOf(r *http.Request) *reqState {
	st, _ := r.Context().Value(stateKey{}).(*reqState)
	return st
}
