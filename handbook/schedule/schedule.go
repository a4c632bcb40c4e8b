package schedule

import (
	"sort"
	"time"
)

// Sex of the child, for the vaccines given to one sex only (HPV).
type Sex int

const (
	SexUnknown Sex = iota
	Male
	Female
)

// Child is what Due needs to know about the child.
type Child struct {
	Birth time.Time // civil date
	Sex   Sex
}

// Dose is one vaccination given, as the handbook records it.
type Dose struct {
	Vaccine string // Vaccine.ID, e.g. "hepb", "dpt-ipv-hib"
	// Product tells apart the products of one vaccine whose series differ
	// (rotavirus: "rotarix" 2 doses, "rotateq" 3 doses; HPV: "9v", "4v",
	// "2v"). Empty means the vaccine's default product.
	Product string
	Date    time.Time // civil date
}

// Status of an item of the answer.
type Status string

const (
	// Done: the dose was given.
	Done Status = "done"
	// Due: the next dose, not given yet, and today is not past the end of
	// its standard period (標準的な接種期間), or it has none.
	Due Status = "due"
	// Overdue: the next dose, past the end of its standard period but still
	// within the statutory period (the age window of 施行令, and any
	// latest age of the dose): it can still be given as routine.
	Overdue Status = "overdue"
	// NotApplicable: not a routine vaccination for this child — the
	// statutory period has ended or has not a day left for this dose, the
	// vaccine is for the other sex, or the series was replaced (the
	// 4種混合 and Hib series by 5種混合). Given later, it is 任意接種.
	NotApplicable Status = "not_applicable"
	// Skipped: a dose of the series that the rules leave out for this
	// child (e.g. the third primary PCV dose when the second was given
	// after the first birthday); the series goes on with the next rule.
	Skipped Status = "skipped"
)

// Item is one line of the answer: a dose of a vaccine's series.
type Item struct {
	Vaccine string
	Dose    string // the rule's label, e.g. "1期初回 1"
	Status  Status
	// Given is the date of a Done dose.
	Given time.Time `json:",omitzero"`
	// Earliest, Recommended, StandardEnd and Latest are set for Due and
	// Overdue: the first day the dose may be given as routine, the day
	// the standard schedule suggests (never before Earliest), the last
	// day of the standard period (zero when the rule names none) and the
	// last day of the statutory period.
	Earliest    time.Time `json:",omitzero"`
	Recommended time.Time `json:",omitzero"`
	StandardEnd time.Time `json:",omitzero"`
	Latest      time.Time `json:",omitzero"`
	// Why says, for NotApplicable and Skipped, which rule decided.
	Why string `json:",omitempty"`
}

// Due answers for every vaccine of the schedule, in the schedule's order:
// the doses given (Done), the doses the rules leave out (Skipped), and the
// next dose of the series (Due, Overdue) or why there is none
// (NotApplicable). Doses given of a vaccine the schedule does not list are
// ignored; doses are matched to a series' rules in date order, so a dose
// recorded late still counts in its place.
func (s *Schedule) Due(c Child, given []Dose, today time.Time) []Item {
	birth := civil(c.Birth)
	today = civil(today)
	byVaccine := map[string][]Dose{}
	for _, d := range given {
		d.Date = civil(d.Date)
		byVaccine[d.Vaccine] = append(byVaccine[d.Vaccine], d)
	}
	for _, ds := range byVaccine {
		sort.SliceStable(ds, func(i, j int) bool { return ds[i].Date.Before(ds[j].Date) })
	}
	var out []Item
	for i := range s.Vaccines {
		out = append(out, s.Vaccines[i].due(birth, c.Sex, byVaccine, today)...)
	}
	return out
}

