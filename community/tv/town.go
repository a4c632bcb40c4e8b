package tv

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/community/town"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/web"
)

// The town's screens of the portal (docs/community-tv.md §5.3): the
// person's checkups by year with a chart, and the booking of the town's
// facilities, reached through the town's API (town.Client) with the
// person's card login, as the messages are through the operator's.
//
//	GET  /tv/{id}/checkups                         the years (number keys), the chart (yellow)
//	GET  /tv/{id}/checkups/chart                   a few items across the years, an SVG drawn here
//	GET  /tv/{id}/checkups/{year}                  that year's values, out-of-range marked in words and shape
//	GET  /tv/{id}/booking                          the facilities (number keys), own bookings (yellow)
//	GET  /tv/{id}/booking/{fac}                    the facility's next slots (number keys)
//	GET  /tv/{id}/booking/{fac}/{town}/{slot}      the slot, "book" focused
//	POST /tv/{id}/booking/{town}/{slot}/book       book it, then the own bookings
//	GET  /tv/{id}/bookings                         own bookings (number keys)
//	GET  /tv/{id}/bookings/{town}/{bid}            one booking, "cancel"
//	POST /tv/{id}/bookings/{town}/{bid}/cancel     cancel it, then the own bookings

// Town is the towns' API as the portal uses it (town.Client).
type Town interface {
	Checkups(ctx context.Context, assertion string) (town.Checkups, error)
	Facilities(ctx context.Context, assertion string) (town.Facilities, error)
	Bookings(ctx context.Context, assertion string) ([]town.Booking, error)
	Book(ctx context.Context, assertion, townID string, slot int64) (town.Booking, error)
	Cancel(ctx context.Context, assertion, townID string, id int64) (town.Booking, error)
}

func (p *Pages) townRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /tv/{id}/checkups", p.checkups)
	mux.HandleFunc("GET /tv/{id}/checkups/chart", p.checkupChart)
	mux.HandleFunc("GET /tv/{id}/checkups/{year}", p.checkupYear)
	mux.HandleFunc("GET /tv/{id}/booking", p.facilities)
	mux.HandleFunc("GET /tv/{id}/booking/{fac}", p.slots)
	mux.HandleFunc("GET /tv/{id}/booking/{fac}/{town}/{slot}", p.slot)
	mux.HandleFunc("POST /tv/{id}/booking/{town}/{slot}/book", p.book)
	mux.HandleFunc("GET /tv/{id}/bookings", p.bookings)
	mux.HandleFunc("GET /tv/{id}/bookings/{town}/{bid}", p.booking)
	mux.HandleFunc("POST /tv/{id}/bookings/{town}/{bid}/cancel", p.cancel)
}

// townView is what the town's screens show.
type townView struct {
	view
	Checkups town.Checkups
	Year     town.Year
	Chart    []chartPanel
	// Facilities is the town's, Facility the one chosen and Slot its slot.
	Facilities town.Facilities
	Facility   town.Facility
	Slot       town.Slot
	Bookings   []town.Booking
	Booking    town.Booking
	// Done says what was just done ("booked", "cancelled"), for the note
	// at the top of the own bookings.
	Done string
	// Back is where the screen's Back goes.
	Back string
}

// Path is the portal's path p (relative to the TV's power-on page).
func (v townView) Path(parts ...any) string {
	var s []string
	for _, p := range parts {
		s = append(s, url.PathEscape(fmt.Sprint(p)))
	}
	return v.Home + strings.Join(s, "/")
}

// ItemJA and ItemEN are an item's names.
func (townView) ItemJA(code string) string { return town.ItemOf(code).NameJA }

// ItemEN is the item's English name.
func (townView) ItemEN(code string) string { return town.ItemOf(code).NameEN }

