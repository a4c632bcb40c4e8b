package tv

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/mynaplat/mynaplat/community/evac"
	"github.com/mynaplat/mynaplat/internal/webtest"
)

// fakeEvac stands in for the disaster office's API.
type fakeEvac struct {
	notice evac.NoticeAnswer
	err    error
	acked  []int64
	after  []int64
}

func (f *fakeEvac) Notice(context.Context, string) (evac.NoticeAnswer, error) { return f.notice, f.err }
func (f *fakeEvac) Ack(_ context.Context, _ string, id int64) error {
	f.acked = append(f.acked, id)
	return nil
}

// Stream sends one lift after the position it is given, then ends.
func (f *fakeEvac) Stream(_ context.Context, _ string, after int64, fn func(evac.Event) error) (int64, error) {
	f.after = append(f.after, after)
	if err := fn(evac.Event{Seq: after + 1, Kind: evac.EventLift, Order: 3, Area: "okukawachi"}); err != nil {
		return after, err
	}
	return after + 1, errors.New("the stream ended")
}

// TestPortalEvac: every screen names its stream of pushes; the stream
// sends an order in force at once and relays the office's events as the
// order page to show; the order page (names, shelter, 確認しました on the
// red key) and the acknowledgement posted to the office; no order is
// "lifted"; without a login the stream is 204.
func TestPortalEvac(t *testing.T) {
	f := &fakeEvac{notice: evac.NoticeAnswer{Seq: 6, Notice: evac.Notice{Order: evac.Order{ID: 3, Level: 4, Drill: true}, AreaJA: "奥河内", AreaEN: "Okukawachi",
		Members: []string{"日和佐　正"}, Shelter: evac.Shelter{ID: "school", NameJA: "日和佐小学校", NameEN: "Hiwasa school", Open: true}, Distance: 1100}}}
	w := startPortal(t, Config{Evac: f}, "tadashi", "日和佐　正")
	w.With(t).Step(webtest.Step{Name: "the stream without a login", Path: "/tv/tv-1/evac/events", WantStatus: http.StatusNoContent})
	c := w.With(t)
	c.Step(webtest.Step{Name: "log in", Path: "/test/login"})
	c.Step(webtest.Step{Name: "the menu names its stream", Path: "/tv/tv-1/menu",
		WantContains: []string{`src="/static/push.js" data-events="/tv/tv-1/evac/events"`}})
	st := c.Step(webtest.Step{Name: "the stream", Path: "/tv/tv-1/evac/events"})
	want := "id: 6\nevent: push\ndata: {\"overlay\":\"/tv/tv-1/evac/\"}\n\nid: 7\nevent: push\ndata: {\"overlay\":\"/tv/tv-1/evac/\"}\n\n"
	if !strings.Contains(st.Body, want) || len(f.after) != 1 || f.after[0] != 6 {
		t.Errorf("the stream sent %q after %v, want the order in force, then the lift", st.Body, f.after)
	}
	c.Step(webtest.Step{Name: "the order", Path: "/tv/tv-1/evac/", WantContains: []string{`class="push-content"`, "日和佐　正 さん、すぐに避難してください。",
		"日和佐小学校", "1.1 km", `id="evac-drill"`, `id="evac-ack" data-remote="red" data-remote-focus`, "/tv/tv-1/evac/3/ack"}})
	c.Step(webtest.Step{Name: "acknowledge", Path: "/tv/tv-1/evac/3/ack", Form: url.Values{}, WantStatus: http.StatusSeeOther, WantLocation: "/tv/tv-1/evac/"})
	if len(f.acked) != 1 || f.acked[0] != 3 {
		t.Errorf("acknowledged %v, want order 3", f.acked)
	}
	f.notice.Acknowledged = true
	c.Step(webtest.Step{Name: "acknowledged", Path: "/tv/tv-1/evac/", WantContains: []string{`id="evac-acked"`, `id="evac-close"`}, WantNotContains: []string{`id="evac-ack"`}})
	st = c.Step(webtest.Step{Name: "an acknowledged order is not pushed again", Path: "/tv/tv-1/evac/events"})
	if strings.Contains(st.Body, "id: 6\n") {
		t.Errorf("the stream pushed the acknowledged order again: %q", st.Body)
	}
	f.err, f.notice = &evac.Refusal{Reason: evac.ReasonNoOrder}, evac.NoticeAnswer{}
	c.Step(webtest.Step{Name: "no order", Path: "/tv/tv-1/evac/", WantContains: []string{`id="evac-lifted"`}})
	f.err = evac.ErrAssertion
	c.Step(webtest.Step{Name: "a login the office no longer believes", Path: "/tv/tv-1/evac/", WantStatus: http.StatusSeeOther, WantLocation: "/t/tv-1/?next=%2Ftv%2Ftv-1%2F"})
}