func (v *Vaccine) due(birth time.Time, sex Sex, byVaccine map[string][]Dose, today time.Time) []Item {
	doses := byVaccine[v.ID]
	var out []Item
	na := func(why string) []Item {
		for _, d := range doses {
			out = append(out, Item{Vaccine: v.ID, Dose: "", Status: Done, Given: d.Date})
		}
		return append(out, Item{Vaccine: v.ID, Status: NotApplicable, Why: why})
	}
	if v.Sex != SexUnknown && sex != v.Sex {
		return na("sex")
	}
	if len(doses) == 0 {
		// A series begun with another vaccine is completed with it (原則と
		// して同一ワクチンで完了): 5種混合 yields to a begun 4種混合 or Hib.
		for _, r := range v.YieldsTo {
			if len(byVaccine[r]) > 0 {
				return na("yields_to:" + r)
			}
		}
	}
	if len(v.OnlyWith) > 0 {
		begun := false
		for _, r := range v.OnlyWith {
			begun = begun || len(byVaccine[r]) > 0
		}
		if !begun {
			return na("not_begun")
		}
	}
	from, to := v.Window.From.resolve(birth), v.Window.To.resolve(birth)
	product := v.DefaultProduct
	if len(doses) > 0 && doses[0].Product != "" {
		product = doses[0].Product
	}
	if p, ok := v.Products[product]; ok && !p.zero() {
		to = p.resolve(birth)
	}
	// The plan is chosen by the age at the first dose: given, or the day
	// it could be given now.
	firstAt := maxDate(today, from)
	if len(doses) > 0 {
		firstAt = doses[0].Date
	}
	plan := v.plan(birth, firstAt, product)
	if plan == nil {
		return na("no_plan_for_age")
	}
	var prev, first time.Time
	next := 0
	for _, r := range plan.Rules {
		if !r.SkipIfPrevAfter.zero() && !prev.IsZero() && !prev.Before(r.SkipIfPrevAfter.resolve(birth)) {
			out = append(out, Item{Vaccine: v.ID, Dose: r.Label, Status: Skipped, Why: "previous_dose_after_age"})
			continue
		}
		if next < len(doses) {
			d := doses[next]
			next++
			out = append(out, Item{Vaccine: v.ID, Dose: r.Label, Status: Done, Given: d.Date})
			if first.IsZero() {
				first = d.Date
			}
			prev = d.Date
			continue
		}
		earliest := maxDate(from, r.MinAge.resolve(birth))
		if prev.IsZero() && !plan.FirstFrom.zero() {
			// The plan was chosen for a first dose from its FirstFrom.
			earliest = maxDate(earliest, plan.FirstFrom.resolve(birth))
		}
		if !prev.IsZero() {
			earliest = maxDate(earliest, r.MinAfterPrev.after(prev))
		}
		if !first.IsZero() {
			earliest = maxDate(earliest, r.MinAfterFirst.after(first))
		}
		latest := to
		if !r.MaxAge.zero() {
			latest = minDate(latest, r.MaxAge.resolve(birth))
		}
		if earliest.After(latest) || today.After(latest) {
			if r.SkipWhenLate {
				out = append(out, Item{Vaccine: v.ID, Dose: r.Label, Status: Skipped, Why: "dose_period_over"})
				continue
			}
			out = append(out, Item{Vaccine: v.ID, Dose: r.Label, Status: NotApplicable, Why: "period_over"})
			return out
		}
		rec := maxDate(earliest, r.StdFrom.resolve(birth))
		if !prev.IsZero() {
			rec = maxDate(rec, r.StdAfterPrevFrom.after(prev))
		}
		if !first.IsZero() {
			rec = maxDate(rec, r.StdAfterFirstFrom.after(first))
		}
		var stdEnd time.Time
		if !r.StdTo.zero() {
			stdEnd = r.StdTo.resolve(birth)
		}
		if !r.StdAfterPrevTo.zero() && !prev.IsZero() {
			e := r.StdAfterPrevTo.after(prev)
			if stdEnd.IsZero() || e.Before(stdEnd) {
				stdEnd = e
			}
		}
		if !stdEnd.IsZero() {
			stdEnd = minDate(stdEnd, latest)
			if rec.After(stdEnd) {
				// The standard period is over before the dose may be given:
				// recommend the first day it may be.
				rec = earliest
			}
		}
		rec = minDate(rec, latest)
		st := Due
		if !stdEnd.IsZero() && today.After(stdEnd) {
			st = Overdue
		}
		out = append(out, Item{Vaccine: v.ID, Dose: r.Label, Status: st,
			Earliest: earliest, Recommended: rec, StandardEnd: stdEnd, Latest: latest})
		return out
	}
	// Doses beyond the series (recorded twice, or given as 任意接種) are
	// listed as given; the series is complete.
	for ; next < len(doses); next++ {
		out = append(out, Item{Vaccine: v.ID, Status: Done, Given: doses[next].Date, Why: "beyond_series"})
	}
	return out
}

// plan picks the plan whose first-dose age range holds at, for the product.
func (v *Vaccine) plan(birth, at time.Time, product string) *Plan {
	for i := range v.Plans {
		p := &v.Plans[i]
		if p.Product != "" && p.Product != product {
			continue
		}
		if !p.FirstFrom.zero() && at.Before(p.FirstFrom.resolve(birth)) {
			continue
		}
		// FirstTo is exclusive: on the day both "…月未満" of one plan and
		// "…月から" of the next hold (the sources overlap by that day), the
		// next plan applies.
		if !p.FirstTo.zero() && !at.Before(p.FirstTo.resolve(birth)) {
			continue
		}
		return p
	}
	return nil
}

func civil(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func maxDate(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func minDate(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
