package eligibility

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/wareki"
)

// fixed is a person lookup that answers p.
func fixed(p Person) func(context.Context) (Person, error) {
	return func(context.Context) (Person, error) { return p, nil }
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, wareki.JST()) }

func open(t *testing.T, db *store.DB) *Service {
	t.Helper()
	// A clock that ticks a second per reading, so records made one after
	// the other have different times.
	var ticks atomic.Int64
	now := func() time.Time { return day(2026, 11, 24).Add(time.Duration(ticks.Add(1)) * time.Second) }
	s, err := Open(context.Background(), Config{DB: db, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	for _, ins := range []struct{ n, name string }{{"06230012", "酒田健康保険組合"}, {"01060011", "全国健康保険協会 山形支部"}, {"062049", "酒田市国民健康保険"}} {
		if _, err := s.AddInsurer(context.Background(), ins.n, ins.name); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// ichiro is 酒田 一郎 as his JPKI record has him.
var ichiro = Person{Name: "酒田　一郎", Kana: "サカタ　イチロウ", BirthDate: day(1975, 6, 30), Sex: 1, Address: "山形県酒田市本町二丁目２番４５号"}

func insured(insurer, number string, p Person, from time.Time) Insured {
	return Insured{Insurer: insurer, Symbol: "12", Number: number, Branch: "00", Relation: "self", Person: p,
		CopayPercent: 30, AcquiredOn: from}
}

func TestLinkNeedsAllFiveAttributes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := open(t, db)
		// The same person written with half-width digits and an ASCII space:
		// the same five attributes.
		same := ichiro
		same.Name, same.Address = "酒田 一郎", "山形県酒田市本町二丁目2番45号"
		own, err := s.AddInsured(ctx, insured("06230012", "345", same, day(2020, 4, 1)))
		if err != nil {
			t.Fatal(err)
		}
		// Another 酒田 一郎 born the same day, living elsewhere.
		other := ichiro
		other.Address = "山形県酒田市中町一丁目１番１号"
		namesake, err := s.AddInsured(ctx, insured("01060011", "777", other, day(2019, 1, 1)))
		if err != nil {
			t.Fatal(err)
		}
		// Someone else entirely, born the same day.
		stranger := Person{Name: "鳥海　花", Kana: "チョウカイ　ハナ", BirthDate: ichiro.BirthDate, Sex: 2, Address: "山形県酒田市光ケ丘"}
		if _, err := s.AddInsured(ctx, insured("062049", "1", stranger, day(2018, 1, 1))); err != nil {
			t.Fatal(err)
		}

		res, err := s.Link(ctx, "pid-ichiro", ichiro)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{own.ID}, res.Linked); diff != "" {
			t.Errorf("linked (-want +got):\n%s", diff)
		}
		if len(res.Queued) != 1 || res.Queued[0].InsuredID != namesake.ID || !cmp.Equal(res.Queued[0].Mismatches, []string{"address"}) {
			t.Fatalf("queued %+v, want the namesake with an address mismatch", res.Queued)
		}
		ans, err := s.Check(ctx, "pid-ichiro", day(2026, 11, 24))
		if err != nil {
			t.Fatal(err)
		}
		if ans.Validity != Valid || ans.Coverage.ID != own.ID || ans.Coverage.CopayPercent != 30 {
			t.Errorf("check: %s %+v", ans.Validity, ans.Coverage)
		}
		// The namesake's own check finds nothing linked to him yet.
		if ans, _ := s.Check(ctx, "pid-namesake", day(2026, 11, 24)); ans.Validity != NoCoverage {
			t.Errorf("namesake: %s, want %s", ans.Validity, NoCoverage)
		}
		// Linking again changes nothing and queues nothing twice.
		res, err = s.Link(ctx, "pid-ichiro", ichiro)
		if err != nil || len(res.Queued) != 0 || len(res.Linked) != 1 {
			t.Errorf("second link: %+v %v", res, err)
		}
		// The clerk rejects the namesake: still not linked.
		q, err := s.Queue(ctx)
		if err != nil || len(q) != 1 {
			t.Fatalf("queue %+v %v", q, err)
		}
		if err := s.Decide(ctx, q[0].ID, "clerk-sato", false); err != nil {
			t.Fatal(err)
		}
		if err := s.Decide(ctx, q[0].ID, "clerk-sato", true); !errors.Is(err, ErrNotFound) {
			t.Errorf("deciding twice: %v", err)
		}
		if ans, _ := s.Check(ctx, "pid-ichiro", day(2026, 11, 24)); ans.Validity != Valid {
			t.Errorf("after rejection: %s", ans.Validity)
		}
	})
}

