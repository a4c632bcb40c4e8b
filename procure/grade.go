package procure

// The grade of the unified qualification (全省庁統一資格, 競争参加資格):
// a score out of 100 from the business's financials, and from it a grade
// A–D per field, which limits the estimated price (予定価格) of the tenders
// the business may bid for. The tables are data (tables/*.json, embedded):
// each carries the period it is for and its sources, so that the next
// period's tables replace the file and not the code.

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"sort"
)

// Field is one of the four fields of the unified qualification.
type Field string

// The four fields (物品の製造, 物品の販売, 役務の提供等, 物品の買受け).
const (
	FieldManufacture Field = "manufacture"
	FieldSale        Field = "sale"
	FieldService     Field = "service"
	FieldPurchase    Field = "purchase"
)

// Fields lists the fields in the order of the application form.
func Fields() []Field { return []Field{FieldManufacture, FieldSale, FieldService, FieldPurchase} }

// Names returns the field's name in Japanese and in English; "" for an
// unknown field.
func (f Field) Names() (ja, en string) {
	switch f {
	case FieldManufacture:
		return "物品の製造", "Manufacture of goods"
	case FieldSale:
		return "物品の販売", "Sale of goods"
	case FieldService:
		return "役務の提供等", "Provision of services"
	case FieldPurchase:
		return "物品の買受け", "Purchase of goods from the government"
	}
	return "", ""
}

// Valid reports whether f is one of the four fields.
func (f Field) Valid() bool { ja, _ := f.Names(); return ja != "" }

// Grade is a qualification grade, "A" (largest) to "D".
type Grade string

// The grades. 物品の買受け has A–C only.
const (
	GradeA Grade = "A"
	GradeB Grade = "B"
	GradeC Grade = "C"
	GradeD Grade = "D"
)

// The items of the score, the keys of Rating.Points.
const (
	ItemSales        = "sales"         // ① 年間平均(生産・販売)高
	ItemEquity       = "equity"        // ② 自己資本額の合計
	ItemCurrentRatio = "current_ratio" // ③ 流動比率
	ItemYears        = "years"         // ④ 営業年数
	ItemEquipment    = "equipment"     // ⑤ 設備の額 (物品の製造 only)
)

// ItemNames returns an item's name in Japanese and in English.
func ItemNames(item string) (ja, en string) {
	switch item {
	case ItemSales:
		return "年間平均(生産・販売)高", "Average annual sales (last two years)"
	case ItemEquity:
		return "自己資本額の合計", "Equity (total net assets)"
	case ItemCurrentRatio:
		return "流動比率", "Current ratio"
	case ItemYears:
		return "営業年数", "Years in business"
	case ItemEquipment:
		return "設備の額", "Equipment"
	}
	return "", ""
}

// Financials are the figures of an application, in yen.
type Financials struct {
	AverageSalesYen       int64 // 年間平均(生産・販売)高, the average of the last two years
	EquityYen             int64 // 自己資本額 (純資産合計); may be negative (債務超過)
	CurrentAssetsYen      int64
	CurrentLiabilitiesYen int64
	Years                 int   // 営業年数 (満年数)
	EquipmentYen          int64 // 設備の額 (物品の製造 only)
}

// Rating is the score of one field.
type Rating struct {
	Field  Field
	Points map[string]int
	Total  int
	Grade  Grade
}

// The refusals of Rate and Covers.
var (
	ErrUnknownField = errors.New("procure: unknown field")
	// ErrBadFinancials: a figure that cannot be (negative sales, assets,
	// liabilities, equipment or years).
	ErrBadFinancials = errors.New("procure: impossible financial figure")
	// ErrEquipmentNotApplicable: equipment is scored for 物品の製造 only;
	// a figure given for another field means the form was filled for the
	// wrong field, so it is refused rather than silently ignored.
	ErrEquipmentNotApplicable = errors.New("procure: equipment is scored for manufacture only")
)

// GradeBand is one row of an item's table: from Min (以上) up to the next
// row's Min (未満). The last row has no Min and takes everything below.
type GradeBand struct {
	Min    *int64 `json:"min,omitempty"`
	Points int    `json:"points"`
}

// GradeCut is the lowest total (以上) of a grade.
type GradeCut struct {
	Grade Grade `json:"grade"`
	Min   int   `json:"min"`
}

// PriceBand is the 予定価格 a grade may bid for: Min 以上, Below 未満
// (no Below: no upper limit).
type PriceBand struct {
	Grade Grade  `json:"grade"`
	Min   int64  `json:"min"`
	Below *int64 `json:"below,omitempty"`
}

// GradeFieldTable is the table of one field.
type GradeFieldTable struct {
	Items  map[string][]GradeBand `json:"items"`
	Grades []GradeCut             `json:"grades"`
	Prices []PriceBand            `json:"prices"`
}

