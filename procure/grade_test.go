package procure

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// base is a business that scores the lowest row of every item but the one
// a test moves: sales 0, equity 0, no current assets, 0 years.
func gradeTestBase() Financials { return Financials{CurrentLiabilitiesYen: 1} }

// set puts v into the item's figure of fin.
func gradeTestSet(fin *Financials, item string, v int64) {
	switch item {
	case ItemSales:
		fin.AverageSalesYen = v
	case ItemEquity:
		fin.EquityYen = v
	case ItemCurrentRatio:
		// v percent exactly: assets = v, liabilities = 100.
		fin.CurrentAssetsYen, fin.CurrentLiabilitiesYen = v, 100
	case ItemYears:
		fin.Years = int(v)
	case ItemEquipment:
		fin.EquipmentYen = v
	}
}

// TestRateEveryBoundary walks every row of every item of every field: at
// its Min (以上) the row's points, one below it (未満) the next row's.
// It is driven by the table, so it holds for the next period's file too.
func TestRateEveryBoundary(t *testing.T) {
	tab := CurrentGradeTables()
	for _, f := range Fields() {
		for item, bands := range tab.Fields[f].Items {
			for i, b := range bands[:len(bands)-1] {
				for _, c := range []struct {
					v    int64
					want int
				}{{*b.Min, b.Points}, {*b.Min - 1, bands[i+1].Points}} {
					if c.v < 0 {
						continue
					}
					fin := gradeTestBase()
					gradeTestSet(&fin, item, c.v)
					r, err := Rate(f, fin)
					if err != nil {
						t.Fatalf("%s/%s %d: %v", f, item, c.v, err)
					}
					if got := r.Points[item]; got != c.want {
						t.Errorf("%s/%s at %d: %d points, want %d", f, item, c.v, got, c.want)
					}
				}
			}
		}
	}
}

// TestGradeCuts checks every grade cut of every field at and below it.
func TestGradeCuts(t *testing.T) {
	tab := CurrentGradeTables()
	for _, f := range Fields() {
		ft := tab.Fields[f]
		for i, g := range ft.Grades {
			if got := ft.grade(g.Min); got != g.Grade {
				t.Errorf("%s total %d: grade %s, want %s", f, g.Min, got, g.Grade)
			}
			if i+1 < len(ft.Grades) {
				if got := ft.grade(g.Min - 1); got != ft.Grades[i+1].Grade {
					t.Errorf("%s total %d: grade %s, want %s", f, g.Min-1, got, ft.Grades[i+1].Grade)
				}
			}
		}
		if got := ft.grade(100); got != GradeA {
			t.Errorf("%s total 100: grade %s", f, got)
		}
	}
}

// TestRateExamples are whole applications computed by hand from
// tables/r07-09.json. The stored copies of the sources hold no worked
// example with figures, so none is cited; these pin the arithmetic.
func TestRateExamples(t *testing.T) {
	for _, tt := range []struct {
		name  string
		field Field
		fin   Financials
		want  Rating
	}{
		{
			name:  "largest manufacturer scores 100",
			field: FieldManufacture,
			fin:   Financials{AverageSalesYen: 30_000_000_000, EquityYen: 2_000_000_000, CurrentAssetsYen: 150, CurrentLiabilitiesYen: 100, Years: 40, EquipmentYen: 1_500_000_000},
			want:  Rating{Field: FieldManufacture, Points: map[string]int{ItemSales: 30, ItemEquity: 20, ItemCurrentRatio: 15, ItemYears: 10, ItemEquipment: 25}, Total: 100, Grade: GradeA},
		},
		{
			name:  "small 須坂市 IT service company",
			field: FieldService,
			fin:   Financials{AverageSalesYen: 300_000_000, EquityYen: 45_000_000, CurrentAssetsYen: 120_000_000, CurrentLiabilitiesYen: 100_000_000, Years: 12},
			want:  Rating{Field: FieldService, Points: map[string]int{ItemSales: 10, ItemEquity: 9, ItemCurrentRatio: 10, ItemYears: 5}, Total: 34, Grade: GradeD},
		},
		{
			name:  "negative equity and no current liabilities",
			field: FieldSale,
			fin:   Financials{AverageSalesYen: 6_000_000_000, EquityYen: -5_000_000, CurrentAssetsYen: 1, Years: 25},
			want:  Rating{Field: FieldSale, Points: map[string]int{ItemSales: 40, ItemEquity: 0, ItemCurrentRatio: 15, ItemYears: 10}, Total: 65, Grade: GradeC},
		},
		{
			name:  "purchase has no grade D",
			field: FieldPurchase,
			fin:   Financials{CurrentLiabilitiesYen: 1},
			want:  Rating{Field: FieldPurchase, Points: map[string]int{ItemSales: 5, ItemEquity: 0, ItemCurrentRatio: 0, ItemYears: 0}, Total: 5, Grade: GradeC},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Rate(tt.field, tt.fin)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("Rate (-want +got):\n%s", d)
			}
		})
	}
}

