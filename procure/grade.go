package procure

import (
	"errors"
	"fmt"
)

// PLACEHOLDER on branch proc1 only: task S's procure/grade.go (the scoring
// tables of 全省庁統一資格) replaces this file at the merge. It has exactly
// the declarations of the agreed API; its Rate is a crude stand-in so that
// the register compiles and files ratings, and nothing here is the
// published table.

// Field is one of the four fields (資格の種類) of the unified qualification.
type Field string // "manufacture" 物品の製造, "sale" 物品の販売, "service" 役務の提供等, "purchase" 物品の買受け

// The four fields.
const (
	FieldManufacture Field = "manufacture"
	FieldSale        Field = "sale"
	FieldService     Field = "service"
	FieldPurchase    Field = "purchase"
)

// Grade is a qualification grade (等級), "A" … "D".
type Grade string

// Financials are the items of the application that the score is made of.
type Financials struct {
	AverageSalesYen       int64 // 年間平均(生産・販売)高, the average of the last two years
	EquityYen             int64 // 自己資本額 (純資産合計)
	CurrentAssetsYen      int64
	CurrentLiabilitiesYen int64
	Years                 int   // 営業年数 (満年数)
	EquipmentYen          int64 // 設備の額 (物品の製造 only)
}

// Rating is a field's score and grade.
type Rating struct {
	Field  Field
	Points map[string]int
	Total  int
	Grade  Grade
}

// Rate scores fin for field f. PLACEHOLDER (see the file comment).
func Rate(f Field, fin Financials) (Rating, error) {
	switch f {
	case FieldManufacture, FieldSale, FieldService, FieldPurchase:
	default:
		return Rating{}, fmt.Errorf("procure: unknown field %q", f)
	}
	if fin.AverageSalesYen < 0 || fin.CurrentAssetsYen < 0 || fin.CurrentLiabilitiesYen < 0 || fin.Years < 0 || fin.EquipmentYen < 0 {
		return Rating{}, errors.New("procure: negative financial item")
	}
	p := map[string]int{"sales": min(int(fin.AverageSalesYen/100_000_000), 60), "years": min(fin.Years, 10)}
	total := p["sales"] + p["years"]
	g := Grade("D")
	switch {
	case total >= 60:
		g = "A"
	case total >= 40:
		g = "B"
	case total >= 20:
		g = "C"
	}
	return Rating{Field: f, Points: p, Total: total, Grade: g}, nil
}

// Covers reports whether a business of grade g may bid on a tender of this
// estimate. PLACEHOLDER (see the file comment).
func (g Grade) Covers(f Field, estimateYen int64) bool { return g != "" }
