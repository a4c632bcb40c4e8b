package procure

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mynaplat/mynaplat/corpreg"
)

// The matters (委任事項) of a power of attorney that procurement knows:
// the strings the representative writes into a power, and the register
// and the procuring bodies ask delegation.Check about.
const (
	MatterQualify  = "競争参加資格申請" // the qualification application, its corrections and renewals
	MatterBid      = "入札"       // bids
	MatterContract = "契約"       // the contract's signature and its steps
	MatterInvoice  = "請求"       // the invoice
)

// Matters are the four, in the order a form lists them.
var Matters = []string{MatterQualify, MatterBid, MatterContract, MatterInvoice}

// applicationType is the "type" member of the signed JSON: it keeps an
// application from being taken for another signed procurement document.
const applicationType = "mynaplat-procure-application/1"

// Kind is a new application or a renewal (更新).
type Kind string

// The kinds of application.
const (
	KindNew     Kind = "new"
	KindRenewal Kind = "renewal"
)

// Items are the 営業品目 the register offers per field: a subset of the
// published list of 71, enough for the demo and the tests.
var Items = map[Field][]string{
	FieldManufacture: {"衣服・その他繊維製品類", "非鉄金属・金属製品類", "その他印刷類", "家具・什器類", "電気・通信用機器類", "電子計算機類", "事務用品類"},
	FieldSale:        {"衣服・その他繊維製品類", "図書類", "家具・什器類", "電気・通信用機器類", "電子計算機類", "事務用機器類", "事務用品類", "燃料類"},
	FieldService:     {"広告・宣伝", "写真・製図", "調査・研究", "情報処理", "翻訳・通訳・速記", "ソフトウェア開発", "会場等の借り上げ", "建物管理等各種保守管理", "運送", "車両整備", "船舶整備", "電子出版", "防衛用装備品類の整備", "その他"},
	FieldPurchase:    {"立木竹", "その他"},
}

// Regions are the eight regions (競争参加地域) of the unified qualification.
var Regions = []string{"北海道", "東北", "関東・甲信越", "東海・北陸", "近畿", "中国", "四国", "九州・沖縄"}

// FieldItems are the 営業品目 applied for in one field.
type FieldItems struct {
	Field Field    `json:"field"`
	Items []string `json:"items"`
}

// FinancialItems are Financials as the application states them: whole
// yen and whole years.
type FinancialItems struct {
	AverageSalesYen       int64 `json:"average_sales_yen"`
	EquityYen             int64 `json:"equity_yen"`
	CurrentAssetsYen      int64 `json:"current_assets_yen"`
	CurrentLiabilitiesYen int64 `json:"current_liabilities_yen"`
	Years                 int   `json:"years"`
	EquipmentYen          int64 `json:"equipment_yen"`
}

// Financials is what Rate takes for field: the equipment counts for 物品の
// 製造 only (Rate refuses it for another field, ErrEquipmentNotApplicable).
func (f FinancialItems) Financials(field Field) Financials {
	// Not a conversion: grade.go's Financials is task S's, and may differ
	// in tags or grow fields.
	var fin Financials
	fin.AverageSalesYen, fin.EquityYen, fin.CurrentAssetsYen = f.AverageSalesYen, f.EquityYen, f.CurrentAssetsYen
	fin.CurrentLiabilitiesYen, fin.Years = f.CurrentLiabilitiesYen, f.Years
	if field == FieldManufacture {
		fin.EquipmentYen = f.EquipmentYen
	}
	return fin
}

// Application is what the agent signs: one application for one
// corporation, new or a renewal, naming the power it is signed under.
type Application struct {
	CorporateNumber string `json:"corporate_number"`
	// PowerID names the registered 電子委任状 the agent signs under.
	PowerID string `json:"power_id"`
	Kind    Kind   `json:"kind"`
	// Founded is the 設立年月日, YYYY-MM-DD.
	Founded    string         `json:"founded"`
	Fields     []FieldItems   `json:"fields"`
	Regions    []string       `json:"regions"`
	Financials FinancialItems `json:"financials"`
	// TaxDeclared is the declaration that no national tax is unpaid
	// (未納の税額がないこと).
	TaxDeclared bool `json:"tax_declared"`
}

