package gate

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/mail"
	"strconv"
	"strings"
	"time"

	cmail "github.com/mynaplat/mynaplat/community/mail"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/store"
)

//go:embed migrations
var migrations embed.FS

// jst is the body's time: days are Japan's.
var jst = time.FixedZone("JST", 9*60*60)

// Day is the JST date of t, "2006-01-02".
func Day(t time.Time) string { return t.In(jst).Format(time.DateOnly) }

// Body is a school or a library: its ID (in paths, the office ID after
// "gate:" and the outbox owner), its names, its phone number for parents.
type Body struct {
	ID, Name, NameEN, Phone string
}

// Presented maps the 利用者証明用 certificate read from a card without its
// PIN to its holder's platform ID, only among the IDs named
// (platform.Platform's PresentedPerson, or its CallerClient's): a holder not
// among them, or not a holder at all, is platform.ErrNotFound or
// platform.ErrInvalid.
type Presented func(ctx context.Context, der []byte, among []string) (string, error)

// DefaultDebounce is how long a second touch of the same card at the same
// body answers the first event instead of making a new one: a child who
// holds the card twice at the reader has not left at once.
const DefaultDebounce = time.Minute

// Config is the service's.
type Config struct {
	DB        *store.DB
	Body      Body
	Presented Presented
	// Mail sends the parents' mails (through the outbox).
	Mail cmail.Transport
	// Debounce is DefaultDebounce when zero; negative: none (the bench).
	Debounce time.Duration
	Now      func() time.Time
	Logger   *slog.Logger
}

// Service is one body's check-in: its rows only.
type Service struct {
	db        *store.DB
	body      Body
	presented Presented
	outbox    *cmail.Outbox
	debounce  time.Duration
	now       func() time.Time
	logger    *slog.Logger
	// kick wakes Run when a mail is queued, so that the parents' mail goes
	// within seconds, not at the next tick.
	kick chan struct{}
}

// New migrates the tables and returns the body's service.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.DB == nil || cfg.Mail == nil || cfg.Presented == nil || cfg.Body.ID == "" || cfg.Body.Name == "" {
		return nil, errors.New("gate: a service needs a database, a mail transport, the presence read and its body")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Debounce == 0 {
		cfg.Debounce = DefaultDebounce
	}
	mfs, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	if err := cfg.DB.Migrate(ctx, "community_gate", mfs); err != nil {
		return nil, err
	}
	ob, err := cmail.OpenOutbox(ctx, cfg.DB, "gate:"+cfg.Body.ID, cfg.Mail, cfg.Now, cfg.Logger)
	if err != nil {
		return nil, err
	}
	return &Service{db: cfg.DB, body: cfg.Body, presented: cfg.Presented, outbox: ob, debounce: cfg.Debounce, now: cfg.Now,
		logger: cfg.Logger, kick: make(chan struct{}, 1)}, nil
}

// Body is the service's body.
func (s *Service) Body() Body { return s.body }

// Outbox is the parents' mails.
func (s *Service) Outbox() *cmail.Outbox { return s.outbox }

// RegisterChild registers (or renames) a child at the body; by is the
// staff member (or "demo").
func (s *Service) RegisterChild(ctx context.Context, by, platformID, name string) error {
	name = strings.TrimSpace(name)
	if platformID == "" || name == "" {
		return s.refused(ctx, by, "", platformID, "child", ReasonBadChild)
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.db.TxExec(ctx, tx, `INSERT INTO gate_children (body, platform_id, name, created_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (body, platform_id) DO UPDATE SET name = excluded.name`, s.body.ID, platformID, name, s.now().UnixMilli()); err != nil {
			return err
		}
		return s.auditTx(ctx, tx, by, "", platformID, "child", 0, "ok")
	})
}

