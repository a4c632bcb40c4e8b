package watch

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
	"github.com/mynaplat/mynaplat/store"
)

//go:embed migrations
var migrations embed.FS

// jst is the health centre's time: days and deadlines are Japan's.
var jst = time.FixedZone("JST", 9*60*60)

// Day is the JST date of t, "2006-01-02".
func Day(t time.Time) string { return t.In(jst).Format(time.DateOnly) }

// dayStart is the first instant of day (JST).
func dayStart(day string) (time.Time, error) { return time.ParseInLocation(time.DateOnly, day, jst) }

// Signs reads a person's TV power-ons with a login (catv.SignsClient).
type Signs interface {
	Signs(ctx context.Context, platformID string, from, to time.Time) ([]time.Time, error)
}

// Centre is the health centre: its office ID (after "watch:"), its name
// and the phone number the families' mails ask them to call.
type Centre struct {
	ID, Name, Phone string
}

// Limits are the health centre's thresholds (configuration, not medical
// advice): an answer above its limit raises the range flag at once.
type Limits struct{ Feeling, BP, Choice int }

// DefaultLimits flag the third answer of each question: feeling unwell,
// blood pressure high, not eaten (the TV's questions, templates of
// community/tv).
var DefaultLimits = Limits{Feeling: 2, BP: 2, Choice: 2}

// Config is the service's.
type Config struct {
	DB     *store.DB
	Centre Centre
	// Signs are the CATV operators' power-ons (nil: none are read, only
	// inputs are signs of life).
	Signs Signs
	// Mail sends the families' mails (through the outbox).
	Mail   cmail.Transport
	Limits Limits
	Now    func() time.Time
	Logger *slog.Logger
}

// Service is one health centre's watch-over.
type Service struct {
	db     *store.DB
	centre Centre
	signs  Signs
	outbox *cmail.Outbox
	limits Limits
	now    func() time.Time
	logger *slog.Logger
	// kick wakes Run when a flag's mail is queued, so that the family's
	// mail goes within seconds, not at the next tick.
	kick chan struct{}
}

// New migrates the tables and returns the service.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.DB == nil || cfg.Mail == nil || cfg.Centre.ID == "" || cfg.Centre.Name == "" {
		return nil, errors.New("watch: a service needs a database, a mail transport and its centre")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Limits == (Limits{}) {
		cfg.Limits = DefaultLimits
	}
	mfs, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	if err := cfg.DB.Migrate(ctx, "community_watch", mfs); err != nil {
		return nil, err
	}
	ob, err := cmail.OpenOutbox(ctx, cfg.DB, "watch:"+cfg.Centre.ID, cfg.Mail, cfg.Now, cfg.Logger)
	if err != nil {
		return nil, err
	}
	return &Service{db: cfg.DB, centre: cfg.Centre, signs: cfg.Signs, outbox: ob, limits: cfg.Limits, now: cfg.Now, logger: cfg.Logger,
		kick: make(chan struct{}, 1)}, nil
}

// Centre is the service's health centre.
func (s *Service) Centre() Centre { return s.centre }

// Outbox is the families' mails.
func (s *Service) Outbox() *cmail.Outbox { return s.outbox }

// Person is someone watched.
type Person struct {
	PlatformID, Name string
	// FamilyMail is the family contact's address.
	FamilyMail string
	// Deadline is the minute of the day (JST) by which a sign of life is
	// expected (600: 10:00).
	Deadline int
}

