package evac_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/community/evac"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// TestDrill: a drill with 50 simulated households of two members in two
// areas (as 美波町's of 2015-02-07, at a smaller scale): 40 households
// acknowledge on their TVs, 35 reach a shelter (household i's first
// member after i minutes, a second member a minute later), one of them by
// name lookup; five of those leave again. The board's counts and the
// report's times and average are what the simulation made.
func TestDrill(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newSetup(t, db)
		const n = 50
		for i := range n {
			area := "hiwasa"
			if i%2 == 1 {
				area = "okukawachi"
			}
			h := evac.Household{ID: fmt.Sprintf("d-%02d", i), Area: area, Lat: 33.73, Lon: 134.54, Members: []evac.Member{
				{PlatformID: fmt.Sprintf("d-%02d-a", i), Name: fmt.Sprintf("訓練 %02d 甲", i)},
				{PlatformID: fmt.Sprintf("d-%02d-b", i), Name: fmt.Sprintf("訓練 %02d 乙", i)}}}
			if err := s.svc.AddHousehold(ctx, h); err != nil {
				t.Fatal(err)
			}
		}
		o, err := s.svc.Issue(ctx, officer, evac.OrderInput{Areas: []string{"hiwasa", "okukawachi"}, Level: 4, Drill: true})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 40 {
			if err := s.svc.Ack(ctx, evac.Actor{ID: fmt.Sprintf("d-%02d-a", i), Terminal: "tv"}, o.ID); err != nil {
				t.Fatal(err)
			}
		}
		staffer := evac.Actor{ID: "M-362-02", Terminal: "shelter-school-1"}
		// Household i (i < 35) reaches the school i+1 minutes after the
		// order (both members, a minute apart): the clock runs with them.
		var sum time.Duration
		for minute := 1; minute <= 36; minute++ {
			s.clk.add(time.Minute)
			for i := range 35 {
				var pid string
				switch minute {
				case i + 1:
					pid = fmt.Sprintf("d-%02d-a", i)
				case i + 2:
					pid = fmt.Sprintf("d-%02d-b", i)
				default:
					continue
				}
				var err error
				if i == 7 && minute == i+1 {
					_, err = s.svc.CheckInByName(ctx, staffer, "school", pid)
				} else {
					_, err = s.svc.CheckInCard(ctx, evac.Actor{ID: pid, Terminal: "shelter-school-1"}, "school")
				}
				if err != nil {
					t.Fatal(err)
				}
			}
		}
		for i := range 5 {
			if _, err := s.svc.CheckOut(ctx, staffer, "school", fmt.Sprintf("d-%02d-b", i)); err != nil {
				t.Fatal(err)
			}
		}
		b, err := s.svc.Board(ctx, staffer, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		// The setup's households (美波 海 and 空, 河内 川) are there too:
		// they neither acknowledged nor came.
		want := evac.Counts{Households: n + 2, Members: 2*n + 3, In: 70 - 5, Left: 5, Acknowledged: 2 * 5, Unaccounted: 2*10 + 3}
		if diff := cmp.Diff(want, b.Totals); diff != "" {
			t.Errorf("the board's totals (-want +got):\n%s", diff)
		}
		var perArea evac.Counts
		for _, a := range b.Areas {
			perArea.Households += a.Counts.Households
			perArea.Members += a.Counts.Members
			perArea.In += a.Counts.In
			perArea.Left += a.Counts.Left
			perArea.Acknowledged += a.Counts.Acknowledged
			perArea.Unaccounted += a.Counts.Unaccounted
		}
		if perArea != b.Totals {
			t.Errorf("the areas add up to %+v, the totals say %+v", perArea, b.Totals)
		}
		r, err := s.svc.Report(ctx, staffer, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 35 {
			sum += time.Duration(i+1) * time.Minute
		}
		if r.Evacuated != 35 || len(r.Households) != n+2 {
			t.Fatalf("report: %d evacuated of %d households", r.Evacuated, len(r.Households))
		}
		// Every step of the test clock adds a millisecond a call: the
		// times are the simulated minutes within a second.
		if d := r.Average - sum/35; d < 0 || d > time.Second {
			t.Errorf("the average is %v, want %v", r.Average, sum/35)
		}
		for _, h := range r.Households {
			var i int
			if _, err := fmt.Sscanf(h.ID, "d-%02d", &i); err != nil {
				if h.Evacuated {
					t.Errorf("%s evacuated", h.ID)
				}
				continue
			}
			if want := i < 35; h.Evacuated != want {
				t.Errorf("%s evacuated: %v, want %v", h.ID, h.Evacuated, want)
			} else if want {
				if d := h.Time - time.Duration(i+1)*time.Minute; d < 0 || d > time.Second {
					t.Errorf("%s: %v, want %v", h.ID, h.Time, time.Duration(i+1)*time.Minute)
				}
			}
		}
		t.Logf("drill: %d of %d households evacuated, average %v", r.Evacuated, len(r.Households), r.Average.Round(time.Second))
	})
}
