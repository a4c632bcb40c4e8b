package growth

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func fixture(t *testing.T) *Table {
	t.Helper()
	f, err := os.Open("testdata/fixture.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tb, err := Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func national(t *testing.T) *Table {
	t.Helper()
	tb, err := National()
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// TestGolden renders charts and compares them with testdata/*.svg
// (go test -update rewrites them). Each golden file must be well-formed
// XML with a title and a description and no script.
func TestGolden(t *testing.T) {
	boy := []Point{{0, 3.1, "2023-01-15"}, {1.0, 4.3, "2023-02-15"}, {3.5, 6.9, "2023-05-01"}, {7, 8.4, "2023-08-15"},
		{10, 9.1, "2023-11-15"}, {18, 10.4, "2024-07-16"}, {36, 14.6, "2026-01-15"}}
	girl := []Point{{12.2, 74.1, "2024-01-20"}, {18.1, 80.2, "2024-07-22"}, {37, 96.3, "2025-02-18"}}
	tests := []struct {
		name  string
		table func(*testing.T) *Table
		chart Chart
	}{
		{"weight-boy-ja", fixture, Chart{Measure: Weight, Sex: Male, Points: boy, Name: "前橋　蓮"}},
		{"weight-boy-en", fixture, Chart{Measure: Weight, Sex: Male, Points: boy, Lang: "en", Name: "Ren Maebashi"}},
		{"height-girl-ja", fixture, Chart{Measure: Height, Sex: Female, Points: girl}},
		{"empty-ja", fixture, Chart{Measure: Weight, Sex: Male}},
		{"provisional-height-boy-ja", national, Chart{Measure: Height, Sex: Male, Name: "前橋　蓮", Points: []Point{
			{0, 50.1, "2023-01-15"}, {1.0, 54.8, "2023-02-15"}, {3.5, 62.9, "2023-05-01"}, {9.9, 72.0, "2023-11-14"},
			{18.5, 81.9, "2024-08-01"}, {36.7, 95.2, "2026-02-05"}}}},
		{"provisional-weight-girl-en", national, Chart{Measure: Weight, Sex: Female, Lang: "en", Points: []Point{{0, 2.9, "2024-01-20"}, {6.2, 7.4, "2024-07-26"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Render(&buf, tt.table(t), tt.chart); err != nil {
				t.Fatal(err)
			}
			checkSVG(t, buf.Bytes())
			path := filepath.Join("testdata", tt.name+".svg")
			if *update {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update once)", err)
			}
			if diff := cmp.Diff(string(want), buf.String()); diff != "" {
				t.Errorf("%s differs (-want +got):\n%s", path, diff)
			}
		})
	}
}

// checkSVG: well-formed XML, a <title> and a <desc> first, no script, no
// event handler attributes, and one polyline per percentile curve drawn.
func checkSVG(t *testing.T, b []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	var names []string
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			names = append(names, se.Name.Local)
			if se.Name.Local == "script" {
				t.Error("the chart has a script")
			}
			for _, a := range se.Attr {
				if strings.HasPrefix(strings.ToLower(a.Name.Local), "on") {
					t.Errorf("event handler %s", a.Name.Local)
				}
			}
		}
	}
	if len(names) < 3 || names[0] != "svg" || names[1] != "title" || names[2] != "desc" {
		t.Errorf("the chart does not start with svg, title, desc: %v", names[:min(3, len(names))])
	}
}

func TestDescribe(t *testing.T) {
	tb := fixture(t)
	c := Chart{Measure: Weight, Sex: Male, Points: []Point{
		{12, 9.5, "a"}, {12, 6.0, "b"}, {12, 14, "c"}, {80, 20, "d"},
	}}
	want := []string{
		"a 1歳: 9.5 kg（50〜75パーセンタイル）",
		"b 1歳: 6.0 kg（3パーセンタイル未満）",
		"c 1歳: 14.0 kg（97パーセンタイル超）",
		"d 6歳8か月: 20.0 kg（この月齢の曲線なし）",
	}
	if diff := cmp.Diff(want, Describe(tb, c)); diff != "" {
		t.Errorf("Describe (-want +got):\n%s", diff)
	}
	c.Lang = "en"
	if got := Describe(tb, c)[0]; got != "a 1 y: 9.5 kg (between the 50th and 75th percentiles)" {
		t.Errorf("en: %q", got)
	}
}

func TestParseRefuses(t *testing.T) {
	h := header + "\n"
	for name, in := range map[string]string{
		"no header":       "weight,male,0,1,2,3,4,5,6,7,x\n",
		"bad measure":     h + "bmi,male,0,1,2,3,4,5,6,7,x\n",
		"bad sex":         h + "weight,boy,0,1,2,3,4,5,6,7,x\n",
		"bad age":         h + "weight,male,-1,1,2,3,4,5,6,7,x\n",
		"falling":         h + "weight,male,0,1,2,3,2,5,6,7,x\n",
		"not a number":    h + "weight,male,0,1,2,x,4,5,6,7,x\n",
		"too few columns": h + "weight,male,0,1,2,3\n",
	} {
		if _, err := Parse(strings.NewReader(in)); !errors.Is(err, ErrBadTable) {
			t.Errorf("%s: %v, want ErrBadTable", name, err)
		}
	}
}

// TestNationalProvisional: the embedded table says it is provisional and
// where the survey is, until the survey's numbers replace it; then the
// survey's table must be whole.
func TestNationalProvisional(t *testing.T) {
	tb := national(t)
	if !tb.Provisional() {
		// The survey's table: every curve, every percentile, birth to 6.
		for _, m := range []Measure{Weight, Height, Head} {
			for _, s := range []Sex{Male, Female} {
				rs := tb.Rows(m, s)
				if len(rs) == 0 || rs[0].AgeMonths != 0 || rs[len(rs)-1].AgeMonths < 66 {
					t.Errorf("%s %s: rows missing", m, s)
				}
			}
		}
		return
	}
	joined := strings.Join(tb.Notes, "\n")
	if !strings.Contains(joined, "令和5年乳幼児身体発育調査") || !strings.Contains(joined, "cfa.go.jp") {
		t.Errorf("the provisional table does not name the survey it waits for: %s", joined)
	}
	if len(tb.Rows(Weight, Male)) == 0 || len(tb.Rows(Head, Female)) != 0 {
		t.Error("unexpected provisional rows")
	}
}

// BenchmarkRender: a chart with 40 measurements (birth to 6 years).
func BenchmarkRender(b *testing.B) {
	f, err := os.Open("testdata/fixture.csv")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	tb, err := Parse(f)
	if err != nil {
		b.Fatal(err)
	}
	var pts []Point
	for i := range 40 {
		a := float64(i) * 1.8
		pts = append(pts, Point{AgeMonths: a, Value: 3 + a*0.25, Date: "2020-01-01"})
	}
	c := Chart{Measure: Weight, Sex: Male, Points: pts, MaxMonths: 72}
	b.ReportAllocs()
	for b.Loop() {
		if err := Render(io.Discard, tb, c); err != nil {
			b.Fatal(err)
		}
	}
}
