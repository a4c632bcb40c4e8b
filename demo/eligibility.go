package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/mynaplat/mynaplat/cardco"
	"github.com/mynaplat/mynaplat/demo/people"
	"github.com/mynaplat/mynaplat/eligibility"
	"github.com/mynaplat/mynaplat/internal/layout"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/reception"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/wareki"
)

// The eligibility part of the demo world: the 酒田市 pilot's hospital with a
// reception and a mobile terminal, the insurers of the demo residents and
// their coverage, and the card company.

// Facility is the demo hospital (a made-up 医療機関コード: prefecture 06,
// 医科 1).
const (
	FacilityCode = "0611000019"
	FacilityName = "日本海総合病院"
)

// Stations are the hospital's terminals.
var Stations = []platform.Terminal{
	{ID: "reception-nihonkai-1", Kind: platform.Reception, Owner: FacilityName, Name: "日本海総合病院 1階 総合受付"},
	{ID: "mobile-nihonkai-1", Kind: platform.Mobile, Owner: FacilityName, Name: "日本海総合病院 訪問診療タブレット"},
}

// DemoInsurer is an insurer of the demo world (made-up numbers of the
// right shapes: 8 digits, or 6 for a 国保).
type DemoInsurer struct{ Number, Name string }

// Insurers are the demo insurers.
var Insurers = []DemoInsurer{
	{"06230012", "酒田健康保険組合"},
	{"01060011", "全国健康保険協会 山形支部"},
	{"060046", "酒田市国民健康保険"},
	{"01200015", "全国健康保険協会 長野支部"},
	{"01100013", "全国健康保険協会 群馬支部"},
	{"39162013", "富山県後期高齢者医療広域連合"},
	{"39312013", "鳥取県後期高齢者医療広域連合"},
	{"39362010", "徳島県後期高齢者医療広域連合"},
	{"310391", "南部町国民健康保険"},
}

// coverage is a demo coverage of a resident (by name).
type coverage struct {
	resident         string
	insurer          string
	symbol, number   string
	branch, relation string
	copay            int
	limit            string
	acquired, lost   string
	// person overrides the resident's attributes (a namesake).
	person *eligibility.Person
}

func coverages() []coverage {
	namesake := eligibility.Person{Name: "酒田　一郎", Kana: "サカタ　イチロウ", Sex: 1, Address: "山形県酒田市中町三丁目１番１号"}
	return []coverage{
		// 酒田 一郎 changed jobs in 2021: the old coverage ended, the new one
		// started the same day.
		{resident: "酒田　一郎", insurer: "01060011", symbol: "1234", number: "56", branch: "00", relation: "self", copay: 30, acquired: "1998-04-01", lost: "2021-04-01"},
		{resident: "酒田　一郎", insurer: "06230012", symbol: "81", number: "1007", branch: "00", relation: "self", copay: 30, limit: "ウ", acquired: "2021-04-01"},
		// Another 酒田 一郎, born the same day, living elsewhere in the city:
		// his record must never be linked to the demo resident's card (the
		// five-attribute rule sends it to the clerk's queue).
		{resident: "酒田　一郎", person: &namesake, insurer: "060046", symbol: "酒田", number: "5001", branch: "00", relation: "self", copay: 30, acquired: "2015-04-01"},
		{resident: "本間　光", insurer: "060046", symbol: "酒田", number: "2222", branch: "00", relation: "self", copay: 30, acquired: "2010-04-01"},
		{resident: "鳥海　誠", insurer: "060046", symbol: "酒田", number: "3333", branch: "00", relation: "self", copay: 30, acquired: "2020-02-01"},
		// 日本生命's employee at its 酒田 office, insured since she joined.
		{resident: "酒井　由美", insurer: "01060011", symbol: "5150", number: "88", branch: "00", relation: "self", copay: 30, acquired: "2008-04-01"},
		{resident: "飛島　悟", insurer: "060046", symbol: "酒田", number: "4444", branch: "00", relation: "self", copay: 30, acquired: "2018-11-01"},
		{resident: "須坂　健太", insurer: "01200015", symbol: "2020", number: "77", branch: "00", relation: "self", copay: 30, acquired: "2001-04-01"},
		{resident: "須坂　花子", insurer: "01200015", symbol: "2020", number: "77", branch: "01", relation: "family", copay: 30, acquired: "2008-06-01"},
		{resident: "須坂　陽菜", insurer: "01200015", symbol: "2020", number: "77", branch: "02", relation: "family", copay: 30, acquired: "2014-09-01"},
		{resident: "前橋　美咲", insurer: "01100013", symbol: "3131", number: "9", branch: "00", relation: "self", copay: 30, acquired: "2015-04-01"},
		{resident: "前橋　蓮", insurer: "01100013", symbol: "3131", number: "9", branch: "01", relation: "family", copay: 20, acquired: "2023-01-15"},
		{resident: "井波　清", insurer: "39162013", symbol: "", number: "16000123", branch: "00", relation: "self", copay: 10, acquired: "2016-03-03"},
		{resident: "法勝寺　トメ", insurer: "39312013", symbol: "", number: "31000456", branch: "00", relation: "self", copay: 10, limit: "区Ⅱ", acquired: "2011-11-11"},
		// A grandchild cannot be the dependant of a 後期高齢者: 南部 翔 is in
		// the town's 国保.
		{resident: "南部　翔", insurer: "310391", symbol: "南部", number: "6789", branch: "00", relation: "self", copay: 30, acquired: "2016-04-20"},
		{resident: "日和佐　正", insurer: "39362010", symbol: "", number: "36000789", branch: "00", relation: "self", copay: 20, acquired: "2025-08-15"},
	}
}

