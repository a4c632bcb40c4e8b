package procureagent

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/procure"
)

// TestParse: the form becomes the application the agent signs; a field's
// items count only when the field is ticked, and a number that is not one
// is refused by the application's own check rather than read as zero. The
// corporation is not read from the form: it is the picked power's.
func TestParse(t *testing.T) {
	form := func(v url.Values) procure.Application {
		r := httptest.NewRequest("POST", "/procure/agent/apply", strings.NewReader(v.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if err := r.ParseForm(); err != nil {
			t.Fatal(err)
		}
		return parse(r)
	}
	base := url.Values{"corp": {"1100001900005"}, "power": {" p1234567890abcdef "}, "kind": {"new"}, "founded": {"1998-04-01"},
		"field": {"service"}, "items_service": {"情報処理"}, "items_sale": {"図書類"}, "region": {"関東・甲信越"},
		"sales": {"450,000,000"}, "equity": {"1"}, "assets": {"2"}, "liabilities": {"3"}, "years": {"27"}, "equipment": {"0"}, "tax": {"yes"}}
	got := form(base)
	want := procure.Application{PowerID: "p1234567890abcdef", Kind: procure.KindNew, Founded: "1998-04-01",
		Fields: []procure.FieldItems{{Field: procure.FieldService, Items: []string{"情報処理"}}}, Regions: []string{"関東・甲信越"},
		Financials:  procure.FinancialItems{AverageSalesYen: 450_000_000, EquityYen: 1, CurrentAssetsYen: 2, CurrentLiabilitiesYen: 3, Years: 27},
		TaxDeclared: true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parse (-want +got):\n%s", diff)
	}
	got.CorporateNumber = "1100001900005" // apply takes it from the picked power, not the form
	if _, err := got.Canonical(); err != nil {
		t.Errorf("the parsed application: %v", err)
	}
	for _, tt := range []struct {
		name string
		edit func(v url.Values)
		want procure.Reason
	}{
		{"sales not a number", func(v url.Values) { v.Set("sales", "たくさん") }, procure.ReasonInvalid},
		{"no tax declaration", func(v url.Values) { v.Del("tax") }, procure.ReasonTax},
		{"no field ticked", func(v url.Values) { v.Del("field") }, procure.ReasonInvalid},
	} {
		v := url.Values{}
		for k, vs := range base {
			v[k] = append([]string(nil), vs...)
		}
		tt.edit(v)
		a := form(v)
		a.CorporateNumber = "1100001900005"
		if _, err := a.Canonical(); procure.ReasonOf(err) != tt.want {
			t.Errorf("%s: %v, want %s", tt.name, err, tt.want)
		}
	}
}