// GradeTables are the grading tables of one period.
type GradeTables struct {
	Period     string                     `json:"period"`
	Sources    []string                   `json:"sources"`
	Verified   []string                   `json:"verified"`
	Unverified string                     `json:"unverified"`
	Fields     map[Field]*GradeFieldTable `json:"fields"`
}

//go:embed tables/r07-09.json
var gradeTablesFS embed.FS

// CurrentGradeTables returns the tables of the current period (令和7・8・9年度),
// parsed anew on each call so that no caller can change another's copy.
func CurrentGradeTables() *GradeTables {
	b, err := gradeTablesFS.ReadFile("tables/r07-09.json")
	if err != nil {
		panic(err) // embedded: cannot happen
	}
	t, err := ParseGradeTables(b)
	if err != nil {
		panic(err) // checked by the tests
	}
	return t
}

// ParseGradeTables reads and checks a period's tables: four fields, bands in
// descending order ending in an open row, grade cuts descending to 0, and
// price bands that tile [0, ∞).
func ParseGradeTables(b []byte) (*GradeTables, error) {
	var t GradeTables
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("procure: tables: %w", err)
	}
	if t.Period == "" || len(t.Sources) == 0 {
		return nil, errors.New("procure: tables without period or sources")
	}
	for _, f := range Fields() {
		ft := t.Fields[f]
		if ft == nil {
			return nil, fmt.Errorf("procure: tables: no field %q", f)
		}
		want := []string{ItemSales, ItemEquity, ItemCurrentRatio, ItemYears}
		if f == FieldManufacture {
			want = append(want, ItemEquipment)
		}
		if len(ft.Items) != len(want) {
			return nil, fmt.Errorf("procure: tables: field %q has %d items, want %d", f, len(ft.Items), len(want))
		}
		top := 0
		for _, item := range want {
			bands := ft.Items[item]
			if len(bands) < 2 || bands[len(bands)-1].Min != nil {
				return nil, fmt.Errorf("procure: tables: %s/%s must end in an open row", f, item)
			}
			for i := 0; i < len(bands)-1; i++ {
				if bands[i].Min == nil || (i > 0 && *bands[i].Min >= *bands[i-1].Min) || bands[i].Points < bands[i+1].Points {
					return nil, fmt.Errorf("procure: tables: %s/%s rows out of order", f, item)
				}
			}
			top += bands[0].Points
		}
		if top != 100 {
			return nil, fmt.Errorf("procure: tables: field %q scores up to %d, not 100", f, top)
		}
		if len(ft.Grades) == 0 || ft.Grades[len(ft.Grades)-1].Min != 0 ||
			!sort.SliceIsSorted(ft.Grades, func(i, j int) bool { return ft.Grades[i].Min > ft.Grades[j].Min }) {
			return nil, fmt.Errorf("procure: tables: field %q grade cuts must descend to 0", f)
		}
		if len(ft.Prices) != len(ft.Grades) || ft.Prices[0].Below != nil || ft.Prices[len(ft.Prices)-1].Min != 0 {
			return nil, fmt.Errorf("procure: tables: field %q price bands must tile [0, ∞)", f)
		}
		for i, p := range ft.Prices {
			if p.Grade != ft.Grades[i].Grade || (i > 0 && (p.Below == nil || *p.Below != ft.Prices[i-1].Min)) {
				return nil, fmt.Errorf("procure: tables: field %q price bands must tile [0, ∞) in grade order", f)
			}
		}
	}
	return &t, nil
}

// Rate scores fin in field f with the current period's tables.
func Rate(f Field, fin Financials) (Rating, error) { return CurrentGradeTables().Rate(f, fin) }

// Rate scores fin in field f with these tables.
func (t *GradeTables) Rate(f Field, fin Financials) (Rating, error) {
	ft := t.Fields[f]
	if !f.Valid() || ft == nil {
		return Rating{}, fmt.Errorf("%w: %q", ErrUnknownField, f)
	}
	switch {
	case fin.AverageSalesYen < 0:
		return Rating{}, fmt.Errorf("%w: negative sales", ErrBadFinancials)
	case fin.CurrentAssetsYen < 0 || fin.CurrentLiabilitiesYen < 0:
		return Rating{}, fmt.Errorf("%w: negative current assets or liabilities", ErrBadFinancials)
	case fin.Years < 0:
		return Rating{}, fmt.Errorf("%w: negative years in business", ErrBadFinancials)
	case fin.EquipmentYen < 0:
		return Rating{}, fmt.Errorf("%w: negative equipment", ErrBadFinancials)
	case fin.EquipmentYen != 0 && f != FieldManufacture:
		return Rating{}, fmt.Errorf("%w (field %q)", ErrEquipmentNotApplicable, f)
	}
	r := Rating{Field: f, Points: map[string]int{}}
	add := func(item string, p int) { r.Points[item] = p; r.Total += p }
	add(ItemSales, gradeLookup(ft.Items[ItemSales], func(min int64) bool { return fin.AverageSalesYen >= min }))
	// Negative equity (債務超過) simply falls in the lowest row.
	add(ItemEquity, gradeLookup(ft.Items[ItemEquity], func(min int64) bool { return fin.EquityYen >= min }))
	add(ItemCurrentRatio, gradeLookup(ft.Items[ItemCurrentRatio], func(min int64) bool {
		return CurrentRatioAtLeast(fin.CurrentAssetsYen, fin.CurrentLiabilitiesYen, min)
	}))
	add(ItemYears, gradeLookup(ft.Items[ItemYears], func(min int64) bool { return int64(fin.Years) >= min }))
	if f == FieldManufacture {
		add(ItemEquipment, gradeLookup(ft.Items[ItemEquipment], func(min int64) bool { return fin.EquipmentYen >= min }))
	}
	r.Grade = ft.grade(r.Total)
	return r, nil
}

