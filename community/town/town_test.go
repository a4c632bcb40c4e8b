package town_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/community/catv"
	"github.com/mynaplat/mynaplat/community/town"
	"github.com/mynaplat/mynaplat/community/tvlogin"
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
func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

var (
	hanako  = tvlogin.Viewer{PlatformID: "hanako", Terminal: "tv-suzaka-1"}
	kenta   = tvlogin.Viewer{PlatformID: "kenta", Terminal: "tv-suzaka-1"}
	kiyoshi = tvlogin.Viewer{PlatformID: "kiyoshi", Terminal: "tv-nanto-1"}
	nobody  = tvlogin.Viewer{PlatformID: "nobody", Terminal: "tv-suzaka-1"}
)

// setup is 須坂市 (hanako, kenta) and 南砺市 (kiyoshi), each with a hall
// and a slot tomorrow at 10:00 JST of capacity 1 and one of capacity 3.
type setup struct {
	svc            *town.Service
	clk            *clock
	suzaka, nanto  *town.Town
	one, three, nt int64
}

func newSetup(t *testing.T, db *store.DB) setup {
	t.Helper()
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 12, 8, 9, 0, 0, 0, town.JST)}
	svc, err := town.NewService(ctx, db, clk.now, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := setup{svc: svc, clk: clk, suzaka: svc.Town("suzaka"), nanto: svc.Town("nanto")}
	tomorrow := time.Date(2026, 12, 9, 10, 0, 0, 0, town.JST)
	for _, tc := range []struct {
		t       *town.Town
		ja, en  string
		persons []string
		slots   []*int64
		caps    []int
	}{
		{s.suzaka, "須坂市", "Suzaka", []string{"hanako", "kenta"}, []*int64{&s.one, &s.three}, []int{1, 3}},
		{s.nanto, "南砺市", "Nanto", []string{"kiyoshi"}, []*int64{&s.nt}, []int{2}},
	} {
		if err := tc.t.SetProfile(ctx, town.Profile{NameJA: tc.ja, NameEN: tc.en}); err != nil {
			t.Fatal(err)
		}
		for _, p := range tc.persons {
			if err := tc.t.AddResident(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		f, err := tc.t.AddFacility(ctx, tc.ja+" 体育館", tc.en+" gym")
		if err != nil {
			t.Fatal(err)
		}
		for i, id := range tc.slots {
			if *id, err = tc.t.AddSlot(ctx, f, tomorrow.Add(time.Duration(i)*2*time.Hour), tomorrow.Add(time.Duration(i)*2*time.Hour+time.Hour), tc.caps[i]); err != nil {
				t.Fatal(err)
			}
		}
	}
	return s
}

// actions are the audit rows' actions and results of a person in a town.
func actions(t *testing.T, tw *town.Town, pid string) []string {
	t.Helper()
	rows, err := tw.Audit(context.Background(), pid)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rows {
		out = append(out, fmt.Sprintf("%s %d %s %s", r.Action, r.Subject, r.Result, r.Terminal))
	}
	return out
}

// TestCheckups: a resident reads their checkups by year, newest first,
// with the range flags; the read is audited; a person who lives in none
// of the towns is refused with the audit row only.
func TestCheckups(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newSetup(t, db)
		for _, y := range []town.Year{
			{Year: 2025, TakenAt: time.Date(2025, 6, 1, 0, 0, 0, 0, town.JST), Results: []town.Result{
				{Item: "hba1c", Value: 6.1, Unit: "%", Low: 4.6, High: 5.9}, {Item: "weight", Value: 52.5, Unit: "kg", Low: 0, High: 999}}},
			{Year: 2024, TakenAt: time.Date(2024, 6, 1, 0, 0, 0, 0, town.JST), Results: []town.Result{
				{Item: "sbp", Value: 128, Unit: "mmHg", Low: 90, High: 129}}},
		} {
			if err := s.suzaka.Record(ctx, "hanako", y); err != nil {
				t.Fatal(err)
			}
		}
		c, err := s.svc.Checkups(ctx, hanako)
		if err != nil {
			t.Fatal(err)
		}
		if c.Town != "suzaka" || c.TownJA != "須坂市" || len(c.Years) != 2 || c.Years[0].Year != 2025 {
			t.Fatalf("checkups: %+v", c)
		}
		var got []string
		for _, r := range c.Years[0].Results {
			got = append(got, r.Item+":"+r.Flag())
		}
		if diff := cmp.Diff([]string{"weight:", "hba1c:high"}, got); diff != "" {
			t.Errorf("2025 (-want +got):\n%s", diff)
		}
		if _, err := s.svc.Checkups(ctx, nobody); town.ReasonOf(err) != town.ReasonNotResident {
			t.Errorf("nobody's checkups: %v", err)
		}
		if diff := cmp.Diff([]string{"checkups 0 ok tv-suzaka-1"}, actions(t, s.suzaka, "hanako")); diff != "" {
			t.Errorf("audit (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"checkups 0 not_resident tv-suzaka-1"}, actions(t, s.svc.Town(""), "nobody")); diff != "" {
			t.Errorf("the refusal's audit (-want +got):\n%s", diff)
		}
		if c, err := s.svc.Checkups(ctx, kiyoshi); err != nil || c.Town != "nanto" || len(c.Years) != 0 {
			t.Errorf("南砺市's resident sees %+v, %v", c, err)
		}
	})
}

// TestBooking: book, the second booking of a slot, a full slot, another
// town's slot, an unknown slot, another person's booking and a slot that
// has begun are refused with their audit rows only; a cancel frees the
// seat; the lists show the live bookings.
func TestBooking(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newSetup(t, db)
		b, err := s.suzaka.Book(ctx, hanako, s.one)
		if err != nil || b.Seat != 1 || b.FacilityJA != "須坂市 体育館" || b.Cancelled {
			t.Fatalf("book: %+v, %v", b, err)
		}
		for _, tc := range []struct {
			name string
			tw   *town.Town
			v    tvlogin.Viewer
			slot int64
			want town.Reason
		}{
			{"again", s.suzaka, hanako, s.one, town.ReasonAlreadyBooked},
			{"full", s.suzaka, kenta, s.one, town.ReasonSlotFull},
			{"another town's slot", s.nanto, hanako, s.nt, town.ReasonNotResident},
			{"no such slot", s.suzaka, hanako, 99, town.ReasonNoSlot},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if _, err := tc.tw.Book(ctx, tc.v, tc.slot); town.ReasonOf(err) != tc.want {
					t.Errorf("got %v, want %s", err, tc.want)
				}
			})
		}
		if _, err := s.suzaka.Cancel(ctx, kenta, b.ID); town.ReasonOf(err) != town.ReasonNoBooking {
			t.Errorf("kenta cancels hanako's booking: %v", err)
		}
		if _, err := s.nanto.Cancel(ctx, hanako, b.ID); town.ReasonOf(err) != town.ReasonNotResident {
			t.Errorf("a cancel in another town: %v", err)
		}
		f, err := s.svc.Facilities(ctx, kenta)
		if err != nil || len(f.Facilities) != 1 || len(f.Facilities[0].Slots) != 2 {
			t.Fatalf("facilities: %+v, %v", f, err)
		}
		if sl := f.Facilities[0].Slots[0]; sl.Left() != 0 || sl.Mine {
			t.Errorf("the full slot as kenta sees it: %+v", sl)
		}
		c, err := s.suzaka.Cancel(ctx, hanako, b.ID)
		if err != nil || !c.Cancelled {
			t.Fatalf("cancel: %+v, %v", c, err)
		}
		if again, err := s.suzaka.Cancel(ctx, hanako, b.ID); err != nil || !again.Cancelled || !again.CancelledAt.Equal(c.CancelledAt) {
			t.Errorf("cancel again: %+v, %v", again, err)
		}
		if bs, err := s.svc.Bookings(ctx, hanako); err != nil || len(bs) != 0 {
			t.Errorf("hanako's bookings after the cancel: %+v, %v", bs, err)
		}
		k, err := s.suzaka.Book(ctx, kenta, s.one)
		if err != nil || k.Seat != 1 {
			t.Fatalf("kenta takes the freed seat: %+v, %v", k, err)
		}
		if bs, err := s.svc.Bookings(ctx, kenta); err != nil || len(bs) != 1 || bs[0].ID != k.ID {
			t.Errorf("kenta's bookings: %+v, %v", bs, err)
		}
		s.clk.set(time.Date(2026, 12, 9, 10, 0, 0, 0, town.JST))
		if _, err := s.suzaka.Book(ctx, hanako, s.one); town.ReasonOf(err) != town.ReasonSlotStarted {
			t.Errorf("a slot that has begun: %v", err)
		}
		want := []string{
			fmt.Sprintf("book %d ok tv-suzaka-1", b.ID),
			fmt.Sprintf("book %d already_booked tv-suzaka-1", s.one),
			"book 99 no_slot tv-suzaka-1",
			fmt.Sprintf("cancel %d ok tv-suzaka-1", b.ID),
			"bookings 0 ok tv-suzaka-1",
			fmt.Sprintf("book %d slot_started tv-suzaka-1", s.one),
		}
		if diff := cmp.Diff(want, actions(t, s.suzaka, "hanako")); diff != "" {
			t.Errorf("hanako's audit in 須坂市 (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{fmt.Sprintf("book %d not_resident tv-suzaka-1", s.nt), fmt.Sprintf("cancel %d not_resident tv-suzaka-1", b.ID)},
			actions(t, s.nanto, "hanako")); diff != "" {
			t.Errorf("hanako's refusals in 南砺市 (-want +got):\n%s", diff)
		}
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM town_bookings`).Scan(&n); err != nil || n != 2 {
			t.Errorf("%d booking rows (%v), want 2: the refusals wrote none", n, err)
		}
	})
}

// TestLastSeatConcurrently: many people ask for the last seats of a slot
// at once; exactly as many as there are seats get one, every other gets
// slot_full, and no seat is held twice.
func TestLastSeatConcurrently(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newSetup(t, db)
		const people = 24
		for i := range people {
			if err := s.suzaka.AddResident(ctx, fmt.Sprintf("p%02d", i)); err != nil {
				t.Fatal(err)
			}
		}
		// One of the three seats is taken already: two are left.
		if _, err := s.suzaka.Book(ctx, hanako, s.three); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		results := make([]error, people)
		start := make(chan struct{})
		for i := range people {
			wg.Go(func() {
				<-start
				_, results[i] = s.suzaka.Book(ctx, tvlogin.Viewer{PlatformID: fmt.Sprintf("p%02d", i), Terminal: "tv"}, s.three)
			})
		}
		close(start)
		wg.Wait()
		booked, full := 0, 0
		for i, err := range results {
			switch {
			case err == nil:
				booked++
			case town.ReasonOf(err) == town.ReasonSlotFull:
				full++
			default:
				t.Errorf("p%02d: %v", i, err)
			}
		}
		if booked != 2 || full != people-2 {
			t.Errorf("%d booked, %d full; want 2 and %d", booked, full, people-2)
		}
		var rows, seats int
		if err := db.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT seat) FROM town_bookings WHERE slot_id = $1 AND cancelled_at IS NULL`, s.three).Scan(&rows, &seats); err != nil {
			t.Fatal(err)
		}
		if rows != 3 || seats != 3 {
			t.Errorf("%d bookings on %d seats, want 3 on 3", rows, seats)
		}
		// The indexes themselves, whatever the code above them does: a second
		// live booking of a seat, or of the slot by the same person, is
		// refused by the database.
		for _, tc := range []struct {
			name, pid string
			seat      int
		}{{"a taken seat", "intruder", 1}, {"the same person again", "hanako", 9}} {
			_, err := db.Write(ctx, `INSERT INTO town_bookings (town, id, slot_id, platform_id, seat, terminal, created_at)
				VALUES ('suzaka', 1000, $1, $2, $3, 'tv', 0)`, s.three, tc.pid, tc.seat)
			if !store.IsUniqueViolation(err) {
				t.Errorf("%s: the database took it (%v)", tc.name, err)
			}
		}
	})
}