// Watch registers (or updates) a person watched; by is the staff member
// (or "demo").
func (s *Service) Watch(ctx context.Context, by string, p Person) error {
	a, err := mail.ParseAddress(p.FamilyMail)
	if p.PlatformID == "" || strings.TrimSpace(p.Name) == "" || err != nil || a.Address != p.FamilyMail || p.Deadline <= 0 || p.Deadline >= 24*60 {
		return s.refused(ctx, by, "", p.PlatformID, "watch", 0, ReasonBadPerson)
	}
	at := s.now().UnixMilli()
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.db.TxExec(ctx, tx, `INSERT INTO watch_people (platform_id, name, family_mail, deadline_minute, created_at)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (platform_id) DO UPDATE SET name = excluded.name,
			family_mail = excluded.family_mail, deadline_minute = excluded.deadline_minute`, p.PlatformID, p.Name, p.FamilyMail, p.Deadline, at); err != nil {
			return err
		}
		return s.auditTx(ctx, tx, by, "", p.PlatformID, "watch", 0, "ok")
	})
}

// person is the person watched, or the NotWatched refusal with its audit
// row.
func (s *Service) person(ctx context.Context, actor, terminal, platformID, action string) (Person, error) {
	p := Person{PlatformID: platformID}
	err := s.db.QueryRowContext(ctx, `SELECT name, family_mail, deadline_minute FROM watch_people WHERE platform_id = $1`, platformID).Scan(
		&p.Name, &p.FamilyMail, &p.Deadline)
	if errors.Is(err, sql.ErrNoRows) {
		return p, s.refused(ctx, actor, terminal, platformID, action, 0, ReasonNotWatched)
	}
	return p, err
}

// HasPeople reports whether anyone is watched (the demo seeds once).
func (s *Service) HasPeople(ctx context.Context) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM watch_people`).Scan(&n)
	return n > 0, err
}

// Answer is the day's three answers, each 1–3 (a number key).
type Answer struct {
	Feeling int `json:"feeling"`
	BP      int `json:"bp"`
	Choice  int `json:"choice"`
}

func (a Answer) valid() bool {
	for _, v := range []int{a.Feeling, a.BP, a.Choice} {
		if v < 1 || v > 3 {
			return false
		}
	}
	return true
}

// Today is a person's day as their TV shows it.
type Today struct {
	Name string `json:"name"`
	Day  string `json:"day"`
	// Answered is whether today's answer is in, Answer that answer.
	Answered bool   `json:"answered"`
	Answer   Answer `json:"answer"`
	// Flagged is whether an answer of today raised the range flag (the
	// health centre will call).
	Flagged bool `json:"flagged"`
}

// Today is the person's day: the NotWatched refusal for a person not
// watched. The read is audited.
func (s *Service) Today(ctx context.Context, platformID, terminal string) (Today, error) {
	p, err := s.person(ctx, platformID, terminal, platformID, "today")
	if err != nil {
		return Today{}, err
	}
	t, err := s.today(ctx, p, Day(s.now()))
	if err != nil {
		return t, err
	}
	return t, s.audit(ctx, platformID, terminal, platformID, "today", 0, "ok")
}

func (s *Service) today(ctx context.Context, p Person, day string) (Today, error) {
	t := Today{Name: p.Name, Day: day}
	err := s.db.QueryRowContext(ctx, `SELECT feeling, bp_band, choice FROM watch_inputs WHERE platform_id = $1 AND day = $2`, p.PlatformID, day).Scan(
		&t.Answer.Feeling, &t.Answer.BP, &t.Answer.Choice)
	switch {
	case err == nil:
		t.Answered = true
	case !errors.Is(err, sql.ErrNoRows):
		return t, err
	}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM watch_flags WHERE platform_id = $1 AND day = $2 AND kind = 'range'`,
		p.PlatformID, day).Scan(&n); err != nil {
		return t, err
	}
	t.Flagged = n > 0
	return t, nil
}