// LinkParent links a parent (platform ID, mail address) to a child
// registered at the body, or changes the address.
func (s *Service) LinkParent(ctx context.Context, by, child, parent, addr string) error {
	a, err := mail.ParseAddress(addr)
	if child == "" || parent == "" || err != nil || a.Address != addr {
		return s.refused(ctx, by, "", child, "parent", ReasonBadParent)
	}
	if _, err := s.childName(ctx, child); errors.Is(err, sql.ErrNoRows) {
		return s.refused(ctx, by, "", child, "parent", ReasonBadParent)
	} else if err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.db.TxExec(ctx, tx, `INSERT INTO gate_parents (body, child_platform_id, parent_platform_id, mail, created_at)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (body, child_platform_id, parent_platform_id) DO UPDATE SET mail = excluded.mail`,
			s.body.ID, child, parent, addr, s.now().UnixMilli()); err != nil {
			return err
		}
		return s.auditTx(ctx, tx, by, "", child, "parent", 0, "ok")
	})
}

func (s *Service) childName(ctx context.Context, platformID string) (string, error) {
	var name string
	err := s.db.QueryRowContext(ctx, `SELECT name FROM gate_children WHERE body = $1 AND platform_id = $2`, s.body.ID, platformID).Scan(&name)
	return name, err
}

// HasChildren reports whether a child is registered (the demo seeds once).
func (s *Service) HasChildren(ctx context.Context) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM gate_children WHERE body = $1`, s.body.ID).Scan(&n)
	return n > 0, err
}

// Kinds of event.
const (
	Arrive = "arrive"
	Leave  = "leave"
)

// Event is one card presented at the gate.
type Event struct {
	ID         int64     `json:"id"`
	Child      string    `json:"-"`
	Name       string    `json:"name"`
	Kind       string    `json:"kind"`
	Terminal   string    `json:"terminal"`
	At         time.Time `json:"at"`
	Day        string    `json:"day"`
	BodyName   string    `json:"body_name"`
	BodyNameEN string    `json:"body_name_en"`
}

// Touch records a card held to the gate's reader at terminal: der is the
// card's 利用者証明用 certificate read without a PIN. The holder must be a
// child registered at the body (asked of the platform among those
// children only); the event is an arrival or a departure, alternating
// within the day (a second touch within the debounce answers the first
// event), and each linked parent's mail is queued with it in one
// transaction. Refusal: UnknownCard (with its audit row only, naming no
// one).
func (s *Service) Touch(ctx context.Context, terminal string, der []byte) (Event, error) {
	actor := "gate:" + terminal
	among, err := s.childIDs(ctx)
	if err != nil {
		return Event{}, err
	}
	child, err := s.presented(ctx, der, among)
	switch {
	case errors.Is(err, platform.ErrNotFound), errors.Is(err, platform.ErrInvalid):
		return Event{}, s.refused(ctx, actor, terminal, "", "touch", ReasonUnknownCard)
	case err != nil:
		return Event{}, fmt.Errorf("gate: presence read: %w", err)
	}
	name, err := s.childName(ctx, child)
	if err != nil {
		return Event{}, err
	}
	now := s.now()
	ev := Event{Child: child, Name: name, Terminal: terminal, Day: Day(now), BodyName: s.body.Name, BodyNameEN: s.body.NameEN}
	// Two touches at once (two readers) both pick the next number; the
	// unique (child, day, seq) index takes one and the other runs again.
	for try := 0; ; try++ {
		fresh := false
		err = s.db.Tx(ctx, func(tx *sql.Tx) error {
			var seq, at, id int64
			var kind, term string
			err := s.db.TxQueryRow(ctx, tx, `SELECT seq, at, id, kind, terminal FROM gate_events WHERE body = $1 AND child_platform_id = $2 AND day = $3
				ORDER BY seq DESC LIMIT 1`, s.body.ID, child, ev.Day).Scan(&seq, &at, &id, &kind, &term)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if err == nil && now.Sub(time.UnixMilli(at)) < s.debounce {
				ev.ID, ev.Kind, ev.Terminal, ev.At = id, kind, term, time.UnixMilli(at)
				return nil
			}
			seq++
			ev.Kind, ev.At, fresh = Arrive, time.UnixMilli(now.UnixMilli()), true
			if seq%2 == 0 {
				ev.Kind = Leave
			}
			if err := s.db.TxQueryRow(ctx, tx, `INSERT INTO gate_events (body, child_platform_id, day, seq, kind, terminal, at)
				VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, s.body.ID, child, ev.Day, seq, ev.Kind, terminal, ev.At.UnixMilli()).Scan(&ev.ID); err != nil {
				return err
			}
			parents, err := s.parentsTx(ctx, tx, child)
			if err != nil {
				return err
			}
			for _, p := range parents {
				if _, err := s.outbox.EnqueueTx(ctx, tx, "event:"+strconv.FormatInt(ev.ID, 10)+":"+p.id, s.parentMail(p.mail, ev)); err != nil {
					return err
				}
			}
			return s.auditTx(ctx, tx, actor, terminal, child, ev.Kind, ev.ID, "ok")
		})
		if store.IsUniqueViolation(err) && try < 5 {
			continue
		}
		if err != nil {
			return Event{}, err
		}
		if fresh {
			s.wake()
		}
		return ev, nil
	}
}

