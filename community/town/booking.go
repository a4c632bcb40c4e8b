package town

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/mynaplat/mynaplat/community/tvlogin"
	"github.com/mynaplat/mynaplat/store"
)

// Facility is a town's facility and its open slots.
type Facility struct {
	ID             int64
	NameJA, NameEN string
	Slots          []Slot
}

// Slot is a time of a facility that Capacity people may book.
type Slot struct {
	ID, FacilityID int64
	Start, End     time.Time
	Capacity       int
	// Booked is how many seats are taken; Mine whether the person asking
	// holds one.
	Booked int
	Mine   bool
}

// Left is how many seats are free.
func (s Slot) Left() int { return max(0, s.Capacity-s.Booked) }

// Facilities are a town's facilities with their slots still to come.
type Facilities struct {
	Town           string
	TownJA, TownEN string
	Facilities     []Facility
}

// Booking is a person's booking of a slot.
type Booking struct {
	ID, SlotID     int64
	Town           string
	FacilityJA     string
	FacilityEN     string
	Start, End     time.Time
	Seat           int
	At             time.Time
	Cancelled      bool
	CancelledAt    time.Time `json:",omitzero"`
	RemindedAt     time.Time `json:",omitzero"`
	TownJA, TownEN string
}

// AddFacility adds a facility (setup: the town's data, the demo).
func (t *Town) AddFacility(ctx context.Context, nameJA, nameEN string) (int64, error) {
	return t.nextID(ctx, "town_facilities", func(tx *sql.Tx, id int64) error {
		_, err := t.s.db.TxExec(ctx, tx, `INSERT INTO town_facilities (town, id, name_ja, name_en) VALUES ($1, $2, $3, $4)`, t.id, id, nameJA, nameEN)
		return err
	})
}

// AddSlot opens a slot of a facility.
func (t *Town) AddSlot(ctx context.Context, facility int64, start, end time.Time, capacity int) (int64, error) {
	if !end.After(start) || capacity < 1 {
		return 0, errors.New("town: a slot needs an end after its start and a capacity")
	}
	return t.nextID(ctx, "town_slots", func(tx *sql.Tx, id int64) error {
		_, err := t.s.db.TxExec(ctx, tx, `INSERT INTO town_slots (town, id, facility_id, starts_at, ends_at, capacity) VALUES ($1, $2, $3, $4, $5, $6)`,
			t.id, id, facility, start.UnixMilli(), end.UnixMilli(), capacity)
		return err
	})
}

// nextID inserts a row with the town's next ID of table: two writers at
// once may pick the same one, and the loser takes the next.
func (t *Town) nextID(ctx context.Context, table string, insert func(tx *sql.Tx, id int64) error) (int64, error) {
	for range 20 {
		var id int64
		err := t.s.db.TxLevel(ctx, sql.LevelReadCommitted, func(tx *sql.Tx) error {
			if err := t.s.db.TxQueryRow(ctx, tx, `SELECT COALESCE(MAX(id), 0) + 1 FROM `+table+` WHERE town = $1`, t.id).Scan(&id); err != nil {
				return err
			}
			return insert(tx, id)
		})
		if store.IsUniqueViolation(err) {
			continue
		}
		return id, err
	}
	return 0, fmt.Errorf("town: %s: no free ID after 20 tries", table)
}

