package evac

import (
	"context"
	"database/sql"
	"time"
)

// Status is where a member stands for an order on the board.
type Status string

// The statuses, from best known to unknown.
const (
	// StatusIn: checked in at a shelter now.
	StatusIn Status = "in"
	// StatusLeft: checked in since the order, and out again.
	StatusLeft Status = "left"
	// StatusAcknowledged: the household acknowledged the order on its TV,
	// the member is not checked in.
	StatusAcknowledged Status = "acknowledged"
	// StatusUnaccounted: nothing known since the order.
	StatusUnaccounted Status = "unaccounted"
)

// Board is an order's board: per area and household, who is checked in,
// who acknowledged, who is unaccounted.
type Board struct {
	Order Order
	Areas []AreaBoard
	// Totals are the counts over all areas.
	Totals Counts
}

// Counts are members by status, and households.
type Counts struct {
	Households, Members                 int
	In, Left, Acknowledged, Unaccounted int
}

func (c *Counts) add(st Status) {
	c.Members++
	switch st {
	case StatusIn:
		c.In++
	case StatusLeft:
		c.Left++
	case StatusAcknowledged:
		c.Acknowledged++
	default:
		c.Unaccounted++
	}
}

// AreaBoard is one area's households.
type AreaBoard struct {
	Area       Area
	Counts     Counts
	Households []HouseholdBoard
}

// HouseholdBoard is one household's members and whether it acknowledged.
type HouseholdBoard struct {
	ID           string
	Acknowledged bool
	Members      []MemberBoard
}

// MemberBoard is one member's status, and the shelter they are (or were)
// in; ByCard is false for a check-in by name lookup.
type MemberBoard struct {
	Name   string
	Status Status
	// Shelter is the shelter's ID, ShelterJA and ShelterEN its names.
	Shelter              string
	ShelterJA, ShelterEN string
	ByCard               bool
}

// Board is the order's board, audited as viewed by staff.
func (s *Service) Board(ctx context.Context, by Actor, id int64) (Board, error) {
	b, err := s.board(ctx, id)
	if err != nil {
		return b, s.refused(ctx, by, "board", orderSubject(id), err)
	}
	return b, s.audit(ctx, by, "board", orderSubject(id), "ok")
}

type memberRow struct {
	household, platformID, name, area string
}

