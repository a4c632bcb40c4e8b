package schedule

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const day = "2006-01-02"

func date(t *testing.T, s string) time.Time {
	t.Helper()
	if s == "" {
		return time.Time{}
	}
	d, err := time.Parse(day, s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func str(d time.Time) string {
	if d.IsZero() {
		return ""
	}
	return d.Format(day)
}

// row is an Item with dates as text, as testdata/cases.json writes them.
type row struct {
	Vaccine     string `json:"vaccine"`
	Dose        string `json:"dose,omitempty"`
	Status      Status `json:"status"`
	Given       string `json:"given,omitempty"`
	Earliest    string `json:"earliest,omitempty"`
	Recommended string `json:"recommended,omitempty"`
	StandardEnd string `json:"standard_end,omitempty"`
	Latest      string `json:"latest,omitempty"`
	Why         string `json:"why,omitempty"`
}

type dose struct {
	Vaccine string `json:"vaccine"`
	Product string `json:"product,omitempty"`
	Date    string `json:"date"`
}

// TestDue runs the cases of testdata/cases.json: each names its source
// (the published rule it checks), the child, the doses given, today, and
// the answer expected for the vaccines it names (the others are not
// compared, so that a case states only what it is about).
func TestDue(t *testing.T) {
	raw, err := os.ReadFile("testdata/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Name   string   `json:"name"`
		Source string   `json:"source"`
		Birth  string   `json:"birth"`
		Sex    string   `json:"sex"`
		Given  []dose   `json:"given"`
		Today  string   `json:"today"`
		Only   []string `json:"only"`
		Want   []row    `json:"want"`
	}
	dec := json.NewDecoder(bytesReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cases); err != nil {
		t.Fatal(err)
	}
	s := Routine()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			if c.Source == "" {
				t.Fatal("a case names its source")
			}
			child := Child{Birth: date(t, c.Birth)}
			switch c.Sex {
			case "male":
				child.Sex = Male
			case "female":
				child.Sex = Female
			}
			var given []Dose
			for _, d := range c.Given {
				given = append(given, Dose{Vaccine: d.Vaccine, Product: d.Product, Date: date(t, d.Date)})
			}
			only := map[string]bool{}
			for _, v := range c.Only {
				only[v] = true
			}
			var got []row
			for _, it := range s.Due(child, given, date(t, c.Today)) {
				if !only[it.Vaccine] {
					continue
				}
				got = append(got, row{Vaccine: it.Vaccine, Dose: it.Dose, Status: it.Status, Given: str(it.Given),
					Earliest: str(it.Earliest), Recommended: str(it.Recommended), StandardEnd: str(it.StandardEnd),
					Latest: str(it.Latest), Why: it.Why})
			}
			if diff := cmp.Diff(c.Want, got); diff != "" {
				t.Errorf("Due (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCounting checks the counting rules against the examples the
// sources give.
func TestCounting(t *testing.T) {
	d := func(s string) time.Time { return date(t, s) }
	tests := []struct {
		name, source string
		got, want    time.Time
	}{
		{"生後2月 of 7月31日 is 9月30日", "厚生労働省 ロタウイルスワクチンQ&A Q5", reach(d("2020-07-31"), 2), d("2020-09-30")},
		{"生後2月 of 2020-08-01", "厚生労働省 ロタウイルスワクチンQ&A Q4", reach(d("2020-08-01"), 2), d("2020-09-30")},
		{"出生6週0日後 of 2020-08-01", "Q&A Q4", W(6, 0).resolve(d("2020-08-01")), d("2020-09-12")},
		{"出生14週6日後 of 2020-08-01", "Q&A Q4", W(14, 6).resolve(d("2020-08-01")), d("2020-11-13")},
		{"生後2か月 of 2013-04-02 is 6月1日", "清瀬市 予防接種の年齢の考え方", reach(d("2013-04-02"), 2), d("2013-06-01")},
		{"1歳 of 2020-04-01 is 2021-03-31", "登米市 対象者（年齢）の解釈", Y(1).resolve(d("2020-04-01")), d("2021-03-31")},
		{"27日以上 from a Tuesday is the Tuesday 4 weeks on", "名取市 接種間隔の解釈", Interval{Days: 27}.after(d("2024-03-05")), d("2024-04-02")},
		{"1月の間隔 from 1月31日 is 3月1日", "名取市 接種間隔の解釈 (翌月に同日がない場合)", Interval{Months: 1}.after(d("2025-01-31")), d("2025-03-01")},
		{"1月の間隔 from 1月15日 is 2月15日", "名取市 接種間隔の解釈", Interval{Months: 1}.after(d("2025-01-15")), d("2025-02-15")},
		{"school start for 4月1日生まれ", "学校教育法 第17条", schoolStart(d("2019-04-01")), d("2025-04-01")},
		{"school start for 4月2日生まれ", "学校教育法 第17条", schoolStart(d("2019-04-02")), d("2026-04-01")},
		{"HPV from: 12歳となる日の属する年度の初日", "予防接種法施行令", FYStart(12).resolve(d("2012-06-10")), d("2024-04-01")},
		{"HPV to: 16歳となる日の属する年度の末日", "予防接種法施行令", FYEnd(16).resolve(d("2012-06-10")), d("2029-03-31")},
	}
	for _, tt := range tests {
		if !tt.got.Equal(tt.want) {
			t.Errorf("%s (%s): got %s, want %s", tt.name, tt.source, str(tt.got), str(tt.want))
		}
	}
}

// TestSourcesNamed: every vaccine names a source with a URL, so that the
// data can be checked and updated.
func TestSourcesNamed(t *testing.T) {
	s := Routine()
	if s.AsOf.IsZero() || len(s.Sources) == 0 {
		t.Error("the schedule has no date or no sources")
	}
	seen := map[string]bool{}
	for _, v := range s.Vaccines {
		if seen[v.ID] {
			t.Errorf("vaccine %s twice", v.ID)
		}
		seen[v.ID] = true
		if len(v.Sources) == 0 || len(v.Plans) == 0 || v.NameJA == "" || v.NameEN == "" {
			t.Errorf("vaccine %s lacks sources, plans or names", v.ID)
		}
		for _, src := range v.Sources {
			if src.URL == "" || src.Title == "" {
				t.Errorf("vaccine %s: a source without URL or title", v.ID)
			}
		}
	}
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

// BenchmarkDue: the whole schedule for a 15-year-old with every routine
// dose recorded (the parent's home page computes it on every view).
func BenchmarkDue(b *testing.B) {
	birth := time.Date(2011, 5, 10, 0, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return birth.AddDate(0, m, 0) }
	given := []Dose{
		{Vaccine: "hepb", Date: at(2)}, {Vaccine: "hepb", Date: at(3)}, {Vaccine: "hepb", Date: at(8)},
		{Vaccine: "dpt-ipv", Date: at(3)}, {Vaccine: "dpt-ipv", Date: at(4)}, {Vaccine: "dpt-ipv", Date: at(5)}, {Vaccine: "dpt-ipv", Date: at(18)},
		{Vaccine: "hib", Date: at(2)}, {Vaccine: "hib", Date: at(3)}, {Vaccine: "hib", Date: at(4)}, {Vaccine: "hib", Date: at(13)},
		{Vaccine: "pcv", Date: at(2)}, {Vaccine: "pcv", Date: at(3)}, {Vaccine: "pcv", Date: at(4)}, {Vaccine: "pcv", Date: at(13)},
		{Vaccine: "bcg", Date: at(6)}, {Vaccine: "mr", Date: at(12)}, {Vaccine: "mr", Date: at(70)},
		{Vaccine: "varicella", Date: at(12)}, {Vaccine: "varicella", Date: at(19)},
		{Vaccine: "je", Date: at(36)}, {Vaccine: "je", Date: at(37)}, {Vaccine: "je", Date: at(48)}, {Vaccine: "je", Date: at(110)},
		{Vaccine: "dt", Date: at(135)},
	}
	s := Routine()
	c := Child{Birth: birth, Sex: Female}
	today := birth.AddDate(15, 0, 0)
	b.ReportAllocs()
	for b.Loop() {
		s.Due(c, given, today)
	}
}