func TestValidityValues(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := open(t, db)
		old, err := s.AddInsured(ctx, insured("06230012", "345", ichiro, day(2015, 4, 1)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Link(ctx, "pid", ichiro); err != nil {
			t.Fatal(err)
		}
		check := func(on time.Time, want Validity) {
			t.Helper()
			ans, err := s.Check(ctx, "pid", on)
			if err != nil {
				t.Fatal(err)
			}
			if ans.Validity != want {
				t.Errorf("%s: %s, want %s", civil(on), ans.Validity, want)
			}
		}
		check(day(2026, 11, 24), Valid)
		check(day(2014, 1, 1), Invalid) // before it began

		// Job change on 2026-10-01: the old coverage ends, the new starts.
		next := insured("01060011", "900", ichiro, day(2026, 10, 1))
		if _, err := s.ChangeJob(ctx, old.ID, next); err != nil {
			t.Fatal(err)
		}
		// Not linked yet: the old one is invalid and nothing newer is known.
		check(day(2026, 11, 24), Invalid)
		// The new record agrees in all five: linking finds it at once.
		if res, err := s.Link(ctx, "pid", ichiro); err != nil || len(res.Linked) != 2 {
			t.Fatalf("link after job change: %+v %v", res, err)
		}
		check(day(2026, 11, 24), Valid)
		check(day(2026, 9, 30), Valid) // the old coverage, its last day

		// A newer record with a changed address waits for a clerk: until
		// then the answer is 無効（新しい資格あり）.
		moved := ichiro
		moved.Address = "山形県山形市旅篭町二丁目３番２５号"
		third := insured("062049", "5", moved, day(2026, 11, 1))
		if err := s.EndCoverage(ctx, firstActive(t, s), day(2026, 11, 1)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddInsured(ctx, third); err != nil {
			t.Fatal(err)
		}
		if res, err := s.Link(ctx, "pid", ichiro); err != nil || len(res.Queued) != 1 {
			t.Fatalf("link with a moved record: %+v %v", res, err)
		}
		check(day(2026, 11, 24), InvalidNewer)

		// Two overlapping coverages that both agree: 複数該当, to a clerk.
		twin := insured("06230012", "346", ichiro, day(2026, 11, 2))
		twin2 := insured("01060011", "901", ichiro, day(2026, 11, 2))
		for _, in := range []Insured{twin, twin2} {
			if _, err := s.AddInsured(ctx, in); err != nil {
				t.Fatal(err)
			}
		}
		res, err := s.Link(ctx, "pid-2", ichiro)
		if err != nil {
			t.Fatal(err)
		}
		multi := 0
		for _, q := range res.Queued {
			if q.Mismatches[0] == "multiple_candidates" || q.Mismatches[0] == "linked_to_another_person" {
				multi++
			}
		}
		if multi == 0 || len(res.Linked) != 0 {
			t.Errorf("ambiguous records were linked: %+v", res)
		}
	})
}

func firstActive(t *testing.T, s *Service) string {
	t.Helper()
	ans, err := s.Check(context.Background(), "pid", day(2026, 11, 24))
	if err != nil || ans.Coverage == nil {
		t.Fatalf("no active coverage: %+v %v", ans, err)
	}
	return ans.Coverage.ID
}

func TestMultipleMatchAnswer(t *testing.T) {
	ctx := context.Background()
	s := open(t, storetest.SQLite(t))
	a, _ := s.AddInsured(ctx, insured("06230012", "1", ichiro, day(2020, 1, 1)))
	b, _ := s.AddInsured(ctx, insured("01060011", "2", ichiro, day(2021, 1, 1)))
	// A clerk links both (an insurer's mistake: two active coverages).
	for _, id := range []string{a.ID, b.ID} {
		if _, err := db(s).ExecContext(ctx, qInsertLink, id, "pid", 0, "clerk:test"); err != nil {
			t.Fatal(err)
		}
	}
	ans, err := s.Check(ctx, "pid", day(2026, 11, 24))
	if err != nil || ans.Validity != MultipleMatch {
		t.Fatalf("%+v %v, want %s", ans, err, MultipleMatch)
	}
}

func db(s *Service) *store.DB { return s.db }

func TestInvalidRecordsRefused(t *testing.T) {
	ctx := context.Background()
	s := open(t, storetest.SQLite(t))
	for name, mutate := range map[string]func(*Insured){
		"bad insurer":  func(i *Insured) { i.Insurer = "12" },
		"bad branch":   func(i *Insured) { i.Branch = "1" },
		"bad copay":    func(i *Insured) { i.CopayPercent = 25 },
		"no kana":      func(i *Insured) { i.Kana = "" },
		"lost before":  func(i *Insured) { i.LostOn = day(2000, 1, 1) },
		"bad relation": func(i *Insured) { i.Relation = "friend" },
	} {
		t.Run(name, func(t *testing.T) {
			in := insured("06230012", "9", ichiro, day(2020, 1, 1))
			mutate(&in)
			if _, err := s.AddInsured(ctx, in); !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	for _, tc := range []struct{ a, b string }{
		{"山形県酒田市本町二丁目２番４５号", "山形県酒田市本町二丁目2番45号"},
		{"酒田　一郎", "酒田 一郎"},
		{"ｻｶﾀ ｲﾁﾛｳ", "サカタ　イチロウ"},
		{"１－２－３", "1-2-3"},
	} {
		if normalize(tc.a) != normalize(tc.b) {
			t.Errorf("%q and %q differ after normalising", tc.a, tc.b)
		}
	}
	if normalize("髙橋") == normalize("高橋") {
		t.Error("different characters must stay different (a clerk decides)")
	}
}

func TestQueriesKeepPlaceholderOrder(t *testing.T) {
	for _, q := range allQueries {
		if err := store.CheckPlaceholders(q); err != nil {
			t.Errorf("%v in %s", err, q)
		}
	}
}

func TestCheckHolderRecordsAndHonoursConsent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := open(t, db)
		if _, err := s.AddFacility(ctx, "0612345678", "日本海総合病院"); err != nil {
			t.Fatal(err)
		}
		in := insured("06230012", "345", ichiro, day(2020, 4, 1))
		in.LimitCategory = "区分ウ"
		if _, err := s.AddInsured(ctx, in); err != nil {
			t.Fatal(err)
		}
		// No consent to 限度額: the basic answer only.
		res, err := s.CheckHolder(ctx, HolderCheck{Facility: "0612345678", Terminal: "reception-nihonkai-1", PlatformID: "pid", Consent: Consent{}}, fixed(ichiro))
		if err != nil {
			t.Fatal(err)
		}
		if res.Validity != Valid || res.Coverage == nil || res.Coverage.LimitCategory != "" || res.Coverage.CopayPercent != 30 {
			t.Errorf("without consent: %+v %+v", res, res.Coverage)
		}
		res, err = s.CheckHolder(ctx, HolderCheck{Facility: "0612345678", Terminal: "reception-nihonkai-1", PlatformID: "pid", Consent: Consent{Limit: true, Drug: true}}, fixed(ichiro))
		if err != nil || res.Coverage.LimitCategory != "区分ウ" {
			t.Errorf("with consent: %+v %v", res, err)
		}
		// A person with no coverage gets 該当資格なし, also recorded.
		stranger := Person{Name: "鳥海　花", Kana: "チョウカイ　ハナ", BirthDate: day(1990, 1, 1), Sex: 2, Address: "山形県酒田市"}
		if res, err := s.CheckHolder(ctx, HolderCheck{Facility: "0612345678", Terminal: "reception-nihonkai-1", PlatformID: "pid-2", Consent: Consent{}}, fixed(stranger)); err != nil || res.Validity != NoCoverage {
			t.Errorf("no coverage: %+v %v", res, err)
		}
		checks, err := s.ChecksOf(ctx, "pid")
		if err != nil || len(checks) != 2 || checks[0].Name != "日本海総合病院" || checks[0].Consent != "drug,limit" || checks[1].Consent != "none" {
			t.Errorf("checks %+v %v", checks, err)
		}
	})
}