// Input records the person's answer of today from their TV: a sign of
// life, and an answer above the centre's limits raises the range flag at
// once (mailing the family once). Answering again the same day replaces
// the answer. Refusals: NotWatched, BadAnswer (each with its audit row
// only).
func (s *Service) Input(ctx context.Context, platformID, terminal string, a Answer) (Today, error) {
	p, err := s.person(ctx, platformID, terminal, platformID, "input")
	if err != nil {
		return Today{}, err
	}
	if !a.valid() {
		return Today{}, s.refused(ctx, platformID, terminal, platformID, "input", 0, ReasonBadAnswer)
	}
	now := s.now()
	day, at := Day(now), now.UnixMilli()
	out := a.Feeling > s.limits.Feeling || a.BP > s.limits.BP || a.Choice > s.limits.Choice
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.db.TxExec(ctx, tx, `INSERT INTO watch_inputs (platform_id, day, feeling, bp_band, choice, terminal, at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (platform_id, day) DO UPDATE SET feeling = excluded.feeling,
			bp_band = excluded.bp_band, choice = excluded.choice, terminal = excluded.terminal, at = excluded.at`,
			platformID, day, a.Feeling, a.BP, a.Choice, terminal, at); err != nil {
			return err
		}
		if err := s.signTx(ctx, tx, platformID, day, "input", at); err != nil {
			return err
		}
		var flag int64
		if out {
			var err error
			if flag, err = s.raiseTx(ctx, tx, p, day, "range", at); err != nil {
				return err
			}
		}
		return s.auditTx(ctx, tx, platformID, terminal, platformID, "input", flag, "ok")
	})
	if err != nil {
		return Today{}, err
	}
	if out {
		s.wake()
	}
	return s.today(ctx, p, day)
}

func (s *Service) signTx(ctx context.Context, tx *sql.Tx, platformID, day, kind string, at int64) error {
	_, err := s.db.TxExec(ctx, tx, `INSERT INTO watch_signs (platform_id, day, kind, at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (platform_id, day, kind) DO NOTHING`, platformID, day, kind, at)
	return err
}

// raiseTx raises the person's flag of kind for day once and queues the
// family's mail with it, in tx: the flag and its mail stay together or not
// at all. It returns the flag's ID (0 when it was raised already).
func (s *Service) raiseTx(ctx context.Context, tx *sql.Tx, p Person, day, kind string, at int64) (int64, error) {
	res, err := s.db.TxExec(ctx, tx, `INSERT INTO watch_flags (platform_id, day, kind, raised_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (platform_id, day, kind) DO NOTHING`, p.PlatformID, day, kind, at)
	if err != nil {
		return 0, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return 0, err
	}
	var id int64
	if err := s.db.TxQueryRow(ctx, tx, `SELECT id FROM watch_flags WHERE platform_id = $1 AND day = $2 AND kind = $3`,
		p.PlatformID, day, kind).Scan(&id); err != nil {
		return 0, err
	}
	queued, err := s.outbox.EnqueueTx(ctx, tx, flagRef(id), s.familyMail(p, day))
	if err != nil {
		return 0, err
	}
	if queued {
		if _, err := s.db.TxExec(ctx, tx, `UPDATE watch_flags SET mailed_at = $1 WHERE id = $2 AND mailed_at = 0`, at, id); err != nil {
			return 0, err
		}
	}
	return id, s.auditTx(ctx, tx, "system", "", p.PlatformID, "flag-"+kind, id, "ok")
}

func flagRef(id int64) string { return "flag:" + strconv.FormatInt(id, 10) }

// familyMail is the mail to the family: that a flag was raised and whom to
// call, never a health value nor which flag (§6).
func (s *Service) familyMail(p Person, day string) cmail.Message {
	phone := s.centre.Phone
	return cmail.Message{To: p.FamilyMail,
		Subject: fmt.Sprintf("【%s】見守りのお知らせ / Watch-over notice", s.centre.Name),
		Body: fmt.Sprintf("%s さんの見守りで、%s に確認が必要なことがありました。\n%s（電話 %s）にお電話ください。\n\n"+
			"The watch-over of %s raised a flag on %s.\nPlease call %s (phone %s).\n\n"+
			"このメールは送信専用です。/ This mail is sent automatically; do not reply.\n",
			p.Name, day, s.centre.Name, phone, p.Name, day, s.centre.Name, phone)}
}