// grade is the grade of a total: the first cut it reaches.
func (ft *GradeFieldTable) grade(total int) Grade {
	for _, g := range ft.Grades {
		if total >= g.Min {
			return g.Grade
		}
	}
	return ft.Grades[len(ft.Grades)-1].Grade
}

// lookup returns the points of the first row whose Min the value reaches.
func gradeLookup(bands []GradeBand, atLeast func(min int64) bool) int {
	for _, b := range bands {
		if b.Min == nil || atLeast(*b.Min) {
			return b.Points
		}
	}
	return 0
}

// CurrentRatioAtLeast reports whether 流動資産 ÷ 流動負債 × 100 ≥ percent,
// compared exactly (in integers, without rounding): 139.99…% is below 140%.
// Because the table's limits are whole percents this is the same as
// truncating the ratio to any number of decimals, and never the same as
// rounding it up. With no current liabilities the ratio is unbounded: any
// positive current assets reach every row; 0 ÷ 0 reaches none but the open
// last row (nothing shows the business can pay).
func CurrentRatioAtLeast(assets, liabilities, percent int64) bool {
	if liabilities == 0 {
		return assets > 0
	}
	// assets*100 >= percent*liabilities, in big integers: yen amounts
	// times 100 can exceed int64.
	l := new(big.Int).Mul(big.NewInt(assets), big.NewInt(100))
	r := new(big.Int).Mul(big.NewInt(percent), big.NewInt(liabilities))
	return l.Cmp(r) >= 0
}

// CurrentRatioPercent is the ratio for display, truncated to one decimal
// (e.g. 139.9); +Inf with no liabilities and assets, NaN for 0 ÷ 0.
func CurrentRatioPercent(assets, liabilities int64) float64 {
	if liabilities == 0 {
		if assets > 0 {
			return math.Inf(1)
		}
		return math.NaN()
	}
	q := new(big.Int).Quo(new(big.Int).Mul(big.NewInt(assets), big.NewInt(1000)), big.NewInt(liabilities))
	f, _ := new(big.Float).SetInt(q).Float64()
	return f / 10
}

// Covers reports whether a business of grade g in field f may bid for a
// tender whose estimated price is estimateYen: the price must lie in the
// grade's published band (Min 以上, Below 未満). Unknown fields or grades,
// and negative prices, are covered by nothing.
func (g Grade) Covers(f Field, estimateYen int64) bool {
	return CurrentGradeTables().Covers(g, f, estimateYen)
}

// Covers is Grade.Covers with these tables.
func (t *GradeTables) Covers(g Grade, f Field, estimateYen int64) bool {
	ft := t.Fields[f]
	if ft == nil || estimateYen < 0 {
		return false
	}
	for _, p := range ft.Prices {
		if p.Grade == g {
			return estimateYen >= p.Min && (p.Below == nil || estimateYen < *p.Below)
		}
	}
	return false
}

// GradeMessages returns what to tell a person about a refusal of Rate, in
// Japanese and English; ok is false for an error that is not one of them.
func GradeMessages(err error) (ja, en string, ok bool) {
	switch {
	case errors.Is(err, ErrUnknownField):
		return "申請区分が正しくありません(物品の製造・物品の販売・役務の提供等・物品の買受けのいずれかです)。",
			"Unknown field: it must be manufacture, sale, service or purchase of goods.", true
	case errors.Is(err, ErrEquipmentNotApplicable):
		return "設備の額は「物品の製造」の申請にのみ記入します。",
			"Equipment is entered for the manufacture of goods only.", true
	case errors.Is(err, ErrBadFinancials):
		return "売上高・流動資産・流動負債・設備の額・営業年数に負の値は記入できません。",
			"Sales, current assets, current liabilities, equipment and years in business cannot be negative.", true
	}
	return "", "", false
}