// members are the members of the households in the order's areas, by
// area, household and name.
func (s *Service) members(ctx context.Context, id int64) ([]memberRow, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT h.area, h.id, m.platform_id, m.name FROM evac_order_areas oa
		JOIN evac_households h ON h.area = oa.area JOIN evac_members m ON m.household = h.id
		WHERE oa.order_id = $1 ORDER BY h.area, h.id, m.name, m.platform_id`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []memberRow
	for rows.Next() {
		var m memberRow
		if err := rows.Scan(&m.area, &m.household, &m.platformID, &m.name); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

type stay struct {
	shelter string
	byCard  bool
	in      int64
	open    bool
}

// stays are each person's latest check-in since the order was issued,
// and their first check-in time since then.
func (s *Service) stays(ctx context.Context, o Order) (latest map[string]stay, first map[string]int64, err error) {
	rows, err := s.db.QueryContext(ctx, `SELECT platform_id, shelter, by_card, in_at, out_at FROM evac_checkins
		WHERE in_at >= $1 ORDER BY in_at, id`, o.IssuedAt.UnixMilli())
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	latest, first = map[string]stay{}, map[string]int64{}
	for rows.Next() {
		var pid string
		var st stay
		var out sql.NullInt64
		if err := rows.Scan(&pid, &st.shelter, &st.byCard, &st.in, &out); err != nil {
			return nil, nil, err
		}
		st.open = !out.Valid
		latest[pid] = st
		if _, ok := first[pid]; !ok {
			first[pid] = st.in
		}
	}
	return latest, first, rows.Err()
}

func (s *Service) board(ctx context.Context, id int64) (Board, error) {
	var b Board
	var err error
	if b.Order, err = s.Order(ctx, id); err != nil {
		return b, err
	}
	areas, err := s.Areas(ctx)
	if err != nil {
		return b, err
	}
	names := map[string]Area{}
	for _, a := range areas {
		names[a.ID] = a
	}
	shelters, err := s.Shelters(ctx)
	if err != nil {
		return b, err
	}
	shelterNames := map[string]Shelter{}
	for _, sh := range shelters {
		shelterNames[sh.ID] = sh
	}
	acked := map[string]bool{}
	rows, err := s.db.QueryContext(ctx, `SELECT household FROM evac_acks WHERE order_id = $1`, id)
	if err != nil {
		return b, err
	}
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			rows.Close()
			return b, err
		}
		acked[h] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return b, err
	}
	latest, _, err := s.stays(ctx, b.Order)
	if err != nil {
		return b, err
	}
	ms, err := s.members(ctx, id)
	if err != nil {
		return b, err
	}
	for _, a := range b.Order.Areas {
		b.Areas = append(b.Areas, AreaBoard{Area: names[a]})
	}
	ai := map[string]int{}
	for i, a := range b.Order.Areas {
		ai[a] = i
	}
	for _, m := range ms {
		ab := &b.Areas[ai[m.area]]
		if n := len(ab.Households); n == 0 || ab.Households[n-1].ID != m.household {
			ab.Households = append(ab.Households, HouseholdBoard{ID: m.household, Acknowledged: acked[m.household]})
			ab.Counts.Households++
			b.Totals.Households++
		}
		hb := &ab.Households[len(ab.Households)-1]
		mb := MemberBoard{Name: m.name, Status: StatusUnaccounted}
		if st, ok := latest[m.platformID]; ok {
			mb.Shelter, mb.ByCard, mb.Status = st.shelter, st.byCard, StatusLeft
			mb.ShelterJA, mb.ShelterEN = shelterNames[st.shelter].NameJA, shelterNames[st.shelter].NameEN
			if st.open {
				mb.Status = StatusIn
			}
		} else if hb.Acknowledged {
			mb.Status = StatusAcknowledged
		}
		hb.Members = append(hb.Members, mb)
		ab.Counts.add(mb.Status)
		b.Totals.add(mb.Status)
	}
	return b, nil
}

// Report is an order's (a drill's) evacuation times, as the pilot
// measured them: per household, the time from the order to the first
// check-in of one of its members at a shelter; the average over the
// households that evacuated.
type Report struct {
	Order      Order
	Households []HouseholdTime
	// Evacuated is the number of households with a check-in, Average
	// their mean time (zero when none).
	Evacuated int
	Average   time.Duration
}

// HouseholdTime is one household's time; Evacuated is false (and Time
// zero) for a household none of whose members checked in.
type HouseholdTime struct {
	ID, Area  string
	Evacuated bool
	Time      time.Duration
}

// Report is the order's report, audited as viewed by staff.
func (s *Service) Report(ctx context.Context, by Actor, id int64) (Report, error) {
	r, err := s.report(ctx, id)
	if err != nil {
		return r, s.refused(ctx, by, "report", orderSubject(id), err)
	}
	return r, s.audit(ctx, by, "report", orderSubject(id), "ok")
}

func (s *Service) report(ctx context.Context, id int64) (Report, error) {
	var r Report
	var err error
	if r.Order, err = s.Order(ctx, id); err != nil {
		return r, err
	}
	_, first, err := s.stays(ctx, r.Order)
	if err != nil {
		return r, err
	}
	ms, err := s.members(ctx, id)
	if err != nil {
		return r, err
	}
	issued := r.Order.IssuedAt.UnixMilli()
	var sum time.Duration
	for _, m := range ms {
		if n := len(r.Households); n == 0 || r.Households[n-1].ID != m.household {
			r.Households = append(r.Households, HouseholdTime{ID: m.household, Area: m.area})
		}
		h := &r.Households[len(r.Households)-1]
		in, ok := first[m.platformID]
		if !ok {
			continue
		}
		t := time.Duration(in-issued) * time.Millisecond
		if !h.Evacuated || t < h.Time {
			h.Evacuated, h.Time = true, t
		}
	}
	for _, h := range r.Households {
		if h.Evacuated {
			r.Evacuated++
			sum += h.Time
		}
	}
	if r.Evacuated > 0 {
		r.Average = sum / time.Duration(r.Evacuated)
	}
	return r, nil
}