func TestCurrentRatio(t *testing.T) {
	for _, tt := range []struct {
		assets, liabilities, percent int64
		want                         bool
	}{
		{140, 100, 140, true},
		{13999, 10000, 140, false}, // 139.99% is not 140% (no rounding up)
		{7, 5, 140, true},          // 140.0% exactly from an odd division
		{1, 3, 33, true},           // 33.33…%
		{1, 3, 34, false},
		{0, 0, 0, false},                          // 0 ÷ 0: only the open row
		{1, 0, 1 << 40, true},                     // no liabilities: unbounded
		{math.MaxInt64, math.MaxInt64, 100, true}, // no overflow
		{math.MaxInt64 - 1, math.MaxInt64, 100, false},
	} {
		if got := CurrentRatioAtLeast(tt.assets, tt.liabilities, tt.percent); got != tt.want {
			t.Errorf("CurrentRatioAtLeast(%d, %d, %d) = %v", tt.assets, tt.liabilities, tt.percent, got)
		}
	}
	if got := CurrentRatioPercent(13999, 10000); got != 139.9 {
		t.Errorf("CurrentRatioPercent = %v, want 139.9 (truncated)", got)
	}
	if !math.IsInf(CurrentRatioPercent(1, 0), 1) || !math.IsNaN(CurrentRatioPercent(0, 0)) {
		t.Error("CurrentRatioPercent with no liabilities")
	}
}

func TestRateRefuses(t *testing.T) {
	for _, tt := range []struct {
		name  string
		field Field
		fin   Financials
		want  error
	}{
		{"unknown field", Field("construction"), Financials{}, ErrUnknownField},
		{"empty field", "", Financials{}, ErrUnknownField},
		{"negative sales", FieldSale, Financials{AverageSalesYen: -1}, ErrBadFinancials},
		{"negative assets", FieldSale, Financials{CurrentAssetsYen: -1}, ErrBadFinancials},
		{"negative liabilities", FieldSale, Financials{CurrentLiabilitiesYen: -1}, ErrBadFinancials},
		{"negative years", FieldService, Financials{Years: -1}, ErrBadFinancials},
		{"negative equipment", FieldManufacture, Financials{EquipmentYen: -1}, ErrBadFinancials},
		{"equipment for sale", FieldSale, Financials{EquipmentYen: 1}, ErrEquipmentNotApplicable},
		{"equipment for service", FieldService, Financials{EquipmentYen: 1}, ErrEquipmentNotApplicable},
		{"equipment for purchase", FieldPurchase, Financials{EquipmentYen: 1}, ErrEquipmentNotApplicable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Rate(tt.field, tt.fin)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			ja, en, ok := GradeMessages(err)
			if !ok || ja == "" || en == "" {
				t.Errorf("no messages for %v", err)
			}
		})
	}
	if _, _, ok := GradeMessages(errors.New("other")); ok {
		t.Error("Messages of a foreign error")
	}
}