type applicationJSON struct {
	Type string `json:"type"`
	Application
}

// Limits of an application.
const (
	maxApplication = 64 << 10
	maxText        = 200
)

// normalize sorts what has no order (fields in Fields' order, items and
// regions in the catalogue's) and drops duplicates.
func (a *Application) normalize() {
	byCatalogue := func(list []string) func(x, y string) int {
		return func(x, y string) int { return slices.Index(list, x) - slices.Index(list, y) }
	}
	slices.SortStableFunc(a.Fields, func(x, y FieldItems) int { return slices.Index(Fields(), x.Field) - slices.Index(Fields(), y.Field) })
	a.Fields = slices.CompactFunc(a.Fields, func(x, y FieldItems) bool { return x.Field == y.Field })
	for i := range a.Fields {
		slices.SortStableFunc(a.Fields[i].Items, byCatalogue(Items[a.Fields[i].Field]))
		a.Fields[i].Items = slices.Compact(a.Fields[i].Items)
	}
	slices.SortStableFunc(a.Regions, byCatalogue(Regions))
	a.Regions = slices.Compact(a.Regions)
}

// Validate reports what is wrong with the application's entries, as an
// error wrapping ErrRefused with reason ReasonInvalid (or ReasonTax for a
// missing tax declaration).
func (a *Application) Validate() error {
	bad := func(format string, args ...any) error {
		return refuse(ReasonInvalid, fmt.Sprintf(format, args...))
	}
	if err := corpreg.ValidNumber(a.CorporateNumber); err != nil {
		return bad("corporate number: %v", err)
	}
	if a.PowerID == "" || len(a.PowerID) > 64 || strings.ContainsFunc(a.PowerID, func(r rune) bool {
		return !(r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_'))
	}) {
		return bad("the power ID is missing or malformed")
	}
	if a.Kind != KindNew && a.Kind != KindRenewal {
		return bad("kind must be new or renewal")
	}
	if _, err := time.Parse(time.DateOnly, a.Founded); err != nil {
		return bad("founded must be YYYY-MM-DD")
	}
	if len(a.Fields) == 0 {
		return bad("no field applied for")
	}
	for _, f := range a.Fields {
		items, ok := Items[f.Field]
		if !ok {
			return bad("unknown field %q", f.Field)
		}
		if len(f.Items) == 0 {
			return bad("no item in field %s", f.Field)
		}
		for _, it := range f.Items {
			if !slices.Contains(items, it) {
				return bad("%q is not an item of field %s", it, f.Field)
			}
		}
	}
	if len(a.Regions) == 0 {
		return bad("no region")
	}
	for _, r := range a.Regions {
		if !slices.Contains(Regions, r) {
			return bad("unknown region %q", r)
		}
	}
	f := a.Financials
	if f.AverageSalesYen < 0 || f.CurrentAssetsYen < 0 || f.CurrentLiabilitiesYen < 0 || f.EquipmentYen < 0 || f.Years < 0 || f.Years > 1000 {
		return bad("a financial item is out of range")
	}
	if !a.TaxDeclared {
		return refuse(ReasonTax, "")
	}
	return nil
}

// Canonical returns the application's signed form: JSON with a "type"
// member first, the members in a fixed order, lists in the catalogue's
// order without duplicates, no insignificant space. It normalizes a in
// place and refuses an application Validate refuses.
func (a *Application) Canonical() ([]byte, error) {
	a.normalize()
	if err := a.Validate(); err != nil {
		return nil, err
	}
	return json.Marshal(applicationJSON{Type: applicationType, Application: *a})
}

// ParseApplication reads an application's signed form. It accepts only the
// canonical form, so one application has one byte string.
func ParseApplication(b []byte) (*Application, error) {
	if len(b) > maxApplication {
		return nil, refuse(ReasonInvalid, "the application is too long")
	}
	var w applicationJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil || dec.More() {
		return nil, refuse(ReasonInvalid, "the signed content is not an application")
	}
	if w.Type != applicationType {
		return nil, refuse(ReasonInvalid, "the signed content is not an application")
	}
	a := w.Application
	c, err := a.Canonical()
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(c, b) {
		return nil, refuse(ReasonInvalid, "the application is not in canonical form")
	}
	return &a, nil
}
