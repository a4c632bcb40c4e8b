package eligibility

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

func TestOfficeQueriesKeepPlaceholderOrder(t *testing.T) {
	for _, q := range officeQueries {
		if err := store.CheckPlaceholders(q); err != nil {
			t.Errorf("%v in %s", err, q)
		}
	}
}

// officeNamesake is the other 酒田 一郎: the same name, kana, birth date and
// sex as ichiro, living elsewhere (同姓同名・同じ生年月日).
var officeNamesake = Person{Name: "酒田　一郎", Kana: "サカタ　イチロウ", BirthDate: ichiro.BirthDate, Sex: 1, Address: "山形県酒田市中町一丁目１番１号"}

// officeLinkOf is the platform ID a record is linked to, "" if none.
func officeLinkOf(t *testing.T, s *Service, insuredID string) string {
	t.Helper()
	var pid string
	err := s.db.QueryRowContext(context.Background(), qLinkOf, insuredID).Scan(&pid)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		t.Fatal(err)
	}
	return pid
}

// officeQueue maps a staff's queue to "platform→record: mismatches" keys
// (the platform ID is read from the table: the entries do not carry it).
func officeQueue(t *testing.T, s *Service, st Staff) map[string]QueueEntry {
	t.Helper()
	q, err := s.ViewQueue(context.Background(), st, 50)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]QueueEntry{}
	for _, e := range q {
		var pid string
		if err := s.db.QueryRowContext(context.Background(), `SELECT platform_id FROM elig_link_queue WHERE id = $1`, e.ID).Scan(&pid); err != nil {
			t.Fatal(err)
		}
		out[pid+"→"+e.Record.ID] = e
	}
	return out
}