// TestCovers walks every price band of every field at its ends.
func TestCovers(t *testing.T) {
	tab := CurrentGradeTables()
	for _, f := range Fields() {
		for _, p := range tab.Fields[f].Prices {
			if !p.Grade.Covers(f, p.Min) {
				t.Errorf("%s %s does not cover its Min %d", f, p.Grade, p.Min)
			}
			if p.Min > 0 && p.Grade.Covers(f, p.Min-1) {
				t.Errorf("%s %s covers %d below its Min", f, p.Grade, p.Min-1)
			}
			if p.Below != nil {
				if !p.Grade.Covers(f, *p.Below-1) || p.Grade.Covers(f, *p.Below) {
					t.Errorf("%s %s: wrong upper end %d", f, p.Grade, *p.Below)
				}
			} else if !p.Grade.Covers(f, math.MaxInt64) {
				t.Errorf("%s %s: no upper limit expected", f, p.Grade)
			}
		}
	}
	// The bands cited in tables/r07-09.json "verified": eu-japan.eu
	// (Supplier Classification, 2018) and JAXA 別表1 for manufacture,
	// JAXA 別表1 for sale, service and purchase.
	for _, tt := range []struct {
		g    Grade
		f    Field
		yen  int64
		want bool
	}{
		{GradeA, FieldManufacture, 30_000_000, true},
		{GradeB, FieldManufacture, 29_999_999, true},
		{GradeB, FieldManufacture, 20_000_000, true},
		{GradeB, FieldManufacture, 19_999_999, false},
		{GradeC, FieldManufacture, 19_999_999, true},
		{GradeC, FieldManufacture, 4_000_000, true},
		{GradeD, FieldManufacture, 3_999_999, true},
		{GradeD, FieldManufacture, 4_000_000, false},
		{GradeC, FieldService, 3_000_000, true},
		{GradeD, FieldService, 3_000_000, false},
		{GradeB, FieldSale, 29_999_999, true},
		{GradeA, FieldPurchase, 10_000_000, true},
		{GradeB, FieldPurchase, 9_999_999, true},
		{GradeB, FieldPurchase, 2_000_000, true},
		{GradeC, FieldPurchase, 1_999_999, true},
		{GradeD, FieldPurchase, 1, false},
		{Grade("E"), FieldSale, 1, false},
		{GradeA, Field("x"), 1 << 40, false},
		{GradeD, FieldSale, -1, false},
	} {
		if got := tt.g.Covers(tt.f, tt.yen); got != tt.want {
			t.Errorf("%s.Covers(%s, %d) = %v", tt.g, tt.f, tt.yen, got)
		}
	}
}

func TestTables(t *testing.T) {
	tab := CurrentGradeTables()
	if !strings.Contains(tab.Period, "令和7・8・9年度") || len(tab.Sources) < 2 || tab.Unverified == "" {
		t.Errorf("tables lack period, sources or their caveat: %+v", tab)
	}
	tab.Fields[FieldSale].Grades[0].Min = 0 // a caller's copy …
	if CurrentGradeTables().Fields[FieldSale].Grades[0].Min == 0 {
		t.Error("CurrentGradeTables shares state between callers")
	}
	for _, f := range Fields() {
		ja, en := f.Names()
		if ja == "" || en == "" {
			t.Errorf("%s has no names", f)
		}
	}
	for _, item := range []string{ItemSales, ItemEquity, ItemCurrentRatio, ItemYears, ItemEquipment} {
		if ja, en := ItemNames(item); ja == "" || en == "" {
			t.Errorf("item %s has no names", item)
		}
	}
	for _, tt := range []struct {
		name  string
		spoil func(*GradeTables)
	}{
		{"no period", func(t *GradeTables) { t.Period = "" }},
		{"no sources", func(t *GradeTables) { t.Sources = nil }},
		{"missing field", func(t *GradeTables) { delete(t.Fields, FieldPurchase) }},
		{"equipment outside manufacture", func(t *GradeTables) {
			t.Fields[FieldSale].Items[ItemEquipment] = t.Fields[FieldManufacture].Items[ItemEquipment]
		}},
		{"max not 100", func(t *GradeTables) { t.Fields[FieldService].Items[ItemYears][0].Points = 11 }},
		{"rows out of order", func(t *GradeTables) { b := t.Fields[FieldSale].Items[ItemSales]; b[0], b[1] = b[1], b[0] }},
		{"no open row", func(t *GradeTables) { b := t.Fields[FieldSale].Items[ItemYears]; v := int64(0); b[len(b)-1].Min = &v }},
		{"grade cuts not down to 0", func(t *GradeTables) { g := t.Fields[FieldSale].Grades; g[len(g)-1].Min = 1 }},
		{"price gap", func(t *GradeTables) { p := t.Fields[FieldSale].Prices; v := *p[1].Below + 1; p[1].Below = &v }},
	} {
		tab := CurrentGradeTables()
		tt.spoil(tab)
		b, err := json.Marshal(tab)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseGradeTables(b); err == nil {
			t.Errorf("%s: accepted", tt.name)
		}
	}
	if _, err := ParseGradeTables([]byte("{")); err == nil {
		t.Error("broken JSON accepted")
	}
}
