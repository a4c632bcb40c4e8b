package municipal

import (
	"context"
	"fmt"
	"time"

	"github.com/mynaplat/mynaplat/demo/people"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/mynumber"
	"github.com/mynaplat/mynaplat/wareki"
)

// DemoResident is a person of the demo world as the registers need them.
type DemoResident struct {
	Name, Kana   string
	Birth        string // YYYY-MM-DD
	Sex          jpki.Sex
	Address      string
	Municipality string
	Honseki      string // municipality code of the 本籍
	// MyNumber is the card's My Number; empty draws one.
	MyNumber string
	// The refusal cases (persons without a card).
	Status       Status
	Support      bool
	GaijiPending bool
}

// DemoResidents are the persons of the demo registers: the card holders
// given (people.Residents in the demo world; the one list, which package
// demo seeds the cards from) and DemoRefusalCases.
func DemoResidents(holders []people.Resident) []DemoResident {
	out := make([]DemoResident, 0, len(holders)+len(DemoRefusalCases()))
	for _, r := range holders {
		out = append(out, DemoResident{Name: r.Name, Kana: r.Kana, Birth: r.Birth, Sex: r.Sex, Address: r.Address,
			Municipality: r.Municipality, Honseki: r.Honseki, MyNumber: r.MyNumber()})
	}
	return append(out, DemoRefusalCases()...)
}

// DemoRefusalCases are the persons of 酒田市 that exercise each refusal.
// They hold no card, so only the registers know them.
func DemoRefusalCases() []DemoResident {
	return []DemoResident{
		{Name: "最上　川男", Kana: "モガミ　カワオ", Birth: "1970-03-01", Sex: jpki.Male, Address: "山形県酒田市若浜町１番１号", Municipality: "062049", Honseki: "062049", Status: MovedOut},
		{Name: "羽黒　ハナ", Kana: "ハグロ　ハナ", Birth: "1930-05-05", Sex: jpki.Female, Address: "山形県酒田市亀ケ崎三丁目２番地", Municipality: "062049", Honseki: "062049", Status: Deceased},
		{Name: "月山　静", Kana: "ガッサン　シズカ", Birth: "1985-09-09", Sex: jpki.Female, Address: "山形県酒田市東町一丁目１番地", Municipality: "062049", Honseki: "062049", Support: true},
		{Name: "アレクサンドラ＝エカテリーナ・マリア・ヴィクトリア・フォン・ホーエンツォレルン＝ジグマリンゲン　サカタ", Kana: "アレクサンドラ", Birth: "1990-01-01", Sex: jpki.Female, Address: "山形県酒田市新井田町１番地", Municipality: "062049", Honseki: "062049"},
		{Name: "髙橋　吉", Kana: "タカハシ　キチ", Birth: "1966-06-06", Sex: jpki.Male, Address: "山形県酒田市東中の口町１番地", Municipality: "062049", Honseki: "062049", GaijiPending: true},
	}
}

// DemoKeys are the keys SeedDemo issued to one municipality.
type DemoKeys struct {
	Relay string `json:"relay"`
}

// SeededPerson says where SeedDemo put one demo resident.
type SeededPerson struct {
	Name         string
	Municipality string // where the 住民票 is
	PersonID     string // in Municipality's 住民基本台帳
	Honseki      string // the 本籍地's code
	// KosekiID is the person's ID in the 本籍地's 戸籍 (PersonID when the
	// 本籍 is where they live).
	KosekiID string
}

// DemoWorld is what SeedDemo made.
type DemoWorld struct {
	Keys    map[string]DemoKeys // by municipality code
	Persons []SeededPerson
}

// Person returns the seeded person of that name.
func (w *DemoWorld) Person(name string) (SeededPerson, bool) {
	for _, p := range w.Persons {
		if p.Name == name {
			return p, true
		}
	}
	return SeededPerson{}, false
}