// Sweep raises the missing flags of today: for each person watched whose
// deadline has passed with no answer, no power-on with a login before the
// deadline (read from the CATV operator) and no planned absence. A person
// whose power-ons cannot be read now is left for the next sweep rather than
// flagged on a guess. It returns the flags raised.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	now := s.now()
	day := Day(now)
	start, err := dayStart(day)
	if err != nil {
		return 0, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT p.platform_id, p.name, p.family_mail, p.deadline_minute FROM watch_people p
		WHERE NOT EXISTS (SELECT 1 FROM watch_signs g WHERE g.platform_id = p.platform_id AND g.day = $1)
		AND NOT EXISTS (SELECT 1 FROM watch_flags f WHERE f.platform_id = p.platform_id AND f.day = $1 AND f.kind = 'missing')
		AND NOT EXISTS (SELECT 1 FROM watch_absences a WHERE a.platform_id = p.platform_id AND a.from_day <= $1 AND a.to_day >= $1)
		ORDER BY p.platform_id`, day)
	if err != nil {
		return 0, err
	}
	var due []Person
	for rows.Next() {
		var p Person
		if err := rows.Scan(&p.PlatformID, &p.Name, &p.FamilyMail, &p.Deadline); err != nil {
			rows.Close()
			return 0, err
		}
		if !now.Before(start.Add(time.Duration(p.Deadline) * time.Minute)) {
			due = append(due, p)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	raised := 0
	for _, p := range due {
		deadline := start.Add(time.Duration(p.Deadline) * time.Minute)
		if s.signs != nil {
			ons, err := s.signs.Signs(ctx, p.PlatformID, start, deadline)
			if err != nil {
				s.logger.Warn("watch: the power-ons could not be read; the person is checked at the next sweep", "err", err)
				continue
			}
			if len(ons) > 0 {
				if err := s.db.Tx(ctx, func(tx *sql.Tx) error {
					return s.signTx(ctx, tx, p.PlatformID, day, "poweron", ons[0].UnixMilli())
				}); err != nil {
					return raised, err
				}
				continue
			}
		}
		var id int64
		if err := s.db.Tx(ctx, func(tx *sql.Tx) error {
			var err error
			id, err = s.raiseTx(ctx, tx, p, day, "missing", now.UnixMilli())
			return err
		}); err != nil {
			return raised, err
		}
		if id != 0 {
			raised++
		}
	}
	if raised > 0 {
		s.wake()
	}
	return raised, nil
}

// Run sweeps and sends the families' mails every interval until ctx ends.
func (s *Service) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.logger.Error("watch: sweep", "err", err)
		}
		if _, err := s.outbox.Flush(ctx); err != nil && ctx.Err() == nil {
			s.logger.Error("watch: mail", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.kick:
		}
	}
}

// wake asks Run to go round now (a mail is queued).
func (s *Service) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// AddAbsence registers a planned absence (a trip, a stay in hospital)
// from one day to another, both included: no missing flag is raised then.
func (s *Service) AddAbsence(ctx context.Context, by, platformID, from, to string) error {
	_, e1 := dayStart(from)
	_, e2 := dayStart(to)
	if e1 != nil || e2 != nil || to < from {
		return s.refused(ctx, by, "", platformID, "absence", 0, ReasonBadAbsence)
	}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM watch_people WHERE platform_id = $1`, platformID).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return s.refused(ctx, by, "", platformID, "absence", 0, ReasonBadAbsence)
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.db.TxExec(ctx, tx, `INSERT INTO watch_absences (platform_id, from_day, to_day, created_by, created_at) VALUES ($1, $2, $3, $4, $5)`,
			platformID, from, to, by, s.now().UnixMilli()); err != nil {
			return err
		}
		return s.auditTx(ctx, tx, by, "", platformID, "absence", 0, "ok")
	})
}

