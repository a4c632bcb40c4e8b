package growth

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Measure is what a chart shows.
type Measure string

const (
	Weight Measure = "weight" // kg
	Height Measure = "height" // cm
	Head   Measure = "head"   // head circumference, cm
)

// Unit of a measure.
func (m Measure) Unit() string {
	if m == Weight {
		return "kg"
	}
	return "cm"
}

// Sex of the curves.
type Sex string

const (
	Male   Sex = "male"
	Female Sex = "female"
)

// Percentiles are the survey's percentiles, in the order of Row.P.
func Percentiles() [7]int { return [7]int{3, 10, 25, 50, 75, 90, 97} }

// Row is one age of one curve set: the value at each percentile, NaN where
// the table has none.
type Row struct {
	AgeMonths float64
	P         [7]float64
	Origin    string
}

// Table is a set of percentile curves with what it was read from.
type Table struct {
	// Status is "provisional" while the survey's own numbers are missing;
	// "" for the survey's table (and for test fixtures).
	Status string
	// NoticeJA and NoticeEN are what a chart drawn from a provisional
	// table says on its face ("# notice-ja:", "# notice-en:").
	NoticeJA, NoticeEN string
	// Notes are the table's comment lines (source, wanted, note), kept as
	// written so that a chart and the docs can quote them.
	Notes []string
	rows  map[key][]Row
}

type key struct {
	m Measure
	s Sex
}

// Provisional reports whether the table says it is not the survey's own
// ("# status: provisional").
func (t *Table) Provisional() bool { return t.Status == "provisional" }

// Rows are the rows of one measure and sex, by age.
func (t *Table) Rows(m Measure, s Sex) []Row { return t.rows[key{m, s}] }

// ErrBadTable is a table that cannot be read.
var ErrBadTable = errors.New("growth: bad table")

const header = "measure,sex,age_months,p3,p10,p25,p50,p75,p90,p97,origin"

// Parse reads a table: "# name: value" comment lines (status, wanted,
// note, columns, source …), the header line, then one row per measure,
// sex and age; an empty cell is a value not known.
func Parse(r io.Reader) (*Table, error) {
	t := &Table{rows: map[key][]Row{}}
	var body bytes.Buffer
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if c, ok := strings.CutPrefix(line, "#"); ok {
			c = strings.TrimSpace(c)
			if v, ok := strings.CutPrefix(c, "status:"); ok {
				t.Status = strings.TrimSpace(v)
			}
			if v, ok := strings.CutPrefix(c, "notice-ja:"); ok {
				t.NoticeJA = strings.TrimSpace(v)
			}
			if v, ok := strings.CutPrefix(c, "notice-en:"); ok {
				t.NoticeEN = strings.TrimSpace(v)
			}
			t.Notes = append(t.Notes, c)
			continue
		}
		if line != "" {
			body.WriteString(line + "\n")
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("growth: read table: %w", err)
	}
	cr := csv.NewReader(&body)
	cr.FieldsPerRecord = 11
	recs, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadTable, err)
	}
	if len(recs) == 0 || strings.Join(recs[0], ",") != header {
		return nil, fmt.Errorf("%w: the first row is not %q", ErrBadTable, header)
	}
	for i, rec := range recs[1:] {
		k := key{Measure(rec[0]), Sex(rec[1])}
		if (k.m != Weight && k.m != Height && k.m != Head) || (k.s != Male && k.s != Female) {
			return nil, fmt.Errorf("%w: row %d: measure %q, sex %q", ErrBadTable, i+2, rec[0], rec[1])
		}
		age, err := strconv.ParseFloat(rec[2], 64)
		if err != nil || age < 0 || age > 84 {
			return nil, fmt.Errorf("%w: row %d: age %q", ErrBadTable, i+2, rec[2])
		}
		row := Row{AgeMonths: age, Origin: rec[10]}
		last := math.Inf(-1)
		for j := range row.P {
			row.P[j] = math.NaN()
			if rec[3+j] == "" {
				continue
			}
			v, err := strconv.ParseFloat(rec[3+j], 64)
			if err != nil || v <= 0 || v < last {
				return nil, fmt.Errorf("%w: row %d: p%d %q (values rise with the percentile)", ErrBadTable, i+2, Percentiles()[j], rec[3+j])
			}
			row.P[j], last = v, v
		}
		t.rows[k] = append(t.rows[k], row)
	}
	for k := range t.rows {
		rs := t.rows[k]
		sort.SliceStable(rs, func(i, j int) bool { return rs[i].AgeMonths < rs[j].AgeMonths })
	}
	return t, nil
}

//go:embed survey/national.csv
var nationalCSV []byte

// National is the embedded table (survey/national.csv): provisional until
// the survey's numbers are put there.
func National() (*Table, error) { return Parse(bytes.NewReader(nationalCSV)) }

// at interpolates percentile j of rows at age a (NaN outside the rows or
// where the neighbours lack it).
func at(rows []Row, j int, a float64) float64 {
	for i := 1; i < len(rows); i++ {
		if a <= rows[i].AgeMonths && a >= rows[i-1].AgeMonths {
			x0, x1 := rows[i-1].AgeMonths, rows[i].AgeMonths
			y0, y1 := rows[i-1].P[j], rows[i].P[j]
			if x1 == x0 {
				return y1
			}
			return y0 + (y1-y0)*(a-x0)/(x1-x0)
		}
	}
	if len(rows) > 0 && a == rows[0].AgeMonths {
		return rows[0].P[j]
	}
	return math.NaN()
}

// Band says where value lies among the curves at age: the two percentiles
// around it ("25", "50"), below the lowest known ("", "3") or above the
// highest ("97", ""); ok is false when the table has no curve there.
func (t *Table) Band(m Measure, s Sex, ageMonths, value float64) (lo, hi string, ok bool) {
	rows := t.Rows(m, s)
	pcs := Percentiles()
	lower, upper := -1, -1
	for j := range pcs {
		v := at(rows, j, ageMonths)
		if math.IsNaN(v) {
			continue
		}
		ok = true
		if v <= value {
			lower = j
		} else if upper < 0 {
			upper = j
		}
	}
	if lower >= 0 {
		lo = strconv.Itoa(pcs[lower])
	}
	if upper >= 0 {
		hi = strconv.Itoa(pcs[upper])
	}
	return lo, hi, ok
}