// fakeSender stands in for the operators' machine API: it keeps one
// message per reference, as they do.
type fakeSender struct {
	mu    sync.Mutex
	byRef map[string]catv.TownMessage
	posts int
	err   error
}

func (f *fakeSender) Send(_ context.Context, m catv.TownMessage) ([]catv.TownSent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.posts++
	if f.err != nil {
		return nil, f.err
	}
	if m.PlatformID == "kenta" {
		return nil, &catv.Refusal{Reason: catv.ReasonNoRecipient}
	}
	if f.byRef == nil {
		f.byRef = map[string]catv.TownMessage{}
	}
	f.byRef[m.Ref] = m
	return []catv.TownSent{{Operator: "suko", ID: int64(len(f.byRef))}}, nil
}

// TestRemind: the day before the slot each live booking gets one
// reminder, also when the sweep runs again or the operator was down at
// first; not two days before, not for a cancelled booking; a person the
// operators do not know is marked with the refusal and not tried again.
func TestRemind(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newSetup(t, db)
		s.clk.set(time.Date(2026, 12, 7, 23, 0, 0, 0, town.JST))
		b, err := s.suzaka.Book(ctx, hanako, s.three)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.suzaka.Book(ctx, kenta, s.three); err != nil {
			t.Fatal(err)
		}
		gone, err := s.suzaka.Book(ctx, hanako, s.one)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.suzaka.Cancel(ctx, hanako, gone.ID); err != nil {
			t.Fatal(err)
		}
		f := &fakeSender{}
		if n, err := s.svc.Remind(ctx, f); err != nil || n != 0 || f.posts != 0 {
			t.Fatalf("two days before: %d sent, %d posts, %v", n, f.posts, err)
		}
		s.clk.set(time.Date(2026, 12, 8, 8, 0, 0, 0, town.JST))
		f.err = catv.ErrUnavailable
		if n, err := s.svc.Remind(ctx, f); err == nil || n != 0 {
			t.Fatalf("the operator down: %d sent, %v", n, err)
		}
		f.err = nil
		for i := range 2 {
			n, err := s.svc.Remind(ctx, f)
			if err != nil || n != 1-i {
				t.Fatalf("sweep %d: %d sent, %v", i+1, n, err)
			}
		}
		if len(f.byRef) != 1 {
			t.Fatalf("messages: %+v", f.byRef)
		}
		m := f.byRef[fmt.Sprintf("town:suzaka:booking:%d:reminder", b.ID)]
		if m.Town != "須坂市" || m.PlatformID != "hanako" || m.TitleJA != "明日のご予約：須坂市 体育館" {
			t.Errorf("the reminder: %+v", m)
		}
		posts := f.posts
		if _, err := s.svc.Remind(ctx, f); err != nil || f.posts != posts {
			t.Errorf("a sweep after all were marked posted %d more (%v)", f.posts-posts, err)
		}
		if got := actions(t, s.suzaka, "kenta"); len(got) != 2 || got[1] != fmt.Sprintf("remind %d unknown_recipient tv-suzaka-1", b.ID+1) {
			t.Errorf("kenta's audit: %q", got)
		}
	})
}
