package platform

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/mynaplat/mynaplat/store"
)

// TerminalKind is where a terminal stands.
type TerminalKind string

// The kinds of terminal of the pilots.
const (
	Kiosk     TerminalKind = "kiosk"     // convenience-store or town-hall kiosk
	Reception TerminalKind = "reception" // hospital or counter reception desk
	Mobile    TerminalKind = "mobile"    // a phone or tablet
	TV        TerminalKind = "tv"        // CATV set-top box or smart TV
	Shelter   TerminalKind = "shelter"   // evacuation shelter check-in
	School    TerminalKind = "school"    // school or library gate
	// StaffDesk is an office's staff terminal, where clerks sign in with
	// their own card (PurposeStaff).
	StaffDesk TerminalKind = "staff"
	// App is the OpenID Connect provider's card page (the twin of the
	// デジタル認証アプリ, docs/oidc-provider.md §4.2) on the person's own
	// phone or PC: it stands at no place and serves anyone, and logs people
	// into outside services only (PurposeOIDC).
	App TerminalKind = "app"
)

// TerminalKinds lists every kind.
var TerminalKinds = []TerminalKind{Kiosk, Reception, Mobile, TV, Shelter, School, StaffDesk, App}

// Terminal is a registered terminal.
type Terminal struct {
	ID       string       `json:"id"`
	Kind     TerminalKind `json:"kind"`
	Owner    string       `json:"owner"`
	Name     string       `json:"name"`
	Disabled bool         `json:"disabled"`
	key      []byte
}

var terminalIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}$`)

// RegisterTerminal registers a terminal and returns its HMAC key (base64),
// which its operator installs on it. The key is the terminal's credential.
func (p *Platform) RegisterTerminal(ctx context.Context, t Terminal) (string, error) {
	if !terminalIDPattern.MatchString(t.ID) {
		return "", fmt.Errorf("%w: terminal ID %q: use 2–63 of a–z, 0–9 and -", ErrInvalid, t.ID)
	}
	known := false
	for _, k := range TerminalKinds {
		known = known || k == t.Kind
	}
	if !known {
		return "", fmt.Errorf("%w: terminal kind %q (want one of %v)", ErrInvalid, t.Kind, TerminalKinds)
	}
	if t.Owner == "" || t.Name == "" {
		return "", fmt.Errorf("%w: a terminal needs an owner and a name", ErrInvalid)
	}
	key := make([]byte, 32)
	rand.Read(key)
	_, err := p.db.Write(ctx, qInsertTerminal, t.ID, string(t.Kind), t.Owner, t.Name, key, p.now().Unix())
	if store.IsUniqueViolation(err) {
		return "", fmt.Errorf("%w: terminal %s already exists", ErrInvalid, t.ID)
	}
	if err != nil {
		return "", fmt.Errorf("platform: register terminal: %w", err)
	}
	return base64.StdEncoding.EncodeToString(key), nil
}

// SetTerminalDisabled disables or re-enables a terminal.
func (p *Platform) SetTerminalDisabled(ctx context.Context, id string, disabled bool) error {
	res, err := p.db.Write(ctx, qSetTerminalDisabled, disabled, id)
	if err != nil {
		return fmt.Errorf("platform: disable terminal: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: terminal %s", ErrUnknownTerminal, id)
	}
	p.terminals.forget(id)
	return nil
}

// Terminals lists the registered terminals.
func (p *Platform) Terminals(ctx context.Context) ([]Terminal, error) {
	rows, err := p.db.QueryContext(ctx, qTerminals)
	if err != nil {
		return nil, fmt.Errorf("platform: list terminals: %w", err)
	}
	defer rows.Close()
	var out []Terminal
	for rows.Next() {
		var t Terminal
		var kind string
		if err := rows.Scan(&t.ID, &kind, &t.Owner, &t.Name, &t.key, &t.Disabled); err != nil {
			return nil, err
		}
		t.Kind, t.key = TerminalKind(kind), nil
		out = append(out, t)
	}
	return out, rows.Err()
}

// Terminal returns one terminal.
func (p *Platform) Terminal(ctx context.Context, id string) (*Terminal, error) {
	var t Terminal
	var kind string
	err := p.db.QueryRowContext(ctx, qTerminal, id).Scan(&t.ID, &kind, &t.Owner, &t.Name, &t.key, &t.Disabled)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s", ErrUnknownTerminal, id)
	}
	if err != nil {
		return nil, fmt.Errorf("platform: read terminal: %w", err)
	}
	t.Kind = TerminalKind(kind)
	return &t, nil
}

// terminalCache keeps terminals for a few seconds so the hot path does not
// read them for every request; disabling a terminal takes effect within the
// TTL on other instances and at once on this one.
type terminalCache struct {
	mu  sync.Mutex
	ttl time.Duration
	m   map[string]cachedTerminal
}

type cachedTerminal struct {
	t   *Terminal
	err error
	at  time.Time
}

func (c *terminalCache) get(ctx context.Context, p *Platform, id string) (*Terminal, error) {
	now := p.now()
	c.mu.Lock()
	e, ok := c.m[id]
	c.mu.Unlock()
	if ok && now.Sub(e.at) < c.ttl {
		return e.t, e.err
	}
	t, err := p.Terminal(ctx, id)
	if err != nil && !errors.Is(err, ErrUnknownTerminal) {
		return nil, err // do not cache database failures
	}
	c.mu.Lock()
	if len(c.m) > 10000 {
		clear(c.m)
	}
	c.m[id] = cachedTerminal{t, err, now}
	c.mu.Unlock()
	return t, err
}

func (c *terminalCache) forget(id string) {
	c.mu.Lock()
	delete(c.m, id)
	c.mu.Unlock()
}

// Terminal request signing: every request of a terminal carries
//
//	X-Mynaplat-Terminal:  the terminal ID
//	X-Mynaplat-Time:      Unix seconds
//	X-Mynaplat-Signature: base64 HMAC-SHA256(key, METHOD "\n" PATH "\n" TIME "\n" hex(SHA-256(body)))
//
// so the key never travels and a captured request cannot be altered; the
// single-use challenge makes replaying one pointless.
const (
	hdrTerminal  = "X-Mynaplat-Terminal"
	hdrTime      = "X-Mynaplat-Time"
	hdrSignature = "X-Mynaplat-Signature"
	// clockSkew is how far a terminal's clock may be off.
	clockSkew = 5 * time.Minute
)

func requestMAC(key []byte, method, path string, ts int64, body []byte) []byte {
	sum := sha256.Sum256(body)
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "%s\n%s\n%d\n%s", method, path, ts, hex.EncodeToString(sum[:]))
	return m.Sum(nil)
}

// SignRequest adds a terminal's credentials to a request whose body is body.
func SignRequest(req *http.Request, terminalID string, key []byte, body []byte, now time.Time) {
	ts := now.Unix()
	req.Header.Set(hdrTerminal, terminalID)
	req.Header.Set(hdrTime, strconv.FormatInt(ts, 10))
	req.Header.Set(hdrSignature, base64.StdEncoding.EncodeToString(requestMAC(key, req.Method, req.URL.Path, ts, body)))
}

// maxRequestBody bounds a terminal request body (a certificate and a
// signature are under 3 KB).
const maxRequestBody = 64 << 10

// authenticateTerminal checks a terminal request and returns the terminal and
// the request body.
func (p *Platform) authenticateTerminal(r *http.Request) (*Terminal, []byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
	if err != nil || len(body) > maxRequestBody {
		return nil, nil, fmt.Errorf("%w: request body unreadable or over %d bytes", ErrInvalid, maxRequestBody)
	}
	id := r.Header.Get(hdrTerminal)
	ts, err := strconv.ParseInt(r.Header.Get(hdrTime), 10, 64)
	mac, merr := base64.StdEncoding.DecodeString(r.Header.Get(hdrSignature))
	if id == "" || err != nil || merr != nil {
		return nil, nil, fmt.Errorf("%w: missing terminal credentials", ErrUnknownTerminal)
	}
	t, err := p.terminals.get(r.Context(), p, id)
	if err != nil {
		return nil, nil, err
	}
	if d := p.now().Sub(time.Unix(ts, 0)); d > clockSkew || d < -clockSkew {
		return nil, nil, fmt.Errorf("%w: terminal %s clock is off by %v", ErrUnknownTerminal, id, d.Round(time.Second))
	}
	if !hmac.Equal(mac, requestMAC(t.key, r.Method, r.URL.Path, ts, body)) {
		return nil, nil, fmt.Errorf("%w: terminal %s: bad request signature", ErrUnknownTerminal, id)
	}
	if t.Disabled {
		return nil, nil, fmt.Errorf("%w: terminal %s", ErrTerminalDisabled, id)
	}
	return t, bytes.Clone(body), nil
}