// Value is a value as the result sheet prints it.
func (townView) Value(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

var weekdaysJA = []string{"日", "月", "火", "水", "木", "金", "土"}

// TimeJA is a slot's day and hours as the TV says them in Japanese
// (Japan's time).
func (townView) TimeJA(start, end time.Time) string {
	s, e := start.In(jst), end.In(jst)
	return fmt.Sprintf("%d月%d日（%s）%s〜%s", s.Month(), s.Day(), weekdaysJA[s.Weekday()], s.Format("15:04"), e.Format("15:04"))
}

// TimeEN is the slot's day and hours in English.
func (townView) TimeEN(start, end time.Time) string {
	return start.In(jst).Format("Mon 2 Jan 15:04") + "–" + end.In(jst).Format("15:04")
}

// townLogin is login for the town's screens; false when the answer is
// written (no login: the card screen; no town reachable: not found).
func (p *Pages) townLogin(w http.ResponseWriter, r *http.Request) (*terminal.Kit, *web.Session, townView, string, bool) {
	k, ss, v, assertion, ok := p.login(w, r)
	if !ok {
		return nil, nil, townView{}, "", false
	}
	if p.cfg.Town == nil {
		p.cfg.Site.NotFound().ServeHTTP(w, r)
		return nil, nil, townView{}, "", false
	}
	return k, ss, townView{view: v, Back: v.Menu}, assertion, true
}

// townFailed shows why the town's answer could not be shown: a refusal in
// its words (with Back to where the person came from), a login the town no
// longer believes goes back to the card, the rest as unavailable.
func (p *Pages) townFailed(w http.ResponseWriter, r *http.Request, k *terminal.Kit, ss *web.Session, v townView, err error) {
	if errors.Is(err, town.ErrAssertion) {
		p.expired(w, r, k, ss, err)
		return
	}
	status := http.StatusBadGateway
	if reason := town.ReasonOf(err); reason != "" {
		status = http.StatusOK
		v.ProblemJA, v.ProblemEN = reason.Messages()
	} else {
		p.cfg.Logger.Warn("tv: the town's answer", "terminal", k.Terminal().ID, "err", err)
		v.ProblemJA, v.ProblemEN = "市町村のサービスに接続できませんでした。しばらくしてからもう一度お試しください。", "The town's service could not be reached. Try again later."
	}
	p.pages.Render(w, r, status, "town-problem", v)
}

func (p *Pages) checkups(w http.ResponseWriter, r *http.Request) {
	k, ss, v, assertion, ok := p.townLogin(w, r)
	if !ok {
		return
	}
	c, err := p.cfg.Town.Checkups(r.Context(), assertion)
	if err != nil {
		p.townFailed(w, r, k, ss, v, err)
		return
	}
	v.Checkups = c
	p.pages.Render(w, r, http.StatusOK, "town-checkups", v)
}

func (p *Pages) checkupYear(w http.ResponseWriter, r *http.Request) {
	k, ss, v, assertion, ok := p.townLogin(w, r)
	if !ok {
		return
	}
	year, err := strconv.Atoi(r.PathValue("year"))
	if err != nil {
		p.cfg.Site.NotFound().ServeHTTP(w, r)
		return
	}
	c, err := p.cfg.Town.Checkups(r.Context(), assertion)
	if err != nil {
		p.townFailed(w, r, k, ss, v, err)
		return
	}
	i := slices.IndexFunc(c.Years, func(y town.Year) bool { return y.Year == year })
	if i < 0 {
		p.cfg.Site.NotFound().ServeHTTP(w, r)
		return
	}
	v.Checkups, v.Year, v.Back = c, c.Years[i], v.Home+"checkups"
	p.pages.Render(w, r, http.StatusOK, "town-year", v)
}

func (p *Pages) checkupChart(w http.ResponseWriter, r *http.Request) {
	k, ss, v, assertion, ok := p.townLogin(w, r)
	if !ok {
		return
	}
	c, err := p.cfg.Town.Checkups(r.Context(), assertion)
	if err != nil {
		p.townFailed(w, r, k, ss, v, err)
		return
	}
	v.Checkups, v.Chart, v.Back = c, chart(c, chartItems), v.Home+"checkups"
	p.pages.Render(w, r, http.StatusOK, "town-chart", v)
}

func (p *Pages) facilities(w http.ResponseWriter, r *http.Request) {
	k, ss, v, assertion, ok := p.townLogin(w, r)
	if !ok {
		return
	}
	f, err := p.cfg.Town.Facilities(r.Context(), assertion)
	if err != nil {
		p.townFailed(w, r, k, ss, v, err)
		return
	}
	v.Facilities = f
	p.pages.Render(w, r, http.StatusOK, "town-facilities", v)
}

// facility is the facility the path names with its slots, or false when
// the answer is written.
func (p *Pages) facility(w http.ResponseWriter, r *http.Request) (townView, string, bool) {
	k, ss, v, assertion, ok := p.townLogin(w, r)
	if !ok {
		return v, "", false
	}
	id, err := strconv.ParseInt(r.PathValue("fac"), 10, 64)
	if err != nil {
		p.cfg.Site.NotFound().ServeHTTP(w, r)
		return v, "", false
	}
	f, err := p.cfg.Town.Facilities(r.Context(), assertion)
	if err != nil {
		p.townFailed(w, r, k, ss, v, err)
		return v, "", false
	}
	i := slices.IndexFunc(f.Facilities, func(f town.Facility) bool { return f.ID == id })
	if i < 0 {
		p.cfg.Site.NotFound().ServeHTTP(w, r)
		return v, "", false
	}
	v.Facilities, v.Facility, v.Back = f, f.Facilities[i], v.Home+"booking"
	return v, assertion, true
}

func (p *Pages) slots(w http.ResponseWriter, r *http.Request) {
	v, _, ok := p.facility(w, r)
	if !ok {
		return
	}
	p.pages.Render(w, r, http.StatusOK, "town-slots", v)
}

func (p *Pages) slot(w http.ResponseWriter, r *http.Request) {
	v, _, ok := p.facility(w, r)
	if !ok {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("slot"), 10, 64)
	i := slices.IndexFunc(v.Facility.Slots, func(s town.Slot) bool { return s.ID == id })
	if err != nil || i < 0 || r.PathValue("town") != v.Facilities.Town {
		p.cfg.Site.NotFound().ServeHTTP(w, r)
		return
	}
	v.Slot, v.Back = v.Facility.Slots[i], v.Path("booking", v.Facility.ID)
	p.pages.Render(w, r, http.StatusOK, "town-slot", v)
}

func (p *Pages) book(w http.ResponseWriter, r *http.Request) {
	k, ss, v, assertion, ok := p.townLogin(w, r)
	if !ok {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("slot"), 10, 64)
	if err != nil {
		p.cfg.Site.NotFound().ServeHTTP(w, r)
		return
	}
	if _, err := p.cfg.Town.Book(r.Context(), assertion, r.PathValue("town"), id); err != nil {
		v.Back = v.Home + "booking"
		p.townFailed(w, r, k, ss, v, err)
		return
	}
	http.Redirect(w, r, v.Home+"bookings?done=booked", http.StatusSeeOther)
}

func (p *Pages) bookings(w http.ResponseWriter, r *http.Request) {
	k, ss, v, assertion, ok := p.townLogin(w, r)
	if !ok {
		return
	}
	bs, err := p.cfg.Town.Bookings(r.Context(), assertion)
	if err != nil {
		p.townFailed(w, r, k, ss, v, err)
		return
	}
	v.Bookings, v.Back = bs, v.Home+"booking"
	if d := r.URL.Query().Get("done"); d == "booked" || d == "cancelled" {
		v.Done = d
	}
	p.pages.Render(w, r, http.StatusOK, "town-bookings", v)
}

func (p *Pages) booking(w http.ResponseWriter, r *http.Request) {
	k, ss, v, assertion, ok := p.townLogin(w, r)
	if !ok {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("bid"), 10, 64)
	if err != nil {
		p.cfg.Site.NotFound().ServeHTTP(w, r)
		return
	}
	bs, err := p.cfg.Town.Bookings(r.Context(), assertion)
	if err != nil {
		p.townFailed(w, r, k, ss, v, err)
		return
	}
	i := slices.IndexFunc(bs, func(b town.Booking) bool { return b.ID == id && b.Town == r.PathValue("town") })
	if i < 0 {
		p.cfg.Site.NotFound().ServeHTTP(w, r)
		return
	}
	v.Booking, v.Back = bs[i], v.Home+"bookings"
	p.pages.Render(w, r, http.StatusOK, "town-booking", v)
}

func (p *Pages) cancel(w http.ResponseWriter, r *http.Request) {
	k, ss, v, assertion, ok := p.townLogin(w, r)
	if !ok {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("bid"), 10, 64)
	if err != nil {
		p.cfg.Site.NotFound().ServeHTTP(w, r)
		return
	}
	if _, err := p.cfg.Town.Cancel(r.Context(), assertion, r.PathValue("town"), id); err != nil {
		v.Back = v.Home + "bookings"
		p.townFailed(w, r, k, ss, v, err)
		return
	}
	http.Redirect(w, r, v.Home+"bookings?done=cancelled", http.StatusSeeOther)
}

// chartItems are the items the chart draws: those a checkup follows over
// the years (weight, blood pressure, blood sugar).
var chartItems = []string{"weight", "sbp", "hba1c"}

// chartPanel is one item's panel of the chart, in SVG user units: the
// panel is drawn at X (width chartW, height chartH).
type chartPanel struct {
	Item, Unit string
	X          float64
	// BandY and BandH are the reference range's band (BandH 0: none).
	BandY, BandH float64
	// Line is the polyline's points.
	Line   string
	Points []chartPoint
	// Ticks are the value axis's labels.
	Ticks []chartTick
}

type chartPoint struct {
	X, Y  float64
	Year  int
	Value string
	// Flag is the result's ("high", "low", ""): drawn as a triangle
	// pointing up or down instead of a circle, and said in words.
	Flag string
	// Shape is the triangle's points.
	Shape string
}

type chartTick struct {
	Y    float64
	Text string
}

// The chart's geometry, in SVG user units.
const (
	chartW, chartH          = 400.0, 300.0
	padL, padR, padT, padB  = 56.0, 20.0, 40.0, 40.0
	plotW, plotH            = chartW - padL - padR, chartH - padT - padB
	pointR, triangleHalfLen = 7.0, 9.0
)

// chart lays out the panels of items across the years, the oldest left.
func chart(c town.Checkups, items []string) []chartPanel {
	years := slices.Clone(c.Years)
	slices.SortFunc(years, func(a, b town.Year) int { return a.Year - b.Year })
	var out []chartPanel
	for i, item := range items {
		var rs []town.Result
		var ys []int
		for _, y := range years {
			if j := slices.IndexFunc(y.Results, func(r town.Result) bool { return r.Item == item }); j >= 0 {
				rs, ys = append(rs, y.Results[j]), append(ys, y.Year)
			}
		}
		if len(rs) == 0 {
			continue
		}
		p := chartPanel{Item: item, Unit: rs[0].Unit, X: float64(i) * chartW}
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, r := range rs {
			lo, hi = min(lo, r.Value), max(hi, r.Value)
		}
		last := rs[len(rs)-1]
		if last.HasRange() {
			if last.Low > 0 {
				lo = min(lo, last.Low)
			}
			hi = max(hi, last.High)
		}
		span := hi - lo
		if span == 0 {
			span = math.Max(1, math.Abs(hi)*0.1)
		}
		lo, hi = lo-span*0.15, hi+span*0.15
		y := func(v float64) float64 { return padT + plotH*(hi-v)/(hi-lo) }
		if last.HasRange() {
			top, bottom := y(min(last.High, hi)), y(max(last.Low, lo))
			p.BandY, p.BandH = top, bottom-top
		}
		for t := range 3 {
			v := lo + (hi-lo)*float64(t+1)/4
			p.Ticks = append(p.Ticks, chartTick{Y: y(v), Text: strconv.FormatFloat(v, 'f', decimals(hi-lo), 64)})
		}
		var line []string
		for j, r := range rs {
			x := padL + plotW/2
			if len(rs) > 1 {
				x = padL + plotW*float64(j)/float64(len(rs)-1)
			}
			pt := chartPoint{X: x, Y: y(r.Value), Year: ys[j], Value: strconv.FormatFloat(r.Value, 'f', -1, 64), Flag: r.Flag()}
			switch pt.Flag {
			case "high":
				pt.Shape = fmt.Sprintf("%.1f,%.1f %.1f,%.1f %.1f,%.1f", x, pt.Y-triangleHalfLen, x-triangleHalfLen, pt.Y+triangleHalfLen*0.8, x+triangleHalfLen, pt.Y+triangleHalfLen*0.8)
			case "low":
				pt.Shape = fmt.Sprintf("%.1f,%.1f %.1f,%.1f %.1f,%.1f", x, pt.Y+triangleHalfLen, x-triangleHalfLen, pt.Y-triangleHalfLen*0.8, x+triangleHalfLen, pt.Y-triangleHalfLen*0.8)
			}
			p.Points = append(p.Points, pt)
			line = append(line, fmt.Sprintf("%.1f,%.1f", x, pt.Y))
		}
		p.Line = strings.Join(line, " ")
		out = append(out, p)
	}
	// Panels without data leave no gap.
	for i := range out {
		out[i].X = float64(i) * chartW
	}
	return out
}

// decimals is how many decimals a tick needs over a span.
func decimals(span float64) int {
	switch {
	case span >= 20:
		return 0
	case span >= 2:
		return 1
	}
	return 2
}

// ChartWidth is the chart's width in SVG user units.
func (v townView) ChartWidth() float64 { return math.Max(1, float64(len(v.Chart))) * chartW }

// ChartGeometry are the plot's bounds, for the template.
func (townView) ChartGeometry() map[string]float64 {
	return map[string]float64{"W": chartW, "H": chartH, "L": padL, "T": padT, "R": chartW - padR, "B": chartH - padB, "PW": plotW, "PH": plotH, "r": pointR}
}