// Keys are the demo's back-office credentials, written to
// <data>/eligibility/demo-keys.json (mode 0600) and shown on /demo: in the
// demo anyone may log in as the hospital or an insurer.
type Keys struct {
	Facility struct{ Code, Name, Key string }
	Insurers []struct{ Number, Name, Key string }
	// CardCoMerchant is the platform's key at the card company.
	CardCoMerchant string
	// TestPANs are made-up card numbers (with their Luhn digit) to enrol.
	TestPANs []string
}

// PayTerminal is the resident's own phone, through which /pay/ links a
// credit card (its configuration is in <data>/eligibility/terminal).
var PayTerminal = platform.Terminal{ID: layout.PayTerminalID, Kind: platform.Mobile, Owner: "自宅", Name: "自宅のスマートフォン（マイナポータル）"}

// EligibilityConfig holds what seeding the eligibility part needs.
type EligibilityConfig struct {
	DB       *store.DB
	Service  *eligibility.Service
	Platform *platform.Platform
	CardCo   *cardco.Company // nil when the card company runs elsewhere
	DataDir  string
	Now      func() time.Time
}

// KeysPath is where the demo keys are kept.
func KeysPath(dataDir string) string { return layout.KeysPath(dataDir) }

// SeedEligibility seeds the eligibility part once.
func SeedEligibility(ctx context.Context, cfg EligibilityConfig) (bool, error) {
	claimed, release, err := claimPart(ctx, cfg.DB, "eligibility", cfg.Now)
	if err != nil || !claimed {
		return false, err
	}
	ok := false
	defer func() { release(ok) }()
	var keys Keys
	for _, in := range Insurers {
		k, err := cfg.Service.AddInsurer(ctx, in.Number, in.Name)
		if err != nil {
			return false, err
		}
		keys.Insurers = append(keys.Insurers, struct{ Number, Name, Key string }{in.Number, in.Name, k})
	}
	for _, c := range coverages() {
		r, ok := people.Named(c.resident)
		if !ok {
			return false, fmt.Errorf("demo: coverage of %s, who is not a demo resident", c.resident)
		}
		birth, err := time.ParseInLocation(time.DateOnly, r.Birth, wareki.JST())
		if err != nil {
			return false, err
		}
		p := eligibility.Person{Name: r.Name, Kana: r.Kana, BirthDate: birth, Sex: int(r.Sex), Address: r.Address}
		if c.person != nil {
			p = *c.person
			p.BirthDate = birth
		}
		in := eligibility.Insured{Insurer: c.insurer, Symbol: c.symbol, Number: c.number, Branch: c.branch, Relation: c.relation,
			Person: p, CopayPercent: c.copay, LimitCategory: c.limit}
		if in.AcquiredOn, err = time.ParseInLocation(time.DateOnly, c.acquired, wareki.JST()); err != nil {
			return false, err
		}
		if c.lost != "" {
			if in.LostOn, err = time.ParseInLocation(time.DateOnly, c.lost, wareki.JST()); err != nil {
				return false, err
			}
		}
		if _, err := cfg.Service.AddInsured(ctx, in); err != nil {
			return false, fmt.Errorf("demo: coverage of %s: %w", c.resident, err)
		}
	}
	fkey, err := cfg.Service.AddFacility(ctx, FacilityCode, FacilityName)
	if err != nil {
		return false, err
	}
	keys.Facility.Code, keys.Facility.Name, keys.Facility.Key = FacilityCode, FacilityName, fkey
	for _, t := range Stations {
		tkey, err := cfg.Platform.RegisterTerminal(ctx, t)
		if err != nil {
			return false, fmt.Errorf("demo: terminal %s: %w", t.ID, err)
		}
		if err := cfg.Service.AddFacilityTerminal(ctx, FacilityCode, t.ID); err != nil {
			return false, err
		}
		sc := reception.StationConfig{Terminal: terminal.Config{ID: t.ID, Kind: t.Kind, Owner: t.Owner, Name: t.Name, Key: tkey, Reader: "virtual"},
			Facility: FacilityCode, FacilityName: FacilityName, FacilityKey: fkey}
		if err := reception.SaveStationConfig(layout.StationsDir(cfg.DataDir), sc); err != nil {
			return false, err
		}
	}
	if cfg.CardCo != nil {
		_, mkey, err := cfg.CardCo.AddMerchant(ctx, "mynaplat 医療費カード払い")
		if err != nil {
			return false, err
		}
		keys.CardCoMerchant = mkey
		// Test card numbers a resident can enrol on /pay/ (the card company
		// opens an account for a number it does not know).
		keys.TestPANs = []string{luhn("498000123456000"), luhn("498000123456001")}
	}
	pt := PayTerminal
	tkey, err := cfg.Platform.RegisterTerminal(ctx, pt)
	if err != nil {
		return false, fmt.Errorf("demo: terminal %s: %w", pt.ID, err)
	}
	if err := terminal.SaveConfig(layout.PayTerminalDir(cfg.DataDir), terminal.Config{ID: pt.ID, Kind: pt.Kind, Owner: pt.Owner,
		Name: pt.Name, Key: tkey, Reader: "virtual"}); err != nil {
		return false, err
	}
	b, err := json.MarshalIndent(keys, "", "  ")
	if err != nil {
		return false, err
	}
	if err := os.MkdirAll(filepath.Dir(KeysPath(cfg.DataDir)), 0o700); err != nil {
		return false, err
	}
	if err := os.WriteFile(KeysPath(cfg.DataDir), b, 0o600); err != nil {
		return false, err
	}
	ok = true
	return true, nil
}

