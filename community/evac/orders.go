package evac

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"slices"
	"strconv"
	"time"
)

// OrderInput is what staff give to issue an order.
type OrderInput struct {
	Areas []string
	// Level is the alert level (警戒レベル) 1–5; an evacuation order
	// (避難指示) is level 4.
	Level int
	// Drill marks an exercise (訓練): the TVs say so.
	Drill bool
}

// Order is an order as issued.
type Order struct {
	ID       int64
	Areas    []string
	Level    int
	Drill    bool
	IssuedAt time.Time
	IssuedBy string
	// LiftedAt is zero while the order is in force.
	LiftedAt time.Time
}

// Live reports whether the order is in force.
func (o Order) Live() bool { return o.LiftedAt.IsZero() }

func orderSubject(id int64) string { return strconv.FormatInt(id, 10) }

// Issue issues an order for areas: one event per area for the push, and
// the audit row naming the staff member, in one transaction.
func (s *Service) Issue(ctx context.Context, by Actor, in OrderInput) (Order, error) {
	areas := slices.Clone(in.Areas)
	slices.Sort(areas)
	areas = slices.Compact(areas)
	if len(areas) == 0 || in.Level < 1 || in.Level > 5 {
		return Order{}, s.refused(ctx, by, "issue", "", refuse(ReasonInvalidOrder))
	}
	o := Order{Areas: areas, Level: in.Level, Drill: in.Drill, IssuedBy: by.ID}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		for _, a := range areas {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM evac_areas WHERE id = $1`, a).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return refuse(ReasonInvalidOrder)
			}
		}
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) + 1 FROM evac_orders`).Scan(&o.ID); err != nil {
			return err
		}
		now := s.now()
		o.IssuedAt = time.UnixMilli(now.UnixMilli())
		if _, err := tx.ExecContext(ctx, `INSERT INTO evac_orders (id, level, drill, issued_at, issued_by) VALUES ($1, $2, $3, $4, $5)`,
			o.ID, o.Level, o.Drill, now.UnixMilli(), by.ID); err != nil {
			return err
		}
		for _, a := range areas {
			if _, err := tx.ExecContext(ctx, `INSERT INTO evac_order_areas (order_id, area) VALUES ($1, $2)`, o.ID, a); err != nil {
				return err
			}
			if err := s.event(ctx, tx, EventOrder, o.ID, a, now); err != nil {
				return err
			}
		}
		return s.auditTx(ctx, tx, by, "issue", orderSubject(o.ID), "ok")
	})
	if err != nil {
		return Order{}, s.refused(ctx, by, "issue", "", err)
	}
	return o, nil
}

