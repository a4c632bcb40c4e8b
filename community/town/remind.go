package town

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/mynaplat/mynaplat/community/catv"
	"github.com/mynaplat/mynaplat/community/tvlogin"
)

// Sender delivers a town's message to one person's TV: the CATV
// operators' machine API (catv.TownClient).
type Sender interface {
	Send(ctx context.Context, m catv.TownMessage) ([]catv.TownSent, error)
}

// JST is Japan's time: "the day before" is a day in Japan.
var JST = time.FixedZone("JST", 9*60*60)

// due reports whether a booking of a slot starting at start is reminded
// at now: on the day before the slot's day, in Japan.
func due(start, now time.Time) bool {
	s := start.In(JST)
	day := time.Date(s.Year(), s.Month(), s.Day(), 0, 0, 0, 0, JST)
	return !now.Before(day.AddDate(0, 0, -1)) && now.Before(day)
}

// Remind sends the reminders due now of every town's live bookings, the
// day before their slot, and answers how many it sent. Each reminder goes
// once: the message carries the booking's reference, which the operator
// keeps one message for (a sweep that lost the answer, or ran at once in
// another process, sends the same message again), and the booking's
// reminded_at is the mark that ends it. A person the operators do not
// know is marked with the refusal and not tried again; an operator that
// does not answer is tried at the next sweep.
func (s *Service) Remind(ctx context.Context, sender Sender) (int, error) {
	now := s.now()
	rows, err := s.db.QueryContext(ctx, `SELECT b.town, b.id, b.platform_id, b.terminal, s.starts_at, s.ends_at, f.name_ja, f.name_en, t.name_ja
		FROM town_bookings b JOIN town_slots s ON s.town = b.town AND s.id = b.slot_id
		JOIN town_facilities f ON f.town = s.town AND f.id = s.facility_id
		JOIN town_towns t ON t.town = b.town
		WHERE b.cancelled_at IS NULL AND b.reminded_at IS NULL AND s.starts_at > $1 AND s.starts_at <= $2
		ORDER BY s.starts_at, b.town, b.id`, now.UnixMilli(), now.Add(48*time.Hour).UnixMilli())
	if err != nil {
		return 0, err
	}
	type pending struct {
		town               string
		id                 int64
		v                  tvlogin.Viewer
		start, end         time.Time
		facJA, facEN, name string
	}
	var ps []pending
	for rows.Next() {
		var p pending
		var start, end int64
		if err := rows.Scan(&p.town, &p.id, &p.v.PlatformID, &p.v.Terminal, &start, &end, &p.facJA, &p.facEN, &p.name); err != nil {
			rows.Close()
			return 0, err
		}
		p.start, p.end = time.UnixMilli(start), time.UnixMilli(end)
		if due(p.start, now) {
			ps = append(ps, p)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	sent := 0
	var errs []error
	for _, p := range ps {
		st, en := p.start.In(JST), p.end.In(JST)
		_, err := sender.Send(ctx, catv.TownMessage{Town: p.name, PlatformID: p.v.PlatformID,
			TitleJA: "明日のご予約：" + p.facJA, TitleEN: "Your booking tomorrow: " + p.facEN,
			BodyJA: fmt.Sprintf("%s %s〜%s に %s を予約されています。取り消しはテレビの「施設予約」からできます。",
				st.Format("1月2日"), st.Format("15:04"), en.Format("15:04"), p.facJA),
			BodyEN: fmt.Sprintf("You have booked %s on %s from %s to %s. You can cancel it under \"Facility booking\" on the TV.",
				p.facEN, st.Format("2 January"), st.Format("15:04"), en.Format("15:04")),
			Ref: fmt.Sprintf("town:%s:booking:%d:reminder", p.town, p.id)})
		result := "ok"
		if r := catv.ReasonOf(err); r != "" {
			result = string(r)
		} else if err != nil {
			errs = append(errs, fmt.Errorf("town: remind booking %s/%d: %w", p.town, p.id, err))
			continue
		}
		marked, err := s.Town(p.town).markReminded(ctx, p.id, p.v, result)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if marked && result == "ok" {
			sent++
		}
	}
	return sent, errors.Join(errs...)
}

// markReminded sets the booking's mark and writes the reminder's audit
// row, in one transaction; false when another sweep marked it first.
func (t *Town) markReminded(ctx context.Context, id int64, v tvlogin.Viewer, result string) (bool, error) {
	at := t.s.now().UnixMilli()
	marked := false
	err := t.s.db.TxLevel(ctx, sql.LevelReadCommitted, func(tx *sql.Tx) error {
		marked = false
		res, err := t.s.db.TxExec(ctx, tx, `UPDATE town_bookings SET reminded_at = $1 WHERE town = $2 AND id = $3 AND reminded_at IS NULL`, at, t.id, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		marked = true
		_, err = t.s.db.TxExec(ctx, tx, auditInsert, t.id, at, v.PlatformID, v.Terminal, "remind", id, result)
		return err
	})
	return marked, err
}
