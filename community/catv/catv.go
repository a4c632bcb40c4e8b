package catv

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/store"
)

//go:embed migrations
var migrations embed.FS

// Config is one operator's.
type Config struct {
	DB *store.DB
	// ID names the operator (its rows are keyed by it).
	ID string
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Operator is one CATV operator's subscribers and messages.
type Operator struct {
	db  *store.DB
	id  string
	now func() time.Time
}

// Open migrates the tables and returns the operator.
func Open(ctx context.Context, cfg Config) (*Operator, error) {
	if cfg.DB == nil || cfg.ID == "" {
		return nil, errors.New("catv: no database or no operator ID")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := migrate(ctx, cfg.DB); err != nil {
		return nil, err
	}
	return &Operator{db: cfg.DB, id: cfg.ID, now: cfg.Now}, nil
}

// migrate brings the tables up to date.
func migrate(ctx context.Context, db *store.DB) error {
	mfs, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	return db.Migrate(ctx, "community_catv", mfs)
}

// Subscriber is a person at one set-top box.
type Subscriber struct {
	PlatformID, Terminal string
	// Number is the operator's subscriber number; Area the area of the
	// town the box is in (an evacuation order's and a message's unit).
	Number, Area string
}

// Subscribe registers (or moves) a subscriber.
func (o *Operator) Subscribe(ctx context.Context, s Subscriber) error {
	if s.PlatformID == "" || s.Terminal == "" || s.Number == "" || s.Area == "" {
		return refuse(ReasonBadSubscriber)
	}
	_, err := o.db.Write(ctx, `INSERT INTO catv_subscribers (operator, platform_id, terminal, number, area, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (operator, platform_id, terminal) DO UPDATE SET number = excluded.number, area = excluded.area`,
		o.id, s.PlatformID, s.Terminal, s.Number, s.Area, o.now().UnixMilli())
	return err
}

// Scope is who a message is for.
type Scope string

// The scopes.
const (
	ToAll    Scope = "all"
	ToArea   Scope = "area"
	ToPerson Scope = "person"
)

// Sender kinds: the operator itself or the town.
const (
	FromOperator = "catv"
	FromTown     = "town"
)

// Message is a message to subscribers.
type Message struct {
	ID int64
	// Sender names who sent it (the operator's or the town's name);
	// SenderKind is FromOperator or FromTown.
	Sender, SenderKind string
	Scope              Scope
	// Area is the area of a ToArea message, PlatformID the person of a
	// ToPerson one.
	Area, PlatformID string
	TitleJA, TitleEN string
	BodyJA, BodyEN   string
	At               time.Time
	// Ref is a town system's reference of the message: the operator keeps
	// one message per reference, so posting it again sends it once.
	Ref string `json:",omitempty"`
	// Read is whether the person reading their messages has opened it.
	Read bool
}

func (m Message) valid() bool {
	for _, s := range []string{m.Sender, m.TitleJA, m.TitleEN, m.BodyJA, m.BodyEN} {
		if strings.TrimSpace(s) == "" {
			return false
		}
	}
	if m.SenderKind != FromOperator && m.SenderKind != FromTown {
		return false
	}
	// Who may send what: the operator writes to everyone or an area (its
	// service notices); only the town writes to one person.
	if m.SenderKind == FromOperator && m.Scope == ToPerson {
		return false
	}
	switch m.Scope {
	case ToAll:
		return m.Area == "" && m.PlatformID == ""
	case ToArea:
		return m.Area != "" && m.PlatformID == ""
	case ToPerson:
		return m.PlatformID != "" && m.Area == ""
	}
	return false
}

// Send stores a message; it is on the recipients' TVs from their next
// power-on. A message with a Ref already sent is not stored again: its ID
// is answered. A refusal writes only its audit row.
func (o *Operator) Send(ctx context.Context, m Message) (int64, error) {
	at := o.now().UnixMilli()
	if !m.valid() {
		return 0, o.refused(ctx, "", "", "send", 0, ReasonBadMessage)
	}
	if m.Scope == ToPerson {
		var n int
		if err := o.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM catv_subscribers WHERE operator = $1 AND platform_id = $2`,
			o.id, m.PlatformID).Scan(&n); err != nil {
			return 0, err
		}
		if n == 0 {
			return 0, o.refused(ctx, "", "", "send", 0, ReasonNoRecipient)
		}
	}
	// The next ID of this operator; two senders at once may pick the
	// same one, and the loser takes the next.
	for range 5 {
		var id int64
		err := o.db.Tx(ctx, func(tx *sql.Tx) error {
			if m.Ref != "" {
				// Sent before under this reference: the same message.
				err := o.db.TxQueryRow(ctx, tx, `SELECT id FROM catv_messages WHERE operator = $1 AND ref = $2`, o.id, m.Ref).Scan(&id)
				if err == nil || !errors.Is(err, sql.ErrNoRows) {
					return err
				}
			}
			if err := o.db.TxQueryRow(ctx, tx, `SELECT COALESCE(MAX(id), 0) + 1 FROM catv_messages WHERE operator = $1`, o.id).Scan(&id); err != nil {
				return err
			}
			if _, err := o.db.TxExec(ctx, tx, `INSERT INTO catv_messages (operator, id, sender, sender_kind, scope, area, platform_id,
				title_ja, title_en, body_ja, body_en, created_at, ref) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
				o.id, id, m.Sender, m.SenderKind, string(m.Scope), m.Area, m.PlatformID, m.TitleJA, m.TitleEN, m.BodyJA, m.BodyEN, at, m.Ref); err != nil {
				return err
			}
			_, err := o.db.TxExec(ctx, tx, `INSERT INTO catv_audit (operator, at, platform_id, terminal, action, message_id, result)
				VALUES ($1, $2, '', '', 'send', $3, 'ok')`, o.id, at, id)
			return err
		})
		if store.IsUniqueViolation(err) {
			continue
		}
		return id, err
	}
	return 0, fmt.Errorf("catv: send: no free message ID after 5 tries")
}

