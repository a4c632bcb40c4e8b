// Package schedule is Japan's routine vaccination schedule for children
// (定期接種, 予防接種法 第5条, 予防接種法施行令 第3条 as amended by 政令第116号
// of 2024-03-29, in force 2024-04-01) as data, and Due, a pure function
// that tells from a child's birth date, sex and the doses given which
// doses are done, which is due next and when (earliest, recommended,
// latest), which is overdue, and which no longer apply as routine
// vaccinations (docs/handbook.md §6).
//
// The data (routine.go) names for every vaccine the sources it was read
// from, with their URL and the date of the page, and says which values
// could be checked against a stored copy of a source and which could not
// (Rule.Verified, Vaccine.Notes): a value that could not be checked is
// marked, never silently invented. Ages and intervals are counted as the
// 厚生労働省's 事務連絡 reads them and municipalities publish them
// (Kobe, Natori: "生後●月" is the day before the same date ● months
// later, or the month's last day when that date does not exist; "●歳未満"
// includes the day before the birthday; "27日以上の間隔" is the same
// weekday four weeks later; "1月の間隔" is the same date a month later, or
// the first of the next month when there is none; rotavirus weeks count
// the birth date as 0週0日). Dates are civil dates (time.Time at 00:00
// UTC); the caller gives "today" in Japan's time zone.
//
// The package keeps no state and does no I/O: the handbook (the role that
// holds the records) and its reminder sweep call Due.
package schedule
