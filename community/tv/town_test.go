package tv

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/community/town"
	"github.com/mynaplat/mynaplat/internal/webtest"
)

// fakeTown stands in for the town's API.
type fakeTown struct {
	checkups town.Checkups
	fac      town.Facilities
	bookings []town.Booking
	bookErr  error
	err      error
	booked   []int64
	canceled []int64
}

func (f *fakeTown) Checkups(context.Context, string) (town.Checkups, error)     { return f.checkups, f.err }
func (f *fakeTown) Facilities(context.Context, string) (town.Facilities, error) { return f.fac, f.err }
func (f *fakeTown) Bookings(context.Context, string) ([]town.Booking, error) {
	return f.bookings, f.err
}
func (f *fakeTown) Book(_ context.Context, _, _ string, slot int64) (town.Booking, error) {
	if f.bookErr != nil {
		return town.Booking{}, f.bookErr
	}
	f.booked = append(f.booked, slot)
	return town.Booking{ID: 1, SlotID: slot}, nil
}
func (f *fakeTown) Cancel(_ context.Context, _, _ string, id int64) (town.Booking, error) {
	f.canceled = append(f.canceled, id)
	return town.Booking{ID: id, Cancelled: true}, f.err
}

// TestPortalTown: the menu has the checkups and the booking; the years,
// one year with its out-of-range values in words and shape, the chart as
// an SVG without script; the facilities, their slots, a booking and a
// cancel posted to the town; a refusal in its words; a login the town no
// longer believes back to the card screen.
func TestPortalTown(t *testing.T) {
	start := time.Date(2026, 12, 9, 10, 0, 0, 0, jst)
	f := &fakeTown{
		checkups: town.Checkups{Town: "suzaka", TownJA: "須坂市", TownEN: "Suzaka", Years: []town.Year{
			{Year: 2025, Results: []town.Result{{Item: "weight", Value: 56.8, Unit: "kg"}, {Item: "sbp", Value: 128, Unit: "mmHg", Low: 90, High: 129},
				{Item: "hba1c", Value: 5.8, Unit: "%", Low: 4.6, High: 5.5}}},
			{Year: 2024, Results: []town.Result{{Item: "weight", Value: 58.4, Unit: "kg"}, {Item: "sbp", Value: 136, Unit: "mmHg", Low: 90, High: 129},
				{Item: "hba1c", Value: 5.9, Unit: "%", Low: 4.6, High: 5.5}}},
		}},
		fac: town.Facilities{Town: "suzaka", TownJA: "須坂市", TownEN: "Suzaka", Facilities: []town.Facility{{ID: 3, NameJA: "体育館", NameEN: "Gym",
			Slots: []town.Slot{{ID: 7, FacilityID: 3, Start: start, End: start.Add(2 * time.Hour), Capacity: 4, Booked: 3}}}}},
		bookings: []town.Booking{{ID: 5, SlotID: 7, Town: "suzaka", FacilityJA: "体育館", FacilityEN: "Gym", Start: start, End: start.Add(2 * time.Hour)}},
	}
	c := loggedIn(t, Config{Town: f}, "hanako", "須坂　花子")
	c.Step(webtest.Step{Name: "the menu", Path: "/tv/tv-1/menu",
		WantContains: []string{`id="checkups" data-remote-num="1"`, `id="booking" data-remote-num="2"`, `data-remote-num="3"`}})
	c.Step(webtest.Step{Name: "the years", Path: "/tv/tv-1/checkups", WantContains: []string{`id="year-2025"`, `id="year-2024"`, "/tv/tv-1/checkups/chart"}})
	c.Step(webtest.Step{Name: "a year", Path: "/tv/tv-1/checkups/2025",
		WantContains: []string{`id="item-hba1c" class="out"`, "▲ 基準より高い", `id="item-sbp" class=""`, "基準内"}})
	chart := c.Step(webtest.Step{Name: "the chart", Path: "/tv/tv-1/checkups/chart",
		WantContains: []string{"<svg", `id="panel-weight"`, `id="panel-sbp"`, `id="panel-hba1c"`, "<polygon", "▲5.9"}})
	if strings.Contains(chart.Body, "<script>") {
		t.Error("the chart page has an inline script")
	}
	c.Step(webtest.Step{Name: "the facilities", Path: "/tv/tv-1/booking", WantContains: []string{`id="facility-3"`, `id="my-bookings"`}})
	c.Step(webtest.Step{Name: "the slots", Path: "/tv/tv-1/booking/3", WantContains: []string{`id="slot-7"`, "12月9日（水）10:00〜12:00", "残り 1 席"}})
	c.Step(webtest.Step{Name: "a slot", Path: "/tv/tv-1/booking/3/suzaka/7", WantContains: []string{`id="book"`, "/tv/tv-1/booking/suzaka/7/book"}})
	c.Step(webtest.Step{Name: "book", Form: url.Values{}, Path: "/tv/tv-1/booking/suzaka/7/book", WantStatus: http.StatusSeeOther, WantLocation: "/tv/tv-1/bookings?done=booked"})
	c.Step(webtest.Step{Name: "own bookings", Path: "/tv/tv-1/bookings?done=booked", WantContains: []string{"予約しました", `id="booking-5"`}})
	c.Step(webtest.Step{Name: "a booking", Path: "/tv/tv-1/bookings/suzaka/5", WantContains: []string{`id="cancel"`}})
	c.Step(webtest.Step{Name: "cancel", Form: url.Values{}, Path: "/tv/tv-1/bookings/suzaka/5/cancel", WantStatus: http.StatusSeeOther, WantLocation: "/tv/tv-1/bookings?done=cancelled"})
	if len(f.booked) != 1 || f.booked[0] != 7 || len(f.canceled) != 1 || f.canceled[0] != 5 {
		t.Errorf("booked %v, cancelled %v", f.booked, f.canceled)
	}
	f.bookErr = &town.Refusal{Reason: town.ReasonSlotFull}
	c.Step(webtest.Step{Name: "full", Form: url.Values{}, Path: "/tv/tv-1/booking/suzaka/7/book", WantContains: []string{"この枠は満員になりました。"}})
	f.err = town.ErrAssertion
	c.Step(webtest.Step{Name: "a login the town no longer believes", Path: "/tv/tv-1/checkups", WantStatus: http.StatusSeeOther, WantLocation: "/t/tv-1/?next=%2Ftv%2Ftv-1%2F"})
}