// area is the area of the person at the terminal, or the NotSubscriber
// refusal (with its audit row).
func (o *Operator) area(ctx context.Context, platformID, terminal, action string, id int64) (string, error) {
	var area string
	err := o.db.QueryRowContext(ctx, `SELECT area FROM catv_subscribers WHERE operator = $1 AND platform_id = $2 AND terminal = $3`,
		o.id, platformID, terminal).Scan(&area)
	if errors.Is(err, sql.ErrNoRows) {
		return "", o.refused(ctx, platformID, terminal, action, id, ReasonNotSubscriber)
	}
	return area, err
}

// visible is the condition on catv_messages (as m) of the messages for the
// person ($2) in the area ($3).
const visible = `m.operator = $1 AND (m.scope = 'all' OR (m.scope = 'area' AND m.area = $3) OR (m.scope = 'person' AND m.platform_id = $2))`

// Inbox are the messages for the person at the terminal, the unread
// first, the newest first among each. It writes an audit row.
func (o *Operator) Inbox(ctx context.Context, platformID, terminal string) ([]Message, error) {
	area, err := o.area(ctx, platformID, terminal, "inbox", 0)
	if err != nil {
		return nil, err
	}
	rows, err := o.db.QueryContext(ctx, `SELECT m.id, m.sender, m.sender_kind, m.scope, m.area, m.platform_id, m.title_ja, m.title_en,
		m.body_ja, m.body_en, m.created_at, r.read_at IS NOT NULL
		FROM catv_messages m LEFT JOIN catv_message_reads r ON r.operator = m.operator AND r.message_id = m.id AND r.platform_id = $2
		WHERE `+visible+` ORDER BY (r.read_at IS NOT NULL), m.created_at DESC, m.id DESC`, o.id, platformID, area)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Message
	for rows.Next() {
		var m Message
		var at int64
		if err := rows.Scan(&m.ID, &m.Sender, &m.SenderKind, &m.Scope, &m.Area, &m.PlatformID, &m.TitleJA, &m.TitleEN,
			&m.BodyJA, &m.BodyEN, &at, &m.Read); err != nil {
			return nil, err
		}
		m.At = time.UnixMilli(at)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, o.audit(ctx, platformID, terminal, "inbox", 0, "ok")
}

// Read opens message id for the person at the terminal and marks it read
// (once; opening it again keeps the first time). It writes an audit row.
func (o *Operator) Read(ctx context.Context, platformID, terminal string, id int64) (Message, error) {
	area, err := o.area(ctx, platformID, terminal, "read", id)
	if err != nil {
		return Message{}, err
	}
	var m Message
	var at int64
	err = o.db.QueryRowContext(ctx, `SELECT m.id, m.sender, m.sender_kind, m.scope, m.area, m.platform_id, m.title_ja, m.title_en,
		m.body_ja, m.body_en, m.created_at FROM catv_messages m WHERE `+visible+` AND m.id = $4`, o.id, platformID, area, id).Scan(
		&m.ID, &m.Sender, &m.SenderKind, &m.Scope, &m.Area, &m.PlatformID, &m.TitleJA, &m.TitleEN, &m.BodyJA, &m.BodyEN, &at)
	if errors.Is(err, sql.ErrNoRows) {
		// Another person's message is as absent as one that never was.
		return Message{}, o.refused(ctx, platformID, terminal, "read", id, ReasonNoMessage)
	}
	if err != nil {
		return Message{}, err
	}
	m.At, m.Read = time.UnixMilli(at), true
	now := o.now().UnixMilli()
	err = o.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := o.db.TxExec(ctx, tx, `INSERT INTO catv_message_reads (operator, message_id, platform_id, read_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (operator, message_id, platform_id) DO NOTHING`, o.id, id, platformID, now); err != nil {
			return err
		}
		_, err := o.db.TxExec(ctx, tx, `INSERT INTO catv_audit (operator, at, platform_id, terminal, action, message_id, result)
			VALUES ($1, $2, $3, $4, 'read', $5, 'ok')`, o.id, now, platformID, terminal, id)
		return err
	})
	return m, err
}

