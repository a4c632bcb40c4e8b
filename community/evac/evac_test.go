package evac_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/community/evac"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// clock is a test clock that moves a millisecond a call (so the audit
// rows keep their order), and as told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

var (
	officer = evac.Actor{ID: "M-362-01", Terminal: "desk-minami-1"}
	umi     = evac.Actor{ID: "umi", Terminal: "tv-minami-1"}
	sora    = evac.Actor{ID: "sora", Terminal: "tv-minami-1"}
	kawa    = evac.Actor{ID: "kawa", Terminal: "tv-minami-2"}
	nobody  = evac.Actor{ID: "nobody", Terminal: "tv-minami-1"}
)

type setup struct {
	svc *evac.Service
	clk *clock
}

// newSetup is 美波町 with two areas: 日和佐浦 (the household of 美波 海 and
// 空, near the open school and the closed hall) and 奥河内 (河内 川's).
func newSetup(t *testing.T, db *store.DB) setup {
	t.Helper()
	ctx := context.Background()
	clk := &clock{t: time.Date(2015, 2, 7, 9, 0, 0, 0, time.UTC)}
	svc, err := evac.NewService(ctx, db, clk.now, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []evac.Area{{ID: "hiwasa", NameJA: "日和佐浦", NameEN: "Hiwasaura"}, {ID: "okukawachi", NameJA: "奥河内", NameEN: "Okukawachi"}} {
		if err := svc.AddArea(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	for _, h := range []evac.Household{
		{ID: "h-1", Area: "hiwasa", Lat: 33.7290, Lon: 134.5440, Members: []evac.Member{{PlatformID: "umi", Name: "美波 海"}, {PlatformID: "sora", Name: "美波 空"}}},
		{ID: "h-2", Area: "okukawachi", Lat: 33.7400, Lon: 134.5300, Members: []evac.Member{{PlatformID: "kawa", Name: "河内 川"}}},
	} {
		if err := svc.AddHousehold(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
	for _, sh := range []evac.Shelter{
		{ID: "hall", NameJA: "日和佐公民館", NameEN: "Hiwasa hall", Area: "hiwasa", Open: false, Lat: 33.7291, Lon: 134.5441},
		{ID: "school", NameJA: "日和佐小学校", NameEN: "Hiwasa school", Area: "hiwasa", Open: true, Lat: 33.7320, Lon: 134.5400},
		{ID: "far", NameJA: "奥河内集会所", NameEN: "Okukawachi meeting house", Area: "okukawachi", Open: true, Lat: 33.7500, Lon: 134.5200},
	} {
		if err := svc.AddShelter(ctx, sh); err != nil {
			t.Fatal(err)
		}
	}
	return setup{svc: svc, clk: clk}
}

func actions(t *testing.T, svc *evac.Service, actor string) []string {
	t.Helper()
	es, err := svc.Audit(context.Background(), actor)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Action+" "+e.Subject+" "+e.Result+" "+e.Terminal)
	}
	return out
}

// TestOrders: an order for an area, the notice on its TVs (the household's
// names, the nearest open shelter, not the closed one nearer), the
// acknowledgement once, the lift; the refusals write only their audit rows.
func TestOrders(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newSetup(t, db)
		for _, in := range []evac.OrderInput{{Level: 4}, {Areas: []string{"hiwasa"}, Level: 6}, {Areas: []string{"atlantis"}, Level: 4}} {
			if _, err := s.svc.Issue(ctx, officer, in); evac.ReasonOf(err) != evac.ReasonInvalidOrder {
				t.Errorf("issue %+v: %v, want invalid_order", in, err)
			}
		}
		if os, err := s.svc.Orders(ctx); err != nil || len(os) != 0 {
			t.Fatalf("the refused orders wrote %+v, %v", os, err)
		}
		if _, err := s.svc.Notice(ctx, umi); evac.ReasonOf(err) != evac.ReasonNoOrder {
			t.Fatalf("notice before an order: %v", err)
		}
		o, err := s.svc.Issue(ctx, officer, evac.OrderInput{Areas: []string{"hiwasa", "hiwasa"}, Level: 4, Drill: true})
		if err != nil || o.ID != 1 || !o.Live() || !cmp.Equal(o.Areas, []string{"hiwasa"}) {
			t.Fatalf("issue: %+v, %v", o, err)
		}
		n, err := s.svc.Notice(ctx, sora)
		if err != nil {
			t.Fatal(err)
		}
		if n.Order.ID != o.ID || !n.Order.Drill || n.AreaJA != "日和佐浦" || !cmp.Equal(n.Members, []string{"美波 海", "美波 空"}) ||
			n.Shelter.ID != "school" || n.Distance < 300 || n.Distance > 600 || n.Acknowledged {
			t.Errorf("notice: %+v", n)
		}
		for _, tc := range []struct {
			name string
			call func() error
			want evac.Reason
		}{
			{"another area's TV", func() error { _, err := s.svc.Notice(ctx, kawa); return err }, evac.ReasonNoOrder},
			{"not of the town", func() error { _, err := s.svc.Notice(ctx, nobody); return err }, evac.ReasonNotResident},
			{"another area acknowledges", func() error { return s.svc.Ack(ctx, kawa, o.ID) }, evac.ReasonNoOrder},
			{"no such order", func() error { return s.svc.Ack(ctx, umi, 99) }, evac.ReasonNoOrder},
		} {
			if err := tc.call(); evac.ReasonOf(err) != tc.want {
				t.Errorf("%s: %v, want %s", tc.name, err, tc.want)
			}
		}
		if err := s.svc.Ack(ctx, umi, o.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.svc.Ack(ctx, sora, o.ID); err != nil {
			t.Fatalf("the second member's acknowledgement: %v", err)
		}
		if n, err := s.svc.Notice(ctx, umi); err != nil || !n.Acknowledged {
			t.Errorf("notice after the ack: %+v, %v", n, err)
		}
		if l, err := s.svc.Lift(ctx, officer, o.ID); err != nil || l.Live() {
			t.Fatalf("lift: %+v, %v", l, err)
		}
		if l, err := s.svc.Lift(ctx, officer, o.ID); err != nil || l.Live() {
			t.Fatalf("lift again: %+v, %v", l, err)
		}
		if err := s.svc.Ack(ctx, umi, o.ID); evac.ReasonOf(err) != evac.ReasonOrderClosed {
			t.Errorf("ack after the lift: %v", err)
		}
		if _, err := s.svc.Notice(ctx, umi); evac.ReasonOf(err) != evac.ReasonNoOrder {
			t.Errorf("notice after the lift: %v", err)
		}
		evs, err := s.svc.Events(ctx, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, e := range evs {
			kinds = append(kinds, string(e.Kind)+" "+e.Area)
		}
		if diff := cmp.Diff([]string{"order hiwasa", "ack hiwasa", "lift hiwasa"}, kinds); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
		want := []string{"issue  invalid_order desk-minami-1", "issue  invalid_order desk-minami-1", "issue  invalid_order desk-minami-1",
			"issue 1 ok desk-minami-1", "lift 1 ok desk-minami-1"}
		if diff := cmp.Diff(want, actions(t, s.svc, officer.ID)); diff != "" {
			t.Errorf("the officer's audit (-want +got):\n%s", diff)
		}
		want = []string{"order  no_order tv-minami-1", "ack 99 no_order tv-minami-1", "ack 1 ok tv-minami-1", "order 1 ok tv-minami-1", "ack 1 order_closed tv-minami-1", "order  no_order tv-minami-1"}
		if diff := cmp.Diff(want, actions(t, s.svc, umi.ID)); diff != "" {
			t.Errorf("umi's audit (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"order  no_order tv-minami-2", "ack 1 no_order tv-minami-2"}, actions(t, s.svc, kawa.ID)); diff != "" {
			t.Errorf("kawa's audit (-want +got):\n%s", diff)
		}
	})
}

// TestCheckIns: by card and by name lookup (marked), once at a time; a
// closed shelter and a stranger refused; out and not again.
func TestCheckIns(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newSetup(t, db)
		o, err := s.svc.Issue(ctx, officer, evac.OrderInput{Areas: []string{"hiwasa"}, Level: 4})
		if err != nil {
			t.Fatal(err)
		}
		atSchool := evac.Actor{ID: "umi", Terminal: "shelter-school-1"}
		c, err := s.svc.CheckInCard(ctx, atSchool, "school")
		if err != nil || !c.ByCard || c.Order != o.ID || c.Name != "美波 海" {
			t.Fatalf("check in: %+v, %v", c, err)
		}
		staffer := evac.Actor{ID: "M-362-02", Terminal: "shelter-school-1"}
		for _, tc := range []struct {
			name string
			call func() error
			want evac.Reason
		}{
			{"again", func() error { _, err := s.svc.CheckInCard(ctx, atSchool, "school"); return err }, evac.ReasonAlreadyIn},
			{"at another shelter while in", func() error { _, err := s.svc.CheckInByName(ctx, staffer, "far", "umi"); return err }, evac.ReasonAlreadyIn},
			{"a closed shelter", func() error {
				_, err := s.svc.CheckInCard(ctx, evac.Actor{ID: "sora", Terminal: "x"}, "hall")
				return err
			}, evac.ReasonShelterClosed},
			{"no such shelter", func() error {
				_, err := s.svc.CheckInCard(ctx, evac.Actor{ID: "sora", Terminal: "x"}, "moon")
				return err
			}, evac.ReasonShelterClosed},
			{"not of the town", func() error {
				_, err := s.svc.CheckInCard(ctx, evac.Actor{ID: "nobody", Terminal: "x"}, "school")
				return err
			}, evac.ReasonNotResident},
			{"out where not in", func() error { _, err := s.svc.CheckOut(ctx, staffer, "far", "umi"); return err }, evac.ReasonNotIn},
		} {
			if err := tc.call(); evac.ReasonOf(err) != tc.want {
				t.Errorf("%s: %v, want %s", tc.name, err, tc.want)
			}
		}
		found, err := s.svc.Lookup(ctx, staffer, "美波　空")
		if err != nil || len(found) != 1 || found[0].PlatformID != "sora" || found[0].AreaJA != "日和佐浦" {
			t.Fatalf("lookup: %+v, %v", found, err)
		}
		c, err = s.svc.CheckInByName(ctx, staffer, "school", "sora")
		if err != nil || c.ByCard {
			t.Fatalf("check in by name: %+v, %v", c, err)
		}
		if c, err := s.svc.CheckOut(ctx, atSchool, "school", "umi"); err != nil || c.Out.IsZero() {
			t.Fatalf("check out: %+v, %v", c, err)
		}
		if _, err := s.svc.CheckOut(ctx, atSchool, "school", "umi"); evac.ReasonOf(err) != evac.ReasonNotIn {
			t.Errorf("check out again: %v", err)
		}
		b, err := s.svc.Board(ctx, staffer, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := []evac.MemberBoard{{Name: "美波 海", Status: evac.StatusLeft, Shelter: "school", ShelterJA: "日和佐小学校", ShelterEN: "Hiwasa school", ByCard: true},
			{Name: "美波 空", Status: evac.StatusIn, Shelter: "school", ShelterJA: "日和佐小学校", ShelterEN: "Hiwasa school", ByCard: false}}
		if len(b.Areas) != 1 || len(b.Areas[0].Households) != 1 {
			t.Fatalf("board: %+v", b)
		}
		if diff := cmp.Diff(want, b.Areas[0].Households[0].Members); diff != "" {
			t.Errorf("board (-want +got):\n%s", diff)
		}
		want2 := []string{"checkin far umi already_checked_in shelter-school-1", "checkout far umi not_checked_in shelter-school-1",
			"lookup 美波空 ok shelter-school-1", "checkin school sora ok shelter-school-1", "board 1 ok shelter-school-1"}
		if diff := cmp.Diff(want2, actions(t, s.svc, staffer.ID)); diff != "" {
			t.Errorf("the staffer's audit (-want +got):\n%s", diff)
		}
	})
}