// Lift lifts an order (lifting a lifted order answers it as it is).
func (s *Service) Lift(ctx context.Context, by Actor, id int64) (Order, error) {
	var o Order
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if o, err = s.order(ctx, tx, id); err != nil {
			return err
		}
		if !o.Live() {
			return nil
		}
		now := s.now()
		o.LiftedAt = time.UnixMilli(now.UnixMilli())
		if _, err := tx.ExecContext(ctx, `UPDATE evac_orders SET lifted_at = $1, lifted_by = $2 WHERE id = $3`, now.UnixMilli(), by.ID, id); err != nil {
			return err
		}
		for _, a := range o.Areas {
			if err := s.event(ctx, tx, EventLift, id, a, now); err != nil {
				return err
			}
		}
		return s.auditTx(ctx, tx, by, "lift", orderSubject(id), "ok")
	})
	if err != nil {
		return Order{}, s.refused(ctx, by, "lift", orderSubject(id), err)
	}
	return o, nil
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// order reads one order, or the NoOrder refusal.
func (s *Service) order(ctx context.Context, q querier, id int64) (Order, error) {
	o := Order{ID: id}
	var issued int64
	var lifted sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT level, drill, issued_at, issued_by, lifted_at FROM evac_orders WHERE id = $1`, id).
		Scan(&o.Level, &o.Drill, &issued, &o.IssuedBy, &lifted)
	if errors.Is(err, sql.ErrNoRows) {
		return o, refuse(ReasonNoOrder)
	}
	if err != nil {
		return o, err
	}
	o.IssuedAt = time.UnixMilli(issued)
	if lifted.Valid {
		o.LiftedAt = time.UnixMilli(lifted.Int64)
	}
	rows, err := q.QueryContext(ctx, `SELECT area FROM evac_order_areas WHERE order_id = $1 ORDER BY area`, id)
	if err != nil {
		return o, err
	}
	defer rows.Close()
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return o, err
		}
		o.Areas = append(o.Areas, a)
	}
	return o, rows.Err()
}

// Order is one order (staff's view).
func (s *Service) Order(ctx context.Context, id int64) (Order, error) {
	return s.order(ctx, s.db, id)
}

// Orders are the orders, the newest first.
func (s *Service) Orders(ctx context.Context) ([]Order, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM evac_orders ORDER BY id DESC`)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]Order, 0, len(ids))
	for _, id := range ids {
		o, err := s.Order(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// liveOrderFor is the newest order in force for area (0 for none).
func (s *Service) liveOrderFor(ctx context.Context, q querier, area string) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(o.id), 0) FROM evac_orders o JOIN evac_order_areas a ON a.order_id = o.id
		WHERE a.area = $1 AND o.lifted_at IS NULL`, area).Scan(&id)
	return id, err
}

// Notice is what the person's TV shows: the order in force for their
// household's area, the household's members, the nearest open shelter and
// whether the household acknowledged it.
type Notice struct {
	Order     Order
	AreaJA    string
	AreaEN    string
	Household string
	Members   []string
	// Shelter is the nearest open shelter (ID "" when none is open), and
	// Distance its distance in metres.
	Shelter      Shelter
	Distance     float64
	Acknowledged bool
}

// Notice is the notice of the order in force for the person's area, or
// NoOrder; the view is audited.
func (s *Service) Notice(ctx context.Context, v Actor) (Notice, error) {
	n, err := s.notice(ctx, v)
	if err != nil {
		return n, s.refused(ctx, v, "order", "", err)
	}
	return n, s.audit(ctx, v, "order", orderSubject(n.Order.ID), "ok")
}

func (s *Service) notice(ctx context.Context, v Actor) (Notice, error) {
	var n Notice
	h, err := s.householdOf(ctx, v.ID)
	if err != nil {
		return n, err
	}
	id, err := s.liveOrderFor(ctx, s.db, h.Area)
	if err != nil {
		return n, err
	}
	if id == 0 {
		return n, refuse(ReasonNoOrder)
	}
	if n.Order, err = s.Order(ctx, id); err != nil {
		return n, err
	}
	n.Household = h.ID
	for _, m := range h.Members {
		n.Members = append(n.Members, m.Name)
	}
	if err := s.db.QueryRowContext(ctx, `SELECT name_ja, name_en FROM evac_areas WHERE id = $1`, h.Area).Scan(&n.AreaJA, &n.AreaEN); err != nil {
		return n, err
	}
	var acks int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM evac_acks WHERE order_id = $1 AND household = $2`, id, h.ID).Scan(&acks); err != nil {
		return n, err
	}
	n.Acknowledged = acks > 0
	shelters, err := s.Shelters(ctx)
	if err != nil {
		return n, err
	}
	n.Distance = math.Inf(1)
	for _, sh := range shelters {
		if d := distance(h.Lat, h.Lon, sh.Lat, sh.Lon); sh.Open && d < n.Distance {
			n.Shelter, n.Distance = sh, d
		}
	}
	if n.Shelter.ID == "" {
		n.Distance = 0
	}
	return n, nil
}

// distance is the great-circle distance in metres (haversine; the town
// is small enough for any formula, this one is exact enough anywhere).
func distance(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371000
	rad := math.Pi / 180
	dlat, dlon := (lat2-lat1)*rad, (lon2-lon1)*rad
	a := math.Sin(dlat/2)*math.Sin(dlat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dlon/2)*math.Sin(dlon/2)
	return 2 * r * math.Asin(math.Sqrt(a))
}

// Ack records the household's acknowledgement of an order from the
// person's TV (the first one counts; again answers as it is). An order
// lifted is OrderClosed; another area's order or none is NoOrder.
func (s *Service) Ack(ctx context.Context, v Actor, id int64) error {
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var h Household
		err := tx.QueryRowContext(ctx, `SELECT h.id, h.area FROM evac_members m JOIN evac_households h ON h.id = m.household
			WHERE m.platform_id = $1`, v.ID).Scan(&h.ID, &h.Area)
		if errors.Is(err, sql.ErrNoRows) {
			return refuse(ReasonNotResident)
		}
		if err != nil {
			return err
		}
		o, err := s.order(ctx, tx, id)
		if err != nil {
			return err
		}
		if !slices.Contains(o.Areas, h.Area) {
			return refuse(ReasonNoOrder)
		}
		if !o.Live() {
			return refuse(ReasonOrderClosed)
		}
		now := s.now()
		res, err := tx.ExecContext(ctx, `INSERT INTO evac_acks (order_id, household, platform_id, terminal, at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (order_id, household) DO NOTHING`, id, h.ID, v.ID, v.Terminal, now.UnixMilli())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			if err := s.event(ctx, tx, EventAck, id, h.Area, now); err != nil {
				return err
			}
		}
		return s.auditTx(ctx, tx, v, "ack", orderSubject(id), "ok")
	})
	if err != nil {
		return s.refused(ctx, v, "ack", orderSubject(id), err)
	}
	return nil
}