// Flag is a raised flag.
type Flag struct {
	ID               int64
	PlatformID, Name string
	Day, Kind        string
	Raised, Mailed   time.Time
	Handled          time.Time
	HandledBy, Note  string
	MailSent         time.Time
	MailAttempts     int
	MailError        string
}

// Handle closes an open flag with the staff member's note. Refusals:
// NoteRequired, NoFlag (none, or handled already: a flag is handled once).
func (s *Service) Handle(ctx context.Context, by string, id int64, note string) error {
	note = strings.TrimSpace(note)
	if note == "" {
		return s.refused(ctx, by, "", "", "handle", id, ReasonNoteRequired)
	}
	var pid string
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.db.TxQueryRow(ctx, tx, `SELECT platform_id FROM watch_flags WHERE id = $1 AND handled_at = 0`, id).Scan(&pid); err != nil {
			return err
		}
		res, err := s.db.TxExec(ctx, tx, `UPDATE watch_flags SET handled_at = $1, handled_by = $2, note = $3 WHERE id = $4 AND handled_at = 0`,
			s.now().UnixMilli(), by, note, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return errors.Join(sql.ErrNoRows, err)
		}
		return s.auditTx(ctx, tx, by, "", pid, "handle", id, "ok")
	})
	if errors.Is(err, sql.ErrNoRows) {
		return s.refused(ctx, by, "", "", "handle", id, ReasonNoFlag)
	}
	return err
}

// Row is one person on the staff board: today's state and their open
// flags.
type Row struct {
	Person Person
	Today  Today
	// PowerOn is today's first power-on known, Absent whether a planned
	// absence covers today; Due whether the deadline has passed.
	PowerOn time.Time
	Absent  bool
	Due     bool
	Flags   []Flag
}

// State is the row's state of today, for the board.
func (r Row) State() string {
	missing := false
	for _, f := range r.Flags {
		missing = missing || f.Kind == "missing" && f.Day == r.Today.Day
	}
	switch {
	case r.Today.Answered:
		return "answered"
	case missing:
		return "missing"
	case !r.PowerOn.IsZero():
		return "poweron"
	case r.Absent:
		return "absent"
	case r.Due:
		return "missing"
	}
	return "waiting"
}

// Board is everyone watched with today's state and open flags, and the
// flags handled today; the read is audited as by the staff member.
func (s *Service) Board(ctx context.Context, by string) ([]Row, []Flag, error) {
	now := s.now()
	day := Day(now)
	start, err := dayStart(day)
	if err != nil {
		return nil, nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT platform_id, name, family_mail, deadline_minute FROM watch_people ORDER BY name, platform_id`)
	if err != nil {
		return nil, nil, err
	}
	var out []Row
	for rows.Next() {
		var r Row
		if err := rows.Scan(&r.Person.PlatformID, &r.Person.Name, &r.Person.FamilyMail, &r.Person.Deadline); err != nil {
			rows.Close()
			return nil, nil, err
		}
		r.Due = !now.Before(start.Add(time.Duration(r.Person.Deadline) * time.Minute))
		out = append(out, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	for i := range out {
		r := &out[i]
		if r.Today, err = s.today(ctx, r.Person, day); err != nil {
			return nil, nil, err
		}
		var at int64
		err := s.db.QueryRowContext(ctx, `SELECT at FROM watch_signs WHERE platform_id = $1 AND day = $2 AND kind = 'poweron'`, r.Person.PlatformID, day).Scan(&at)
		switch {
		case err == nil:
			r.PowerOn = time.UnixMilli(at)
		case !errors.Is(err, sql.ErrNoRows):
			return nil, nil, err
		case s.signs != nil && !r.Today.Answered:
			// Not recorded yet (the sweep records it at the deadline): ask
			// the operator, and show the state without it if it is down.
			if ons, err := s.signs.Signs(ctx, r.Person.PlatformID, start, now); err == nil && len(ons) > 0 {
				r.PowerOn = ons[0]
			}
		}
		var n int
		if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM watch_absences WHERE platform_id = $1 AND from_day <= $2 AND to_day >= $2`,
			r.Person.PlatformID, day).Scan(&n); err != nil {
			return nil, nil, err
		}
		r.Absent = n > 0
		if r.Flags, err = s.flags(ctx, `f.platform_id = $1 AND f.handled_at = 0`, r.Person.PlatformID); err != nil {
			return nil, nil, err
		}
	}
	handled, err := s.flags(ctx, `f.handled_at >= $1`, start.UnixMilli())
	if err != nil {
		return nil, nil, err
	}
	return out, handled, s.audit(ctx, by, "", "", "board", 0, "ok")
}