// demoOffers is each demo municipality's catalogue: 200 円 and 戸籍 350 円
// in most towns, 150/300 円 in 前橋市; 戸籍 on weekdays 9:00–17:00 where its
// system is staffed (酒田市, 山形市); 美波町 offers no 附票, 南部町 no 税;
// 山形市 is here only as a 本籍地.
func demoOffers(code string) []Offer {
	const open, close = 6*60 + 30, 23 * 60
	fee, koseki := 200, 350
	if code == "102016" {
		fee, koseki = 150, 300
	}
	weekdays := code == "062049" || code == "062014"
	kOpen, kClose := open, close
	if weekdays {
		kOpen, kClose = 9*60, 17*60
	}
	var out []Offer
	for _, t := range CertTypes() {
		o := Offer{Type: t, FeeYen: fee, Open: open, Close: close}
		if t == KosekiZenbu || t == KosekiKojin {
			o = Offer{Type: t, FeeYen: koseki, Open: kOpen, Close: kClose, WeekdaysOnly: weekdays}
		}
		switch {
		case code == "062014" && !t.FromKoseki(),
			code == "363880" && t == Fuhyo,
			code == "313891" && t == Tax:
			continue
		}
		out = append(out, o)
	}
	return out
}

// SeedDemo creates the registers of the demo municipalities (those of
// residents, and each 本籍地) from residents (DemoResidents of the demo's
// card holders, in the demo):
// households by address, 戸籍 per household in its 本籍地, 附票, 印鑑登録
// and 税 for adults, the catalogue, and a relay key per
// municipality. It does nothing and returns nil when municipalities exist.
func (s *Service) SeedDemo(ctx context.Context, residents []DemoResident) (*DemoWorld, error) {
	if len(residents) == 0 {
		return nil, fmt.Errorf("%w: no demo residents", ErrInvalid)
	}
	if ms, err := s.Municipalities(ctx); err != nil || len(ms) > 0 {
		return nil, err
	}
	w := &DemoWorld{Keys: map[string]DemoKeys{}}
	now := s.now().In(wareki.JST())
	fy := now.Year()
	if now.Month() < time.April {
		fy--
	}
	for _, r := range residents {
		for _, code := range []string{r.Municipality, r.Honseki} {
			if _, ok := w.Keys[code]; ok {
				continue
			}
			if _, err := s.AddMunicipality(ctx, code); err != nil {
				return nil, err
			}
			for _, o := range demoOffers(code) {
				if err := s.SetOffer(ctx, code, o); err != nil {
					return nil, err
				}
			}
			relay, err := s.IssueRelayKey(ctx, code, "J-LIS relay (demo)")
			if err != nil {
				return nil, err
			}
			w.Keys[code] = DemoKeys{Relay: relay}
		}
	}
	// Households: one per address, its first person the 世帯主.
	type family struct {
		head    *Person
		members []*Person
		res     []DemoResident
	}
	families := map[string]*family{}
	var order []string
	for i, r := range residents {
		birth, err := time.ParseInLocation(time.DateOnly, r.Birth, wareki.JST())
		if err != nil {
			return nil, fmt.Errorf("municipal: demo birth date: %w", err)
		}
		mn := r.MyNumber
		if mn == "" {
			if mn, err = mynumber.New(); err != nil {
				return nil, err
			}
		}
		key := r.Municipality + "|" + r.Address
		f := families[key]
		p := Person{Municipality: r.Municipality, Name: r.Name, Kana: r.Kana, BirthDate: birth, Sex: r.Sex,
			Address: r.Address, MyNumber: mn, Status: r.Status, Support: r.Support, GaijiPending: r.GaijiPending,
			MovedIn: birth}
		if r.Municipality != r.Honseki {
			p.MovedIn = time.Date(2005, 4, 1, 0, 0, 0, 0, wareki.JST())
		}
		if f != nil {
			p.HouseholdID = f.head.HouseholdID
			p.Relation = relationTo(f.head, &p)
			p.Hitto = f.head.Name
		} else {
			p.Hitto = r.Name
		}
		p.Honseki = demoHonseki(r)
		added, err := s.AddPerson(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("municipal: demo person %d: %w", i, err)
		}
		if f == nil {
			f = &family{head: added}
			families[key] = f
			order = append(order, key)
		}
		f.members = append(f.members, added)
		f.res = append(f.res, r)
		sp := SeededPerson{Name: r.Name, Municipality: r.Municipality, PersonID: added.ID, Honseki: r.Honseki}
		w.Persons = append(w.Persons, sp)
		if age(birth, now) >= 15 && (r.Status == "" || r.Status == Resident) {
			if _, err := s.RegisterSeal(ctx, r.Municipality, added.ID, fmt.Sprintf("%04d", 1000+i), birth.AddDate(20, 0, 0)); err != nil {
				return nil, err
			}
			if err := s.SetTax(ctx, added.ID, TaxYear{Year: fy, IncomeYen: int64(2_400_000 + 137_000*i), TaxableYen: int64(1_500_000 + 91_000*i),
				CityTaxYen: int64(90_000 + 5_460*i), PrefTaxYen: int64(60_000 + 3_640*i)}); err != nil {
				return nil, err
			}
		}
	}
	// 戸籍: one per household, kept by the 本籍地.
	for _, key := range order {
		f := families[key]
		hr := f.res[0]
		k := Koseki{Municipality: hr.Honseki, Honseki: demoHonseki(hr), Hitto: f.head.Name,
			MadeOn: time.Date(2008, 6, 1, 0, 0, 0, 0, wareki.JST())}
		for j, mem := range f.members {
			r := f.res[j]
			km := KosekiMember{Name: mem.Name, BirthDate: mem.BirthDate, Sex: mem.Sex, Relation: kosekiRelation(f.head, mem),
				Father: "（省略）", Mother: "（省略）", Removed: r.Status == Deceased}
			if r.Honseki == r.Municipality {
				km.PersonID = mem.ID
			}
			km.Events = []string{"【出生日】" + longDate(mem.BirthDate)}
			if mem.Relation == "夫" || mem.Relation == "妻" || (mem == f.head && len(f.members) > 1 && age(f.members[1].BirthDate, now) >= 18) {
				km.Events = append(km.Events, "【婚姻日】"+longDate(k.MadeOn))
			}
			if r.Status == Deceased {
				km.Events = append(km.Events, "【死亡日】"+longDate(time.Date(2024, 2, 10, 0, 0, 0, 0, wareki.JST())))
			}
			k.Members = append(k.Members, km)
		}
		added, err := s.AddKoseki(ctx, k)
		if err != nil {
			return nil, err
		}
		for j, km := range added.Members {
			mem := f.members[j]
			for i := range w.Persons {
				if w.Persons[i].PersonID == mem.ID {
					w.Persons[i].KosekiID = km.PersonID
				}
			}
			lines := []FuhyoLine{{Address: mem.Address, Since: mem.MovedIn}}
			if f.res[j].Honseki != f.res[j].Municipality {
				lines = []FuhyoLine{{Address: k.Honseki, Since: mem.BirthDate}, {Address: mem.Address, Since: mem.MovedIn}}
			}
			if err := s.SetFuhyo(ctx, km.PersonID, lines); err != nil {
				return nil, err
			}
		}
	}
	s.logger.InfoContext(ctx, "municipal demo seeded", "municipalities", len(w.Keys), "persons", len(w.Persons))
	return w, nil
}

