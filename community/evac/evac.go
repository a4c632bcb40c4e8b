package evac

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

	"github.com/mynaplat/mynaplat/store"
)

//go:embed migrations
var migrations embed.FS

// Service is the disaster office's data, over one database.
type Service struct {
	db     *store.DB
	now    func() time.Time
	logger *slog.Logger
}

// NewService migrates the tables and returns the service.
func NewService(ctx context.Context, db *store.DB, now func() time.Time, logger *slog.Logger) (*Service, error) {
	if db == nil {
		return nil, errors.New("evac: no database")
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
	if err := db.Migrate(ctx, "community_evac", mfs); err != nil {
		return nil, err
	}
	return &Service{db: db, now: now, logger: logger}, nil
}

// Actor is who acts and where: a person (platform ID) at their TV or a
// shelter terminal, or a staff member (staff number) at theirs.
type Actor struct{ ID, Terminal string }

// Area is one of the town's areas.
type Area struct {
	ID             string
	NameJA, NameEN string
}

// AddArea records an area (again: its names are updated).
func (s *Service) AddArea(ctx context.Context, a Area) error {
	if a.ID == "" || strings.TrimSpace(a.NameJA) == "" || strings.TrimSpace(a.NameEN) == "" {
		return errors.New("evac: an area needs an ID and its name in Japanese and English")
	}
	_, err := s.db.Write(ctx, `INSERT INTO evac_areas (id, name_ja, name_en) VALUES ($1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET name_ja = excluded.name_ja, name_en = excluded.name_en`, a.ID, a.NameJA, a.NameEN)
	return err
}

// Areas are the town's areas, by ID.
func (s *Service) Areas(ctx context.Context) ([]Area, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, name_ja, name_en FROM evac_areas ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Area
	for rows.Next() {
		var a Area
		if err := rows.Scan(&a.ID, &a.NameJA, &a.NameEN); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Household is a household, where it lives, and its members.
type Household struct {
	ID, Area string
	Lat, Lon float64
	Members  []Member
}

// Member is a member of a household.
type Member struct{ PlatformID, Name string }

// AddHousehold records a household and its members (a member of another
// household moves to this one).
func (s *Service) AddHousehold(ctx context.Context, h Household) error {
	if h.ID == "" || h.Area == "" || len(h.Members) == 0 {
		return errors.New("evac: a household needs an ID, an area and members")
	}
	for _, m := range h.Members {
		if m.PlatformID == "" || strings.TrimSpace(m.Name) == "" {
			return errors.New("evac: a member needs a platform ID and a name")
		}
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO evac_households (id, area, lat, lon) VALUES ($1, $2, $3, $4)
			ON CONFLICT (id) DO UPDATE SET area = excluded.area, lat = excluded.lat, lon = excluded.lon`, h.ID, h.Area, h.Lat, h.Lon); err != nil {
			return fmt.Errorf("evac: household %s: %w", h.ID, err)
		}
		for _, m := range h.Members {
			if _, err := tx.ExecContext(ctx, `INSERT INTO evac_members (platform_id, household, name) VALUES ($1, $2, $3)
				ON CONFLICT (platform_id) DO UPDATE SET household = excluded.household, name = excluded.name`, m.PlatformID, h.ID, m.Name); err != nil {
				return fmt.Errorf("evac: member of %s: %w", h.ID, err)
			}
		}
		return nil
	})
}

// HasHouseholds reports whether the town has any household (the demo
// seeds once).
func (s *Service) HasHouseholds(ctx context.Context) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM evac_households`).Scan(&n)
	return n > 0, err
}

// Shelter is a shelter and whether it is open.
type Shelter struct {
	ID             string
	NameJA, NameEN string
	Area           string
	Open           bool
	Lat, Lon       float64
}

// AddShelter records a shelter (again: updated).
func (s *Service) AddShelter(ctx context.Context, sh Shelter) error {
	if sh.ID == "" || sh.Area == "" || strings.TrimSpace(sh.NameJA) == "" || strings.TrimSpace(sh.NameEN) == "" {
		return errors.New("evac: a shelter needs an ID, an area and its name in Japanese and English")
	}
	_, err := s.db.Write(ctx, `INSERT INTO evac_shelters (id, name_ja, name_en, area, open, lat, lon) VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (id) DO UPDATE SET name_ja = excluded.name_ja, name_en = excluded.name_en, area = excluded.area,
		open = excluded.open, lat = excluded.lat, lon = excluded.lon`, sh.ID, sh.NameJA, sh.NameEN, sh.Area, sh.Open, sh.Lat, sh.Lon)
	return err
}

// SetShelterOpen opens or closes a shelter, audited as by.
func (s *Service) SetShelterOpen(ctx context.Context, by Actor, id string, open bool) error {
	action := "shelter_close"
	if open {
		action = "shelter_open"
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE evac_shelters SET open = $1 WHERE id = $2`, open, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("evac: no shelter %q", id)
		}
		return s.auditTx(ctx, tx, by, action, id, "ok")
	})
}

// Shelters are the town's shelters, by ID.
func (s *Service) Shelters(ctx context.Context) ([]Shelter, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, name_ja, name_en, area, open, lat, lon FROM evac_shelters ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Shelter
	for rows.Next() {
		var sh Shelter
		if err := rows.Scan(&sh.ID, &sh.NameJA, &sh.NameEN, &sh.Area, &sh.Open, &sh.Lat, &sh.Lon); err != nil {
			return nil, err
		}
		out = append(out, sh)
	}
	return out, rows.Err()
}

// householdOf is the person's household (members by name), or the
// NotResident refusal.
func (s *Service) householdOf(ctx context.Context, platformID string) (Household, error) {
	var h Household
	err := s.db.QueryRowContext(ctx, `SELECT h.id, h.area, h.lat, h.lon FROM evac_members m JOIN evac_households h ON h.id = m.household
		WHERE m.platform_id = $1`, platformID).Scan(&h.ID, &h.Area, &h.Lat, &h.Lon)
	if errors.Is(err, sql.ErrNoRows) {
		return h, refuse(ReasonNotResident)
	}
	if err != nil {
		return h, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT platform_id, name FROM evac_members WHERE household = $1 ORDER BY name, platform_id`, h.ID)
	if err != nil {
		return h, err
	}
	defer rows.Close()
	for rows.Next() {
		var m Member
		if err := rows.Scan(&m.PlatformID, &m.Name); err != nil {
			return h, err
		}
		h.Members = append(h.Members, m)
	}
	return h, rows.Err()
}

// AuditEntry is one row of the audit.
type AuditEntry struct {
	At              time.Time
	Actor, Terminal string
	// Action is what was done (order, ack, issue, lift, checkin,
	// checkout, board, report, lookup, shelter_open, shelter_close);
	// Subject the order, shelter or person it was done to.
	Action, Subject string
	// Result is "ok" or the refusal's reason.
	Result string
}

// Audit is the audit rows of an actor (a person or a staff member),
// oldest first.
func (s *Service) Audit(ctx context.Context, actor string) ([]AuditEntry, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT at, actor, terminal, action, subject, result FROM evac_audit
		WHERE actor = $1 ORDER BY at, action`, actor)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at int64
		if err := rows.Scan(&at, &e.Actor, &e.Terminal, &e.Action, &e.Subject, &e.Result); err != nil {
			return nil, err
		}
		e.At = time.UnixMilli(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

const auditInsert = `INSERT INTO evac_audit (at, actor, terminal, action, subject, result) VALUES ($1, $2, $3, $4, $5, $6)`

func (s *Service) audit(ctx context.Context, by Actor, action, subject, result string) error {
	_, err := s.db.Write(ctx, auditInsert, s.now().UnixMilli(), by.ID, by.Terminal, action, subject, result)
	return err
}

func (s *Service) auditTx(ctx context.Context, tx *sql.Tx, by Actor, action, subject, result string) error {
	_, err := s.db.TxExec(ctx, tx, auditInsert, s.now().UnixMilli(), by.ID, by.Terminal, action, subject, result)
	return err
}

// refused writes a refusal's audit row and returns the refusal (or the
// failure to write the row).
func (s *Service) refused(ctx context.Context, by Actor, action, subject string, err error) error {
	r := ReasonOf(err)
	if r == "" {
		return err
	}
	if err := s.audit(ctx, by, action, subject, string(r)); err != nil {
		return fmt.Errorf("evac: audit the refusal: %w", err)
	}
	return err
}