func (s *Service) flags(ctx context.Context, where string, arg any) ([]Flag, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT f.id, f.platform_id, p.name, f.day, f.kind, f.raised_at, f.mailed_at, f.handled_at, f.handled_by, f.note,
		COALESCE(o.sent_at, 0), COALESCE(o.attempts, 0), COALESCE(o.last_error, '')
		FROM watch_flags f JOIN watch_people p ON p.platform_id = f.platform_id
		LEFT JOIN mail_outbox o ON o.owner = $2 AND o.ref = 'flag:' || CAST(f.id AS TEXT)
		WHERE `+where+` ORDER BY f.raised_at, f.id`, arg, "watch:"+s.centre.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Flag
	ms := func(v int64) time.Time {
		if v == 0 {
			return time.Time{}
		}
		return time.UnixMilli(v)
	}
	for rows.Next() {
		var f Flag
		var raised, mailed, handled, sent int64
		if err := rows.Scan(&f.ID, &f.PlatformID, &f.Name, &f.Day, &f.Kind, &raised, &mailed, &handled, &f.HandledBy, &f.Note,
			&sent, &f.MailAttempts, &f.MailError); err != nil {
			return nil, err
		}
		f.Raised, f.Mailed, f.Handled, f.MailSent = ms(raised), ms(mailed), ms(handled), ms(sent)
		out = append(out, f)
	}
	return out, rows.Err()
}

// AuditEntry is one audit row.
type AuditEntry struct {
	At                          time.Time
	Actor, Terminal, PlatformID string
	Action                      string
	FlagID                      int64
	Result                      string
}

// Audit are the audit rows about a person ("": those about no one, the
// board's reads and refusals without a person), oldest first.
func (s *Service) Audit(ctx context.Context, platformID string) ([]AuditEntry, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT at, actor, terminal, platform_id, action, flag_id, result FROM watch_audit
		WHERE platform_id = $1 ORDER BY id`, platformID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at int64
		if err := rows.Scan(&at, &e.Actor, &e.Terminal, &e.PlatformID, &e.Action, &e.FlagID, &e.Result); err != nil {
			return nil, err
		}
		e.At = time.UnixMilli(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

const qAudit = `INSERT INTO watch_audit (at, actor, terminal, platform_id, action, flag_id, result) VALUES ($1, $2, $3, $4, $5, $6, $7)`

func (s *Service) audit(ctx context.Context, actor, terminal, platformID, action string, flag int64, result string) error {
	_, err := s.db.Write(ctx, qAudit, s.now().UnixMilli(), actor, terminal, platformID, action, flag, result)
	return err
}

func (s *Service) auditTx(ctx context.Context, tx *sql.Tx, actor, terminal, platformID, action string, flag int64, result string) error {
	_, err := s.db.TxExec(ctx, tx, qAudit, s.now().UnixMilli(), actor, terminal, platformID, action, flag, result)
	return err
}

// refused writes a refusal's audit row (only) and returns the refusal.
func (s *Service) refused(ctx context.Context, actor, terminal, platformID, action string, flag int64, r Reason) error {
	if err := s.audit(ctx, actor, terminal, platformID, action, flag, string(r)); err != nil {
		return err
	}
	return &Refusal{Reason: r}
}