// demoHonseki is the 本籍 address: the home address when the 本籍 is in the
// town of residence, else an address in the 本籍地.
func demoHonseki(r DemoResident) string {
	if r.Honseki == r.Municipality {
		return r.Address
	}
	m, err := jpki.LookupMunicipality(r.Honseki)
	if err != nil {
		return r.Honseki
	}
	return m.Prefecture + m.Name + "七日町一丁目１番地"
}

func age(birth, now time.Time) int {
	y := now.Year() - birth.Year()
	if now.YearDay() < birth.YearDay() {
		y--
	}
	return y
}

// relationTo is the 続柄 of p to the 世帯主 head.
func relationTo(head, p *Person) string {
	if p.BirthDate.Year()-head.BirthDate.Year() >= 15 {
		return "子"
	}
	if p.Sex == jpki.Female {
		return "妻"
	}
	return "夫"
}

// kosekiRelation is the 続柄 in the 戸籍.
func kosekiRelation(head, p *Person) string {
	switch {
	case p == head:
		if p.Sex == jpki.Female {
			return "妻"
		}
		return "夫"
	case p.BirthDate.Year()-head.BirthDate.Year() >= 15:
		if p.Sex == jpki.Female {
			return "長女"
		}
		return "長男"
	case p.Sex == jpki.Female:
		return "妻"
	}
	return "夫"
}
