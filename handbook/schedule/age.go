package schedule

import "time"

// AgeRule says how an Age is counted.
type AgeRule int

const (
	// ByMonths: "生後N月" — the day before the same date N months after
	// birth, or the last day of that month when it has no such date
	// (厚生労働省 事務連絡, as Kobe and Natori publish it). Years are 12
	// months: "5歳" is the day before the fifth birthday.
	ByMonths AgeRule = iota
	// ByDays: "出生N週M日後" — the birth date is 0週0日 (rotavirus).
	ByDays
	// PreschoolFrom: the day one year before the start of the school year
	// in which the child enters primary school (MR 2期: 小学校就学の始期に
	// 達する日の1年前の日).
	PreschoolFrom
	// PreschoolTo: the day before that start (当該始期に達する日の前日).
	PreschoolTo
	// FiscalYearStart: April 1 of the school year (年度) in which the child
	// reaches Months/12 years (HPV: 12歳となる日の属する年度の初日).
	FiscalYearStart
	// FiscalYearEnd: March 31 ending that year (16歳となる日の属する年度の末日).
	FiscalYearEnd
)

// Age is a point in a child's life, resolved against the birth date. The
// zero Age means "no bound" where a rule allows one.
type Age struct {
	Rule   AgeRule
	Months int // ByMonths, FiscalYear*: the age in months (years × 12)
	Days   int // ByDays: days after birth (weeks × 7 + days)
	set    bool
}

// M is 生後m月; Y is y歳 (12·y months); W is 出生w週d日後; the others are
// the school-year bounds.
func M(m int) Age       { return Age{Rule: ByMonths, Months: m, set: true} }
func Y(y int) Age       { return M(12 * y) }
func W(w, d int) Age    { return Age{Rule: ByDays, Days: 7*w + d, set: true} }
func PreFrom() Age      { return Age{Rule: PreschoolFrom, set: true} }
func PreTo() Age        { return Age{Rule: PreschoolTo, set: true} }
func FYStart(y int) Age { return Age{Rule: FiscalYearStart, Months: 12 * y, set: true} }
func FYEnd(y int) Age   { return Age{Rule: FiscalYearEnd, Months: 12 * y, set: true} }

func (a Age) zero() bool { return !a.set }

// resolve gives the civil date of the age for a child born on birth; the
// zero Age is the birth date.
func (a Age) resolve(birth time.Time) time.Time {
	if !a.set {
		return birth
	}
	switch a.Rule {
	case ByDays:
		return birth.AddDate(0, 0, a.Days)
	case PreschoolFrom:
		return schoolStart(birth).AddDate(-1, 0, 0)
	case PreschoolTo:
		return schoolStart(birth).AddDate(0, 0, -1)
	case FiscalYearStart:
		return fiscalStart(reach(birth, a.Months))
	case FiscalYearEnd:
		return fiscalStart(reach(birth, a.Months)).AddDate(1, 0, -1)
	default:
		return reach(birth, a.Months)
	}
}

// reach is the day a child born on birth reaches m months (年齢計算ニ関スル
// 法律: at the end of the day before the anniversary): the day before the
// same date m months later, or that month's last day when it has no such
// date (7月31日 + 2月 → 9月30日).
func reach(birth time.Time, m int) time.Time {
	y, mo := birth.Year(), int(birth.Month())-1+m
	y += mo / 12
	mo = mo%12 + 1
	last := daysIn(y, time.Month(mo))
	if birth.Day() > last {
		return time.Date(y, time.Month(mo), last, 0, 0, 0, 0, time.UTC)
	}
	return time.Date(y, time.Month(mo), birth.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, -1)
}

// schoolStart is April 1 of the first school year that begins after the
// child reaches 6 (学校教育法 第17条: 満6歳に達した日の翌日以後における最初の
// 学年の初め). A child born on April 1 reaches 6 on March 31 and starts
// school the next day, with those born the year after — as in Japan.
func schoolStart(birth time.Time) time.Time {
	six := reach(birth, 72)
	start := time.Date(six.Year(), time.April, 1, 0, 0, 0, 0, time.UTC)
	if !start.After(six) {
		start = start.AddDate(1, 0, 0)
	}
	return start
}

// fiscalStart is April 1 of the 年度 holding t.
func fiscalStart(t time.Time) time.Time {
	y := t.Year()
	if t.Month() < time.April {
		y--
	}
	return time.Date(y, time.April, 1, 0, 0, 0, 0, time.UTC)
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// Interval is the least time between two doses.
type Interval struct {
	// Months: "N月の間隔を置く" — from the same date N months later, or
	// from the first of the following month when that month has no such
	// date.
	Months int
	// Days: "N日以上の間隔を置く" — N whole days in between, so from the
	// (N+1)-th day after (27日 → the same weekday four weeks later).
	Days int
}

func (iv Interval) zero() bool { return iv.Months == 0 && iv.Days == 0 }

// after is the first day a dose may follow one given on prev.
func (iv Interval) after(prev time.Time) time.Time {
	if iv.zero() {
		return prev
	}
	t := prev
	if iv.Months > 0 {
		y, mo := prev.Year(), int(prev.Month())-1+iv.Months
		y += mo / 12
		mo = mo%12 + 1
		if prev.Day() > daysIn(y, time.Month(mo)) {
			t = time.Date(y, time.Month(mo)+1, 1, 0, 0, 0, 0, time.UTC)
		} else {
			t = time.Date(y, time.Month(mo), prev.Day(), 0, 0, 0, 0, time.UTC)
		}
	}
	if iv.Days > 0 {
		t = t.AddDate(0, 0, iv.Days+1)
	}
	return t
}