// claimPart claims the seeding of a once-only part of the demo world:
// false when it was seeded before. release(false) gives the claim back (the
// seeding failed, so the next start tries again).
func claimPart(ctx context.Context, db *store.DB, name string, now func() time.Time) (bool, func(done bool), error) {
	mfs, err := subMigrations()
	if err != nil {
		return false, nil, err
	}
	if err := db.Migrate(ctx, "demo", mfs); err != nil {
		return false, nil, err
	}
	_, err = db.Write(ctx, `INSERT INTO demo_parts (name, seeded_at) VALUES ($1, $2)`, name, now().Unix())
	if store.IsUniqueViolation(err) {
		return false, nil, nil
	}
	if err != nil {
		return false, nil, fmt.Errorf("demo: claim seeding of %s: %w", name, err)
	}
	return true, func(done bool) {
		if !done {
			db.Write(context.WithoutCancel(ctx), `DELETE FROM demo_parts WHERE name = $1`, name)
		}
	}, nil
}

// LoadKeys reads the demo keys, if the eligibility part was seeded here.
func LoadKeys(dataDir string) (*Keys, error) {
	b, err := os.ReadFile(KeysPath(dataDir))
	if err != nil {
		return nil, err
	}
	var k Keys
	return &k, json.Unmarshal(b, &k)
}

// luhn appends the Luhn check digit (ISO/IEC 7812-1) to a 15-digit number.
func luhn(body string) string {
	sum := 0
	for i := len(body) - 1; i >= 0; i-- {
		d := int(body[i] - '0')
		if (len(body)-1-i)%2 == 0 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return body + string(rune('0'+(10-sum%10)%10))
}