func (s *Service) childIDs(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT platform_id FROM gate_children WHERE body = $1 ORDER BY platform_id`, s.body.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

type parentRow struct{ id, mail string }

func (s *Service) parentsTx(ctx context.Context, tx *sql.Tx, child string) ([]parentRow, error) {
	rows, err := tx.QueryContext(ctx, `SELECT parent_platform_id, mail FROM gate_parents WHERE body = $1 AND child_platform_id = $2
		ORDER BY parent_platform_id`, s.body.ID, child)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []parentRow
	for rows.Next() {
		var p parentRow
		if err := rows.Scan(&p.id, &p.mail); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// KindWords are an event kind's words.
func KindWords(kind string) (ja, en string) {
	if kind == Leave {
		return "出ました", "left"
	}
	return "着きました", "arrived"
}

// parentMail is the mail to a parent: who, where, arrived or left, when —
// and that a card was presented (the gate cannot know who held it).
func (s *Service) parentMail(to string, ev Event) cmail.Message {
	ja, en := KindWords(ev.Kind)
	at := ev.At.In(jst).Format("2006-01-02 15:04")
	bodyEN := s.body.NameEN
	if bodyEN == "" {
		bodyEN = s.body.Name
	}
	return cmail.Message{To: to,
		Subject: fmt.Sprintf("【%s】%s さんが%s / %s %s", s.body.Name, ev.Name, ja, ev.Name, en),
		Body: fmt.Sprintf("%s さんのカードが %s の入口で読み取られました。\n%s に%s。\n\n"+
			"%s's card was presented at the gate of %s.\n%s %s at %s (JST).\n\n"+
			"記録はテレビの「子どもの入退室」で見られます。お問い合わせは %s（電話 %s）へ。\n"+
			"The history is on your TV under \"My child's check-ins\". Questions: %s (phone %s).\n\n"+
			"このメールは送信専用です。/ This mail is sent automatically; do not reply.\n",
			ev.Name, s.body.Name, at, ja, ev.Name, bodyEN, ev.Name, en, at, s.body.Name, s.body.Phone, bodyEN, s.body.Phone)}
}

// Run sends the parents' mails every interval, and at once when a touch
// queued one, until ctx ends.
func (s *Service) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		// A burst of touches queues more than one flush takes: go on while
		// mails go out, so the backlog does not wait for the next tick.
		for {
			n, err := s.outbox.Flush(ctx)
			if err != nil && ctx.Err() == nil {
				s.logger.Error("gate: mail", "body", s.body.ID, "err", err)
			}
			if err != nil || n == 0 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.kick:
		}
	}
}

func (s *Service) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Child is a child's history as their parent's TV shows it.
type Child struct {
	Name string `json:"name"`
	// Body and BodyEN are the body's names (the school, the library).
	Body   string  `json:"body"`
	BodyEN string  `json:"body_en"`
	Events []Event `json:"events"`
}

// Linked reports whether parent is linked to a child at the body (the
// TV offers the check-ins only then). It tells the parent nothing about a
// child, so it is not audited.
func (s *Service) Linked(ctx context.Context, parent string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM gate_parents WHERE body = $1 AND parent_platform_id = $2`, s.body.ID, parent).Scan(&n)
	return n > 0, err
}

// HistoryDays is how far back a parent's TV shows the events.
const HistoryDays = 30