// Facilities are the facilities of the town the person lives in, with
// their slots not yet started, and which of them the person holds. It
// writes an audit row.
func (s *Service) Facilities(ctx context.Context, v tvlogin.Viewer) (Facilities, error) {
	t, err := s.townOf(ctx, v, "facilities")
	if err != nil {
		return Facilities{}, err
	}
	p, err := t.Profile(ctx)
	if err != nil {
		return Facilities{}, err
	}
	out := Facilities{Town: t.id, TownJA: p.NameJA, TownEN: p.NameEN}
	rows, err := s.db.QueryContext(ctx, `SELECT f.id, f.name_ja, f.name_en, s.id, s.starts_at, s.ends_at, s.capacity,
		(SELECT COUNT(*) FROM town_bookings b WHERE b.town = s.town AND b.slot_id = s.id AND b.cancelled_at IS NULL),
		(SELECT COUNT(*) FROM town_bookings b WHERE b.town = s.town AND b.slot_id = s.id AND b.cancelled_at IS NULL AND b.platform_id = $2)
		FROM town_facilities f JOIN town_slots s ON s.town = f.town AND s.facility_id = f.id
		WHERE f.town = $1 AND s.starts_at > $3 ORDER BY f.id, s.starts_at, s.id`, t.id, v.PlatformID, s.now().UnixMilli())
	if err != nil {
		return Facilities{}, err
	}
	defer rows.Close()
	for rows.Next() {
		var f Facility
		var sl Slot
		var start, end int64
		var mine int
		if err := rows.Scan(&f.ID, &f.NameJA, &f.NameEN, &sl.ID, &start, &end, &sl.Capacity, &sl.Booked, &mine); err != nil {
			return Facilities{}, err
		}
		sl.FacilityID, sl.Start, sl.End, sl.Mine = f.ID, time.UnixMilli(start), time.UnixMilli(end), mine > 0
		if n := len(out.Facilities); n == 0 || out.Facilities[n-1].ID != f.ID {
			out.Facilities = append(out.Facilities, f)
		}
		fp := &out.Facilities[len(out.Facilities)-1]
		fp.Slots = append(fp.Slots, sl)
	}
	if err := rows.Err(); err != nil {
		return Facilities{}, err
	}
	return out, t.audit(ctx, v, "facilities", 0, "ok")
}