// TestOfficeNamesakes shows the five-attribute rule with two people of the
// same name and birthday at different addresses: each record links only to
// its own person, the namesake's record goes to the clerk and is never
// linked by the machine, the clerk approves and rejects, and the check
// answers follow. A clerk of another insurer can decide nothing.
func TestOfficeNamesakes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := open(t, db)
		const insurerA, insurerB = "06230012", "01060011"
		clerkA, clerkB := Staff{insurerA, "佐藤（A）"}, Staff{insurerB, "鈴木（B）"}
		check := func(pid string, want Validity, wantRecord string) {
			t.Helper()
			ans, err := s.Check(ctx, pid, day(2026, 11, 24))
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if ans.Coverage != nil {
				got = ans.Coverage.ID
			}
			if ans.Validity != want || (wantRecord != "" && got != wantRecord) {
				t.Errorf("check %s: %s %s, want %s %s", pid, ans.Validity, got, want, wantRecord)
			}
		}

		mine, err := s.AddInsured(ctx, insured(insurerA, "345", ichiro, day(2015, 4, 1)))
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := s.AddInsured(ctx, insured(insurerB, "777", officeNamesake, day(2016, 4, 1)))
		if err != nil {
			t.Fatal(err)
		}

		// Each links only their own record; the other's waits for a clerk
		// with the address as the one difference.
		res, err := s.Link(ctx, "pid-ichiro", ichiro)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{mine.ID}, res.Linked); diff != "" {
			t.Errorf("ichiro linked (-want +got):\n%s", diff)
		}
		if len(res.Queued) != 1 || res.Queued[0].InsuredID != theirs.ID || !cmp.Equal(res.Queued[0].Mismatches, []string{"address"}) {
			t.Errorf("ichiro queued %+v, want the namesake's record (address)", res.Queued)
		}
		res, err = s.Link(ctx, "pid-namesake", officeNamesake)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{theirs.ID}, res.Linked); diff != "" {
			t.Errorf("namesake linked (-want +got):\n%s", diff)
		}
		if got := officeLinkOf(t, s, mine.ID); got != "pid-ichiro" {
			t.Errorf("ichiro's record linked to %q", got)
		}
		if got := officeLinkOf(t, s, theirs.ID); got != "pid-namesake" {
			t.Errorf("the namesake's record linked to %q", got)
		}
		check("pid-ichiro", Valid, mine.ID)
		check("pid-namesake", Valid, theirs.ID)

		// ichiro changes jobs to insurer B, whose clerk typed his kana with
		// a long vowel mark: name and birth date agree, kana does not.
		typo := ichiro
		typo.Kana = "サカタ　イチロー"
		next, err := s.ChangeJob(ctx, mine.ID, insured(insurerB, "901", typo, day(2026, 10, 1)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Link(ctx, "pid-ichiro", ichiro); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Link(ctx, "pid-namesake", officeNamesake); err != nil {
			t.Fatal(err)
		}
		check("pid-ichiro", InvalidNewer, mine.ID)
		if officeLinkOf(t, s, next.ID) != "" {
			t.Fatal("a record with a kana mismatch was linked by the machine")
		}

		// Insurer A's clerk sees none of B's items and can decide none.
		if q := officeQueue(t, s, clerkA); len(q) != 0 {
			t.Errorf("A's queue shows %d items of B", len(q))
		}
		qb := officeQueue(t, s, clerkB)
		keys := []string{"pid-ichiro→" + theirs.ID, "pid-ichiro→" + next.ID, "pid-namesake→" + next.ID}
		if len(qb) != len(keys) {
			t.Fatalf("B's queue: %d items, want %d: %v", len(qb), len(keys), qb)
		}
		for _, k := range keys {
			if _, ok := qb[k]; !ok {
				t.Fatalf("B's queue lacks %s", k)
			}
		}
		// The JPKI side is the snapshot the link saw; the differences are
		// what the clerk sees highlighted.
		right := qb["pid-ichiro→"+next.ID]
		if right.Seen == nil || *right.Seen != ichiro || !cmp.Equal(right.Mismatches, []string{"kana"}) {
			t.Errorf("ichiro's new record: seen %+v, mismatches %v", right.Seen, right.Mismatches)
		}
		wrong := qb["pid-namesake→"+next.ID]
		if !cmp.Equal(wrong.Mismatches, []string{"kana", "address"}) {
			t.Errorf("the namesake against ichiro's new record: mismatches %v", wrong.Mismatches)
		}
		for _, e := range qb {
			if err := s.DecideFor(ctx, insurerA, e.ID, clerkA.Name, true); !errors.Is(err, ErrOtherInsurer) {
				t.Errorf("A decided B's item %s: %v", e.ID, err)
			}
		}
		if q := officeQueue(t, s, clerkB); len(q) != len(keys) {
			t.Errorf("after A's refused decisions B's queue has %d items", len(q))
		}
		check("pid-ichiro", InvalidNewer, mine.ID)
		if officeLinkOf(t, s, next.ID) != "" {
			t.Fatal("A's refused approval linked the record")
		}

		// B's clerk approves ichiro's new record and rejects both pairings
		// with the wrong person.
		for _, d := range []struct {
			key     string
			approve bool
		}{{"pid-ichiro→" + next.ID, true}, {"pid-namesake→" + next.ID, false}, {"pid-ichiro→" + theirs.ID, false}} {
			if err := s.DecideFor(ctx, insurerB, qb[d.key].ID, clerkB.Name, d.approve); err != nil {
				t.Fatalf("decide %s: %v", d.key, err)
			}
		}
		if err := s.DecideFor(ctx, insurerB, right.ID, clerkB.Name, false); !errors.Is(err, ErrNotFound) {
			t.Errorf("deciding twice: %v", err)
		}
		check("pid-ichiro", Valid, next.ID)
		check("pid-namesake", Valid, theirs.ID)
		if got := officeLinkOf(t, s, theirs.ID); got != "pid-namesake" {
			t.Errorf("after the decisions the namesake's record is linked to %q", got)
		}
		if q := officeQueue(t, s, clerkB); len(q) != 0 {
			t.Errorf("B's queue after the decisions: %v", q)
		}

		// Every view and decision left a row; A's refused attempts none.
		logA, err := s.AccessLog(ctx, insurerA, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(logA) != 0 {
			t.Errorf("A's log: %+v", logA)
		}
		logB, err := s.AccessLog(ctx, insurerB, 100)
		if err != nil {
			t.Fatal(err)
		}
		count := map[string]int{}
		for _, e := range logB {
			if e.Actor != clerkB.Name {
				t.Errorf("B's log has actor %q", e.Actor)
			}
			count[e.Action]++
		}
		want := map[string]int{ActionViewQueue: 6, ActionApprove: 1, ActionReject: 2}
		if diff := cmp.Diff(want, count); diff != "" {
			t.Errorf("B's log (-want +got):\n%s", diff)
		}
	})
}