// AuditEntry is one row of the operator's audit.
type AuditEntry struct {
	At                   time.Time
	PlatformID, Terminal string
	Action               string
	MessageID            int64
	Result               string
}

// Audit is the operator's audit rows of a person (platformID "": the rows
// of no person, the sends), oldest first.
func (o *Operator) Audit(ctx context.Context, platformID string) ([]AuditEntry, error) {
	rows, err := o.db.QueryContext(ctx, `SELECT at, platform_id, terminal, action, message_id, result FROM catv_audit
		WHERE operator = $1 AND platform_id = $2 ORDER BY at, action`, o.id, platformID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at int64
		if err := rows.Scan(&at, &e.PlatformID, &e.Terminal, &e.Action, &e.MessageID, &e.Result); err != nil {
			return nil, err
		}
		e.At = time.UnixMilli(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

func (o *Operator) audit(ctx context.Context, platformID, terminal, action string, id int64, result string) error {
	_, err := o.db.Write(ctx, `INSERT INTO catv_audit (operator, at, platform_id, terminal, action, message_id, result)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, o.id, o.now().UnixMilli(), platformID, terminal, action, id, result)
	return err
}

// refused writes a refusal's audit row and returns the refusal (or the
// failure to write the row).
func (o *Operator) refused(ctx context.Context, platformID, terminal, action string, id int64, r Reason) error {
	if err := o.audit(ctx, platformID, terminal, action, id, string(r)); err != nil {
		return err
	}
	return refuse(r)
}

// HasSubscribers reports whether the operator has any subscriber (the
// demo seeds an operator once).
func (o *Operator) HasSubscribers(ctx context.Context) (bool, error) {
	var n int
	err := o.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM catv_subscribers WHERE operator = $1`, o.id).Scan(&n)
	return n > 0, err
}

// Profile is an operator's name (its messages go out under it) and the
// town it serves (whose staff send the town's messages through it).
type Profile struct {
	Name, Town string
}

// SetProfile records the operator's profile.
func (o *Operator) SetProfile(ctx context.Context, p Profile) error {
	if strings.TrimSpace(p.Name) == "" || strings.TrimSpace(p.Town) == "" {
		return errors.New("catv: an operator needs its name and its town")
	}
	_, err := o.db.Write(ctx, `INSERT INTO catv_operators (operator, name, town) VALUES ($1, $2, $3)
		ON CONFLICT (operator) DO UPDATE SET name = excluded.name, town = excluded.town`, o.id, p.Name, p.Town)
	return err
}

// ErrNoOperator is an operator ID without a profile.
var ErrNoOperator = errors.New("catv: no such operator")

// Profile is the operator's profile, or ErrNoOperator.
func (o *Operator) Profile(ctx context.Context) (Profile, error) {
	var p Profile
	err := o.db.QueryRowContext(ctx, `SELECT name, town FROM catv_operators WHERE operator = $1`, o.id).Scan(&p.Name, &p.Town)
	if errors.Is(err, sql.ErrNoRows) {
		return p, ErrNoOperator
	}
	return p, err
}

// Subscribers are the operator's subscribers, by box and number.
func (o *Operator) Subscribers(ctx context.Context) ([]Subscriber, error) {
	rows, err := o.db.QueryContext(ctx, `SELECT platform_id, terminal, number, area FROM catv_subscribers WHERE operator = $1
		ORDER BY terminal, number, platform_id`, o.id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Subscriber
	for rows.Next() {
		var s Subscriber
		if err := rows.Scan(&s.PlatformID, &s.Terminal, &s.Number, &s.Area); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// PowerOn records that the person logged in at their box on power-on: a
// sign of life (watch-over reads it in slice 4). A box that is not the
// person's is the NotSubscriber refusal, with its audit row.
func (o *Operator) PowerOn(ctx context.Context, platformID, terminal string) error {
	if _, err := o.area(ctx, platformID, terminal, "poweron", 0); err != nil {
		return err
	}
	_, err := o.db.Write(ctx, `INSERT INTO catv_poweron (operator, terminal, platform_id, at) VALUES ($1, $2, $3, $4)`,
		o.id, terminal, platformID, o.now().UnixMilli())
	return err
}

// PowerOns are the times the person powered on with a login, oldest first.
func (o *Operator) PowerOns(ctx context.Context, platformID string) ([]time.Time, error) {
	rows, err := o.db.QueryContext(ctx, `SELECT at FROM catv_poweron WHERE operator = $1 AND platform_id = $2 ORDER BY at`, o.id, platformID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []time.Time
	for rows.Next() {
		var at int64
		if err := rows.Scan(&at); err != nil {
			return nil, err
		}
		out = append(out, time.UnixMilli(at))
	}
	return out, rows.Err()
}
