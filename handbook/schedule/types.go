package schedule

import "time"

// Schedule is a published schedule: its vaccines in the order a handbook
// lists them, and the date of the newest source it was read from, so that
// a newer publication shows it is out of date.
type Schedule struct {
	Name     string
	AsOf     time.Time // the newest source's date
	Vaccines []Vaccine
	// Sources for the whole schedule: how ages and intervals are counted.
	Sources []Source
}

// Vaccine is one routine vaccination and the rules of its series.
type Vaccine struct {
	ID             string
	NameJA, NameEN string
	// Sex is the one sex it is routine for (HPV: Female); SexUnknown for
	// all children.
	Sex Sex
	// Window is the statutory period of 予防接種法施行令 第3条 for the whole
	// series (both ends inclusive, as the 事務連絡 reads them).
	Window struct{ From, To Age }
	// Products whose statutory period ends earlier than Window.To
	// (rotavirus: Rotarix 出生24週0日後, RotaTeq 出生32週0日後), and the
	// product assumed before any dose is given.
	Products       map[string]Age
	DefaultProduct string
	// YieldsTo: with no dose of this vaccine given and a dose of one of
	// these, this series does not apply. OnlyWith: the series applies only
	// when one of these has a dose (the 4種混合 and Hib series, which
	// 5種混合 replaced from 2024-04-01 for children not yet begun).
	YieldsTo []string
	OnlyWith []string
	// Plans by the age at the first dose (and product), first match wins.
	Plans []Plan
	// Sources it was read from, and the values that could not be checked
	// against a stored copy of a source (marked, not invented silently).
	Sources    []Source
	Unverified []string
}

// Plan is the series for a first dose given from FirstFrom (inclusive) to
// FirstTo (exclusive), for Product ("" any).
type Plan struct {
	Product            string
	FirstFrom, FirstTo Age
	Rules              []Rule
}

// Rule is one dose of a plan.
type Rule struct {
	Label string // e.g. "1期初回 2"
	// MinAge, MinAfterPrev and MinAfterFirst bound the earliest day; MaxAge
	// the last day (with the vaccine's Window).
	MinAge        Age
	MinAfterPrev  Interval
	MinAfterFirst Interval
	MaxAge        Age
	// SkipWhenLate: past MaxAge the dose is left out and the series goes
	// on with the next rule (PCV's later primary doses), rather than the
	// series ending.
	SkipWhenLate bool
	// SkipIfPrevAfter: the dose is left out when the previous dose was
	// given on or after this age (PCV: a second primary dose after the
	// first birthday means no third).
	SkipIfPrevAfter Age
	// The standard period (標準的な接種期間): from StdFrom and the intervals,
	// to StdTo or StdAfterPrevTo, whichever is first.
	StdFrom, StdTo    Age
	StdAfterPrevFrom  Interval
	StdAfterPrevTo    Interval
	StdAfterFirstFrom Interval
}

// Source is a publication the data was read from.
type Source struct {
	Title string
	URL   string
	Date  string // the page's date as it states it (YYYY-MM-DD), "" if none
	What  string // which values it gave
}
