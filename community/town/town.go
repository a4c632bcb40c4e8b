package town

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/community/tvlogin"
	"github.com/mynaplat/mynaplat/store"
)

//go:embed migrations
var migrations embed.FS

// Service is the towns one role hosts, over one database.
type Service struct {
	db     *store.DB
	now    func() time.Time
	logger *slog.Logger
}

// NewService migrates the tables and returns the service.
func NewService(ctx context.Context, db *store.DB, now func() time.Time, logger *slog.Logger) (*Service, error) {
	if db == nil {
		return nil, errors.New("town: no database")
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
	if err := db.Migrate(ctx, "community_town", mfs); err != nil {
		return nil, err
	}
	return &Service{db: db, now: now, logger: logger}, nil
}

// Town is town id of the service.
func (s *Service) Town(id string) *Town { return &Town{s: s, id: id} }

// Town is one town's residents, checkups and facilities.
type Town struct {
	s  *Service
	id string
}

// ID is the town's ID.
func (t *Town) ID() string { return t.id }

// Profile is a town's name.
type Profile struct{ NameJA, NameEN string }

// SetProfile records the town's name (its reminders go out under NameJA,
// the name its CATV operators know it by).
func (t *Town) SetProfile(ctx context.Context, p Profile) error {
	if strings.TrimSpace(p.NameJA) == "" || strings.TrimSpace(p.NameEN) == "" {
		return errors.New("town: a town needs its name in Japanese and English")
	}
	_, err := t.s.db.Write(ctx, `INSERT INTO town_towns (town, name_ja, name_en) VALUES ($1, $2, $3)
		ON CONFLICT (town) DO UPDATE SET name_ja = excluded.name_ja, name_en = excluded.name_en`, t.id, p.NameJA, p.NameEN)
	return err
}

// ErrNoTown is a town ID without a profile.
var ErrNoTown = errors.New("town: no such town")

// Profile is the town's profile, or ErrNoTown.
func (t *Town) Profile(ctx context.Context) (Profile, error) {
	var p Profile
	err := t.s.db.QueryRowContext(ctx, `SELECT name_ja, name_en FROM town_towns WHERE town = $1`, t.id).Scan(&p.NameJA, &p.NameEN)
	if errors.Is(err, sql.ErrNoRows) {
		return p, ErrNoTown
	}
	return p, err
}

// AddResident registers a resident (a person lives in one town at a time:
// registering them in another town fails).
func (t *Town) AddResident(ctx context.Context, platformID string) error {
	if platformID == "" {
		return errors.New("town: a resident needs a platform ID")
	}
	_, err := t.s.db.Write(ctx, `INSERT INTO town_residents (town, platform_id, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (town, platform_id) DO NOTHING`, t.id, platformID, t.s.now().UnixMilli())
	return err
}

// HasResidents reports whether the town has any resident (the demo seeds
// a town once).
func (t *Town) HasResidents(ctx context.Context) (bool, error) {
	var n int
	err := t.s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM town_residents WHERE town = $1`, t.id).Scan(&n)
	return n > 0, err
}

// townOf is the town the person lives in, or the NotResident refusal
// (audited under no town).
func (s *Service) townOf(ctx context.Context, v tvlogin.Viewer, action string) (*Town, error) {
	var id string
	err := s.db.QueryRowContext(ctx, `SELECT town FROM town_residents WHERE platform_id = $1`, v.PlatformID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, s.Town("").refused(ctx, v, action, 0, ReasonNotResident)
	}
	if err != nil {
		return nil, err
	}
	return s.Town(id), nil
}

// resident refuses a person who does not live in the town (another
// town's slot or booking), with the audit row.
func (t *Town) resident(ctx context.Context, v tvlogin.Viewer, action string, subject int64) error {
	var n int
	if err := t.s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM town_residents WHERE town = $1 AND platform_id = $2`,
		t.id, v.PlatformID).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return t.refused(ctx, v, action, subject, ReasonNotResident)
	}
	return nil
}

// AuditEntry is one row of a town's audit.
type AuditEntry struct {
	At                   time.Time
	PlatformID, Terminal string
	// Action is what was done (checkups, facilities, book, bookings,
	// cancel, remind); Subject the slot, booking or year it was done to.
	Action  string
	Subject int64
	// Result is "ok" or the refusal's reason.
	Result string
}

// Audit is the town's audit rows of a person, oldest first.
func (t *Town) Audit(ctx context.Context, platformID string) ([]AuditEntry, error) {
	rows, err := t.s.db.QueryContext(ctx, `SELECT at, platform_id, terminal, action, subject, result FROM town_audit
		WHERE town = $1 AND platform_id = $2 ORDER BY at, action`, t.id, platformID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at int64
		if err := rows.Scan(&at, &e.PlatformID, &e.Terminal, &e.Action, &e.Subject, &e.Result); err != nil {
			return nil, err
		}
		e.At = time.UnixMilli(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

const auditInsert = `INSERT INTO town_audit (town, at, platform_id, terminal, action, subject, result) VALUES ($1, $2, $3, $4, $5, $6, $7)`

func (t *Town) audit(ctx context.Context, v tvlogin.Viewer, action string, subject int64, result string) error {
	_, err := t.s.db.Write(ctx, auditInsert, t.id, t.s.now().UnixMilli(), v.PlatformID, v.Terminal, action, subject, result)
	return err
}

// auditTx writes the audit row of a change in the change's transaction.
func (t *Town) auditTx(ctx context.Context, tx *sql.Tx, at int64, v tvlogin.Viewer, action string, subject int64) error {
	_, err := t.s.db.TxExec(ctx, tx, auditInsert, t.id, at, v.PlatformID, v.Terminal, action, subject, "ok")
	return err
}

// refused writes a refusal's audit row and returns the refusal (or the
// failure to write the row).
func (t *Town) refused(ctx context.Context, v tvlogin.Viewer, action string, subject int64, r Reason) error {
	if err := t.audit(ctx, v, action, subject, string(r)); err != nil {
		return fmt.Errorf("town: audit the refusal: %w", err)
	}
	return refuse(r)
}
