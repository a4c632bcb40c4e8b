package town

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/mynaplat/mynaplat/community/tvlogin"
)

// Item is a checkup item (特定健診's basic items), by its code.
type Item struct {
	Code           string
	NameJA, NameEN string
}

// Items are the items a checkup record may hold, in the order a result
// sheet lists them.
var Items = []Item{
	{"height", "身長", "Height"},
	{"weight", "体重", "Weight"},
	{"bmi", "BMI", "BMI"},
	{"waist", "腹囲", "Waist"},
	{"sbp", "血圧（上）", "Blood pressure (systolic)"},
	{"dbp", "血圧（下）", "Blood pressure (diastolic)"},
	{"hba1c", "HbA1c", "HbA1c"},
	{"glucose", "空腹時血糖", "Fasting glucose"},
	{"ldl", "LDLコレステロール", "LDL cholesterol"},
	{"hdl", "HDLコレステロール", "HDL cholesterol"},
	{"tg", "中性脂肪", "Triglycerides"},
	{"alt", "ALT（GPT）", "ALT (GPT)"},
}

// ItemOf is the item of code (its code as its name when unknown).
func ItemOf(code string) Item {
	for _, it := range Items {
		if it.Code == code {
			return it
		}
	}
	return Item{Code: code, NameJA: code, NameEN: code}
}

func itemRank(code string) int {
	for i, it := range Items {
		if it.Code == code {
			return i
		}
	}
	return len(Items)
}

// Result is one item's value in one year, with its unit and the reference
// range (Low ≤ value ≤ High) the laboratory used; an item without a
// range (height, weight) has Low = High = 0.
type Result struct {
	Item      string
	Value     float64
	Unit      string
	Low, High float64
}

// Flag says where the value is against the range: "high", "low" or "" (in
// range).
func (r Result) Flag() string {
	switch {
	case !r.HasRange():
		return ""
	case r.Value > r.High:
		return "high"
	case r.Value < r.Low:
		return "low"
	}
	return ""
}

// HasRange reports whether the item has a reference range.
func (r Result) HasRange() bool { return r.Low != 0 || r.High != 0 }

// Year is one year's checkup.
type Year struct {
	Year    int
	TakenAt time.Time
	Results []Result
}

// Checkups are a person's checkups held by their town, the newest year
// first.
type Checkups struct {
	Town           string
	TownJA, TownEN string
	Years          []Year
}

// Record stores one year's checkup of a resident (again: the values are
// replaced).
func (t *Town) Record(ctx context.Context, platformID string, y Year) error {
	if platformID == "" || y.Year < 1900 || len(y.Results) == 0 {
		return errors.New("town: a checkup needs the person, the year and its results")
	}
	for _, r := range y.Results {
		if r.Item == "" || r.Unit == "" || r.Low > r.High {
			return errors.New("town: a result needs its item, unit and range")
		}
		if _, err := t.s.db.Write(ctx, `INSERT INTO town_checkups (town, platform_id, year, item, value, unit, low, high, taken_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (town, platform_id, year, item) DO UPDATE SET value = excluded.value, unit = excluded.unit,
			low = excluded.low, high = excluded.high, taken_at = excluded.taken_at`,
			t.id, platformID, y.Year, r.Item, r.Value, r.Unit, r.Low, r.High, y.TakenAt.UnixMilli()); err != nil {
			return err
		}
	}
	return nil
}

// Checkups are the person's checkups held by the town they live in. It
// writes an audit row (a refusal: only its own).
func (s *Service) Checkups(ctx context.Context, v tvlogin.Viewer) (Checkups, error) {
	t, err := s.townOf(ctx, v, "checkups")
	if err != nil {
		return Checkups{}, err
	}
	p, err := t.Profile(ctx)
	if err != nil {
		return Checkups{}, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT year, item, value, unit, low, high, taken_at FROM town_checkups
		WHERE town = $1 AND platform_id = $2 ORDER BY year DESC`, t.id, v.PlatformID)
	if err != nil {
		return Checkups{}, err
	}
	defer rows.Close()
	out := Checkups{Town: t.id, TownJA: p.NameJA, TownEN: p.NameEN}
	for rows.Next() {
		var r Result
		var year int
		var at int64
		if err := rows.Scan(&year, &r.Item, &r.Value, &r.Unit, &r.Low, &r.High, &at); err != nil {
			return Checkups{}, err
		}
		if n := len(out.Years); n == 0 || out.Years[n-1].Year != year {
			out.Years = append(out.Years, Year{Year: year, TakenAt: time.UnixMilli(at)})
		}
		y := &out.Years[len(out.Years)-1]
		y.Results = append(y.Results, r)
	}
	if err := rows.Err(); err != nil {
		return Checkups{}, err
	}
	for _, y := range out.Years {
		slices.SortStableFunc(y.Results, func(a, b Result) int { return cmp.Compare(itemRank(a.Item), itemRank(b.Item)) })
	}
	return out, t.audit(ctx, v, "checkups", 0, "ok")
}