// Book books a seat of slot for the person, who must live in the town. A
// slot whose seats are all taken is the SlotFull refusal, a second
// booking of the same slot AlreadyBooked; each refusal writes only its
// audit row. Under concurrent requests for the last seat one wins: each
// request counts and takes the lowest free seat in a transaction, and
// when two take the same seat the unique index refuses the second's
// commit, which then runs again and finds the slot full.
func (t *Town) Book(ctx context.Context, v tvlogin.Viewer, slot int64) (Booking, error) {
	if err := t.resident(ctx, v, "book", slot); err != nil {
		return Booking{}, err
	}
	var capacity int
	var start int64
	err := t.s.db.QueryRowContext(ctx, `SELECT capacity, starts_at FROM town_slots WHERE town = $1 AND id = $2`, t.id, slot).Scan(&capacity, &start)
	if errors.Is(err, sql.ErrNoRows) {
		return Booking{}, t.refused(ctx, v, "book", slot, ReasonNoSlot)
	}
	if err != nil {
		return Booking{}, err
	}
	if !time.UnixMilli(start).After(t.s.now()) {
		return Booking{}, t.refused(ctx, v, "book", slot, ReasonSlotStarted)
	}
	for range 50 {
		var id int64
		var refusal Reason
		at := t.s.now().UnixMilli()
		err := t.s.db.TxLevel(ctx, sql.LevelReadCommitted, func(tx *sql.Tx) error {
			refusal = ""
			rows, err := tx.QueryContext(ctx, `SELECT seat, platform_id FROM town_bookings WHERE town = $1 AND slot_id = $2 AND cancelled_at IS NULL`, t.id, slot)
			if err != nil {
				return err
			}
			taken := map[int]bool{}
			for rows.Next() {
				var seat int
				var pid string
				if err := rows.Scan(&seat, &pid); err != nil {
					rows.Close()
					return err
				}
				taken[seat] = true
				if pid == v.PlatformID {
					refusal = ReasonAlreadyBooked
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			seat := 1
			for taken[seat] {
				seat++
			}
			switch {
			case refusal != "":
				return nil
			case seat > capacity:
				refusal = ReasonSlotFull
				return nil
			}
			if err := t.s.db.TxQueryRow(ctx, tx, `SELECT COALESCE(MAX(id), 0) + 1 FROM town_bookings WHERE town = $1`, t.id).Scan(&id); err != nil {
				return err
			}
			if _, err := t.s.db.TxExec(ctx, tx, `INSERT INTO town_bookings (town, id, slot_id, platform_id, seat, terminal, created_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`, t.id, id, slot, v.PlatformID, seat, v.Terminal, at); err != nil {
				return err
			}
			return t.auditTx(ctx, tx, at, v, "book", id)
		})
		switch {
		case store.IsUniqueViolation(err):
			// Another request took that seat (or that ID, or this person
			// booked at once elsewhere): look again.
			continue
		case err != nil:
			return Booking{}, err
		case refusal != "":
			return Booking{}, t.refused(ctx, v, "book", slot, refusal)
		}
		return t.booking(ctx, id)
	}
	return Booking{}, fmt.Errorf("town: book slot %d: still contended after 50 tries", slot)
}

const bookingSelect = `SELECT b.id, b.slot_id, b.seat, b.created_at, b.cancelled_at, b.reminded_at, s.starts_at, s.ends_at,
	f.name_ja, f.name_en, t.name_ja, t.name_en
	FROM town_bookings b JOIN town_slots s ON s.town = b.town AND s.id = b.slot_id
	JOIN town_facilities f ON f.town = s.town AND f.id = s.facility_id
	JOIN town_towns t ON t.town = b.town `

type scanner interface{ Scan(dest ...any) error }

func (t *Town) scanBooking(sc scanner) (Booking, error) {
	b := Booking{Town: t.id}
	var at, start, end int64
	var cancelled, reminded sql.NullInt64
	if err := sc.Scan(&b.ID, &b.SlotID, &b.Seat, &at, &cancelled, &reminded, &start, &end, &b.FacilityJA, &b.FacilityEN,
		&b.TownJA, &b.TownEN); err != nil {
		return Booking{}, err
	}
	b.At, b.Start, b.End = time.UnixMilli(at), time.UnixMilli(start), time.UnixMilli(end)
	if cancelled.Valid {
		b.Cancelled, b.CancelledAt = true, time.UnixMilli(cancelled.Int64)
	}
	if reminded.Valid {
		b.RemindedAt = time.UnixMilli(reminded.Int64)
	}
	return b, nil
}

func (t *Town) booking(ctx context.Context, id int64) (Booking, error) {
	return t.scanBooking(t.s.db.QueryRowContext(ctx, bookingSelect+`WHERE b.town = $1 AND b.id = $2`, t.id, id))
}

// Bookings are the person's live bookings in the town they live in, the
// soonest first. It writes an audit row.
func (s *Service) Bookings(ctx context.Context, v tvlogin.Viewer) ([]Booking, error) {
	t, err := s.townOf(ctx, v, "bookings")
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, bookingSelect+`WHERE b.town = $1 AND b.platform_id = $2 AND b.cancelled_at IS NULL
		ORDER BY s.starts_at, b.id`, t.id, v.PlatformID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Booking
	for rows.Next() {
		b, err := t.scanBooking(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, t.audit(ctx, v, "bookings", 0, "ok")
}

// Cancel cancels the person's booking id: its seat is free again. Another
// person's booking is as absent as one that never was (NoBooking); a
// booking cancelled before answers as it is. The cancel and its audit row
// are one transaction.
func (t *Town) Cancel(ctx context.Context, v tvlogin.Viewer, id int64) (Booking, error) {
	if err := t.resident(ctx, v, "cancel", id); err != nil {
		return Booking{}, err
	}
	var owner string
	var cancelled sql.NullInt64
	err := t.s.db.QueryRowContext(ctx, `SELECT platform_id, cancelled_at FROM town_bookings WHERE town = $1 AND id = $2`, t.id, id).Scan(&owner, &cancelled)
	if errors.Is(err, sql.ErrNoRows) || err == nil && owner != v.PlatformID {
		return Booking{}, t.refused(ctx, v, "cancel", id, ReasonNoBooking)
	}
	if err != nil {
		return Booking{}, err
	}
	if !cancelled.Valid {
		at := t.s.now().UnixMilli()
		err = t.s.db.TxLevel(ctx, sql.LevelReadCommitted, func(tx *sql.Tx) error {
			res, err := t.s.db.TxExec(ctx, tx, `UPDATE town_bookings SET cancelled_at = $1 WHERE town = $2 AND id = $3 AND cancelled_at IS NULL`, at, t.id, id)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n == 0 {
				// Cancelled at once elsewhere: that cancel was audited.
				return err
			}
			return t.auditTx(ctx, tx, at, v, "cancel", id)
		})
		if err != nil {
			return Booking{}, err
		}
	}
	return t.booking(ctx, id)
}
