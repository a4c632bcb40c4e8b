package evac

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/store"
)

// CheckIn is one stay at a shelter.
type CheckIn struct {
	ID         int64
	Order      int64
	Shelter    string
	PlatformID string
	Name       string
	// ByCard is false for a check-in by name lookup (a person without
	// their card), which the board and report mark.
	ByCard bool
	In     time.Time
	// Out is zero while the person is in.
	Out time.Time
}

// CheckInCard checks in the person of a card login at a shelter's terminal
// (by is the person and the terminal).
func (s *Service) CheckInCard(ctx context.Context, by Actor, shelter string) (CheckIn, error) {
	return s.checkIn(ctx, by, shelter, by.ID, true)
}

// CheckInByName checks in a member found by name lookup (Lookup), for a
// person without their card: by is the staff member at the shelter, and
// the stay is marked as not by card.
func (s *Service) CheckInByName(ctx context.Context, by Actor, shelter, platformID string) (CheckIn, error) {
	return s.checkIn(ctx, by, shelter, platformID, false)
}

func (s *Service) checkIn(ctx context.Context, by Actor, shelter, platformID string, byCard bool) (CheckIn, error) {
	c := CheckIn{Shelter: shelter, PlatformID: platformID, ByCard: byCard}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var open bool
		err := tx.QueryRowContext(ctx, `SELECT open FROM evac_shelters WHERE id = $1`, shelter).Scan(&open)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && !open) {
			return refuse(ReasonShelterClosed)
		}
		if err != nil {
			return err
		}
		var area string
		err = tx.QueryRowContext(ctx, `SELECT m.name, h.area FROM evac_members m JOIN evac_households h ON h.id = m.household
			WHERE m.platform_id = $1`, platformID).Scan(&c.Name, &area)
		if errors.Is(err, sql.ErrNoRows) {
			return refuse(ReasonNotResident)
		}
		if err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM evac_checkins WHERE platform_id = $1 AND out_at IS NULL`, platformID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return refuse(ReasonAlreadyIn)
		}
		if c.Order, err = s.liveOrderFor(ctx, tx, area); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) + 1 FROM evac_checkins`).Scan(&c.ID); err != nil {
			return err
		}
		now := s.now()
		c.In = time.UnixMilli(now.UnixMilli())
		if _, err := tx.ExecContext(ctx, `INSERT INTO evac_checkins (id, order_id, shelter, platform_id, name, by_card, in_at, by_staff)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, c.ID, c.Order, shelter, platformID, c.Name, byCard, now.UnixMilli(), by.ID); err != nil {
			if store.IsUniqueViolation(err) {
				return refuse(ReasonAlreadyIn)
			}
			return err
		}
		if err := s.event(ctx, tx, EventCheckIn, c.Order, area, now); err != nil {
			return err
		}
		return s.auditTx(ctx, tx, by, "checkin", shelter+" "+platformID, "ok")
	})
	if err != nil {
		return CheckIn{}, s.refused(ctx, by, "checkin", shelter+" "+platformID, err)
	}
	return c, nil
}

// CheckOut ends the person's stay at the shelter (by: the person at the
// terminal with their card, or a staff member).
func (s *Service) CheckOut(ctx context.Context, by Actor, shelter, platformID string) (CheckIn, error) {
	c := CheckIn{Shelter: shelter, PlatformID: platformID}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var in int64
		err := tx.QueryRowContext(ctx, `SELECT id, order_id, name, by_card, in_at FROM evac_checkins
			WHERE platform_id = $1 AND shelter = $2 AND out_at IS NULL`, platformID, shelter).Scan(&c.ID, &c.Order, &c.Name, &c.ByCard, &in)
		if errors.Is(err, sql.ErrNoRows) {
			return refuse(ReasonNotIn)
		}
		if err != nil {
			return err
		}
		c.In = time.UnixMilli(in)
		now := s.now()
		c.Out = time.UnixMilli(now.UnixMilli())
		if _, err := tx.ExecContext(ctx, `UPDATE evac_checkins SET out_at = $1 WHERE id = $2`, now.UnixMilli(), c.ID); err != nil {
			return err
		}
		var area string
		if err := tx.QueryRowContext(ctx, `SELECT h.area FROM evac_members m JOIN evac_households h ON h.id = m.household
			WHERE m.platform_id = $1`, platformID).Scan(&area); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if err := s.event(ctx, tx, EventCheckOut, c.Order, area, now); err != nil {
			return err
		}
		return s.auditTx(ctx, tx, by, "checkout", shelter+" "+platformID, "ok")
	})
	if err != nil {
		return CheckIn{}, s.refused(ctx, by, "checkout", shelter+" "+platformID, err)
	}
	return c, nil
}

// Found is a member found by name lookup.
type Found struct {
	PlatformID, Name string
	Household        string
	AreaJA, AreaEN   string
}

// Lookup finds the members whose name contains name (spaces ignored), for
// staff checking in a person without their card; the lookup is audited.
func (s *Service) Lookup(ctx context.Context, by Actor, name string) ([]Found, error) {
	q := strings.Join(strings.Fields(strings.ReplaceAll(name, "　", " ")), "")
	if q == "" {
		return nil, nil
	}
	rows, err := s.db.QueryContext(ctx, `SELECT m.platform_id, m.name, m.household, a.name_ja, a.name_en FROM evac_members m
		JOIN evac_households h ON h.id = m.household JOIN evac_areas a ON a.id = h.area
		WHERE REPLACE(REPLACE(m.name, ' ', ''), '　', '') LIKE $1 ORDER BY m.name, m.platform_id LIMIT 20`, "%"+q+"%")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Found
	for rows.Next() {
		var f Found
		if err := rows.Scan(&f.PlatformID, &f.Name, &f.Household, &f.AreaJA, &f.AreaEN); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, s.audit(ctx, by, "lookup", q, "ok")
}

// SetShelterTerminal places a card terminal at a shelter.
func (s *Service) SetShelterTerminal(ctx context.Context, terminal, shelter string) error {
	if terminal == "" || shelter == "" {
		return errors.New("evac: a shelter terminal needs its ID and its shelter")
	}
	_, err := s.db.Write(ctx, `INSERT INTO evac_shelter_terminals (terminal, shelter) VALUES ($1, $2)
		ON CONFLICT (terminal) DO UPDATE SET shelter = excluded.shelter`, terminal, shelter)
	return err
}

// Touch is a card touched at a shelter's terminal (by: the person of the
// card login and the terminal): it checks the person out when they are
// in at this shelter, else in. A terminal at no shelter is ShelterClosed.
func (s *Service) Touch(ctx context.Context, by Actor) (CheckIn, error) {
	var shelter string
	err := s.db.QueryRowContext(ctx, `SELECT shelter FROM evac_shelter_terminals WHERE terminal = $1`, by.Terminal).Scan(&shelter)
	if errors.Is(err, sql.ErrNoRows) {
		return CheckIn{}, s.refused(ctx, by, "checkin", by.Terminal, refuse(ReasonShelterClosed))
	}
	if err != nil {
		return CheckIn{}, err
	}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM evac_checkins WHERE platform_id = $1 AND shelter = $2 AND out_at IS NULL`,
		by.ID, shelter).Scan(&n); err != nil {
		return CheckIn{}, err
	}
	if n > 0 {
		return s.CheckOut(ctx, by, shelter, by.ID)
	}
	return s.CheckInCard(ctx, by, shelter)
}