// History is the events of the last HistoryDays days of each child linked
// to parent at the body, newest first; each child's read is audited. A
// parent linked to no child here is NotLinked (its audit row only).
func (s *Service) History(ctx context.Context, parent, terminal string) ([]Child, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT c.platform_id, c.name FROM gate_parents p JOIN gate_children c
		ON c.body = p.body AND c.platform_id = p.child_platform_id
		WHERE p.body = $1 AND p.parent_platform_id = $2 ORDER BY c.name, c.platform_id`, s.body.ID, parent)
	if err != nil {
		return nil, err
	}
	type kid struct{ id, name string }
	var kids []kid
	for rows.Next() {
		var k kid
		if err := rows.Scan(&k.id, &k.name); err != nil {
			rows.Close()
			return nil, err
		}
		kids = append(kids, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(kids) == 0 {
		return nil, s.refused(ctx, parent, terminal, "", "history", ReasonNotLinked)
	}
	since := s.now().AddDate(0, 0, -HistoryDays).UnixMilli()
	out := make([]Child, 0, len(kids))
	for _, k := range kids {
		evs, err := s.events(ctx, `e.child_platform_id = $2 AND e.at >= $3 ORDER BY e.at DESC, e.id DESC LIMIT 100`, k.id, since)
		if err != nil {
			return nil, err
		}
		if err := s.audit(ctx, parent, terminal, k.id, "history", 0, "ok"); err != nil {
			return nil, err
		}
		out = append(out, Child{Name: k.name, Body: s.body.Name, BodyEN: s.body.NameEN, Events: evs})
	}
	return out, nil
}

// Today is the day's events at the body (its staff page), oldest first;
// the read is audited as by the staff member.
func (s *Service) Today(ctx context.Context, by string) ([]Event, error) {
	evs, err := s.events(ctx, `e.day = $2 ORDER BY e.at, e.id`, Day(s.now()))
	if err != nil {
		return nil, err
	}
	return evs, s.audit(ctx, by, "", "", "today", 0, "ok")
}

func (s *Service) events(ctx context.Context, where string, args ...any) ([]Event, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT e.id, e.child_platform_id, c.name, e.kind, e.terminal, e.at, e.day
		FROM gate_events e JOIN gate_children c ON c.body = e.body AND c.platform_id = e.child_platform_id
		WHERE e.body = $1 AND `+where, append([]any{s.body.ID}, args...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Event{}
	for rows.Next() {
		e := Event{BodyName: s.body.Name, BodyNameEN: s.body.NameEN}
		var at int64
		if err := rows.Scan(&e.ID, &e.Child, &e.Name, &e.Kind, &e.Terminal, &at, &e.Day); err != nil {
			return nil, err
		}
		e.At = time.UnixMilli(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// AuditEntry is one audit row.
type AuditEntry struct {
	At                          time.Time
	Actor, Terminal, PlatformID string
	Action                      string
	EventID                     int64
	Result                      string
}

// Audit are the body's audit rows about a person ("": those about no
// one: staff reads, refusals naming no one), oldest first.
func (s *Service) Audit(ctx context.Context, platformID string) ([]AuditEntry, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT at, actor, terminal, platform_id, action, event_id, result FROM gate_audit
		WHERE body = $1 AND platform_id = $2 ORDER BY id`, s.body.ID, platformID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at int64
		if err := rows.Scan(&at, &e.Actor, &e.Terminal, &e.PlatformID, &e.Action, &e.EventID, &e.Result); err != nil {
			return nil, err
		}
		e.At = time.UnixMilli(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

const qAudit = `INSERT INTO gate_audit (body, at, actor, terminal, platform_id, action, event_id, result) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`

func (s *Service) audit(ctx context.Context, actor, terminal, platformID, action string, event int64, result string) error {
	_, err := s.db.Write(ctx, qAudit, s.body.ID, s.now().UnixMilli(), actor, terminal, platformID, action, event, result)
	return err
}

func (s *Service) auditTx(ctx context.Context, tx *sql.Tx, actor, terminal, platformID, action string, event int64, result string) error {
	_, err := s.db.TxExec(ctx, tx, qAudit, s.body.ID, s.now().UnixMilli(), actor, terminal, platformID, action, event, result)
	return err
}

// refused writes a refusal's audit row (only) and returns the refusal.
func (s *Service) refused(ctx context.Context, actor, terminal, platformID, action string, r Reason) error {
	if err := s.audit(ctx, actor, terminal, platformID, action, 0, string(r)); err != nil {
		return err
	}
	return &Refusal{Reason: r}
}
