// Package wareki converts dates to the Japanese era calendar (和暦): the era
// code that JPKI signing certificates prefix to the birth date
// (1 明治, 2 大正, 3 昭和, 4 平成, 5 令和) and the long form for pages and
// printed certificates. Dates are civil dates in JST; eras start on the dates of
// the imperial succession, and the Gregorian calendar applies from 1873-01-01
// (明治6年).
package wareki

import (
	"errors"
	"fmt"
	"time"
)

// JST is Japan Standard Time, fixed so that nothing depends on the host's
// zoneinfo.
var jst = time.FixedZone("JST", 9*3600)

// JST returns Japan Standard Time.
func JST() *time.Location { return jst }

// ErrBeforeGregorian is returned for dates before 1873-01-01, when Japan still
// used the lunisolar calendar.
var ErrBeforeGregorian = errors.New("wareki: date before 1873-01-01 (明治6年) is not supported")

// Era is one Japanese era.
type Era struct {
	Code   int    // JPKI era digit
	Name   string // 令和
	Letter string // R (JIS X 0301)
	Start  time.Time
}

var eras = []Era{
	{5, "令和", "R", time.Date(2019, 5, 1, 0, 0, 0, 0, jst)},
	{4, "平成", "H", time.Date(1989, 1, 8, 0, 0, 0, 0, jst)},
	{3, "昭和", "S", time.Date(1926, 12, 25, 0, 0, 0, 0, jst)},
	{2, "大正", "T", time.Date(1912, 7, 30, 0, 0, 0, 0, jst)},
	{1, "明治", "M", time.Date(1868, 1, 25, 0, 0, 0, 0, jst)},
}

var gregorian = time.Date(1873, 1, 1, 0, 0, 0, 0, jst)

// Of returns the era of t (taken in JST) and the year within it.
func Of(t time.Time) (Era, int, error) {
	d := civil(t)
	if d.Before(gregorian) {
		return Era{}, 0, ErrBeforeGregorian
	}
	for _, e := range eras {
		if !d.Before(e.Start) {
			return e, d.Year() - e.Start.Year() + 1, nil
		}
	}
	return Era{}, 0, ErrBeforeGregorian
}

// civil truncates t to its JST calendar day.
func civil(t time.Time) time.Time {
	t = t.In(jst)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, jst)
}

// JPKIDate formats a birth date the way the JPKI signing certificate's
// dateOfBirth otherName carries it: the era digit followed by the Gregorian
// YYYYMMDD, e.g. "118991201" for 1899-12-01 (明治).
func JPKIDate(t time.Time) (string, error) {
	e, _, err := Of(t)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d%s", e.Code, t.In(jst).Format("20060102")), nil
}

// Long formats t as 令和8年11月24日, with the first year written 元年.
func Long(t time.Time) (string, error) {
	e, y, err := Of(t)
	if err != nil {
		return "", err
	}
	t = t.In(jst)
	ys := fmt.Sprint(y)
	if y == 1 {
		ys = "元"
	}
	return fmt.Sprintf("%s%s年%d月%d日", e.Name, ys, int(t.Month()), t.Day()), nil
}

// JISX0301 formats t as R08.11.24.
func JISX0301(t time.Time) (string, error) {
	e, y, err := Of(t)
	if err != nil {
		return "", err
	}
	t = t.In(jst)
	return fmt.Sprintf("%s%02d.%02d.%02d", e.Letter, y, int(t.Month()), t.Day()), nil
}
